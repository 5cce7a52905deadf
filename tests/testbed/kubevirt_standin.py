# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for KubeVirt's virt-controller, for the testbed's CRD-only KubeVirt API.

Plays KubeVirt's part for what the collection uses, following KubeVirt's own controllers
(pkg/virt-controller/watch/vm, pkg/storage/snapshot/{snapshot,restore}.go):

- VirtualMachine ``spec.runStrategy`` (Always/RerunOnFailure/Once start, Halted stops, Manual
  leaves it) or legacy ``spec.running`` creates/deletes the VirtualMachineInstance and keeps
  ``status.printableStatus`` (Stopped/Starting/Running/Stopping), ``ready``, ``created`` and the
  Ready condition. A VMI becomes Running on the fake node shortly after creation. Like a real
  one, a VMI carries the finalizer ``foregroundDeleteVirtualMachine``: once deleted it lingers
  (the VM ``Stopping``) until its guest has shut down, here at once unless told otherwise, and at
  most ``spec.terminationGracePeriodSeconds`` (default 30, KubeVirt's) after the deletion.
- VirtualMachineSnapshot: InProgress (source locked through ``status.snapshotInProgress``) ->
  Succeeded with ``readyToUse``, Ready/Progressing conditions, ``indications`` (Online +
  NoGuestAgent for a running VM), ``creationTime``, ``sourceUID`` and a
  VirtualMachineSnapshotContent (owned by the snapshot) holding the VM's spec; Failed with a
  Failure condition and ``status.error`` when told to fail or past ``spec.failureDeadline``.
- VirtualMachineRestore: refused while the VM has a VMI (also one shutting down), per ``spec.targetReadinessPolicy``
  (FailImmediate, WaitEventually, StopTarget, default WaitGracePeriod); otherwise puts the
  snapshot's spec back (the VM keeps its current run strategy), marks it with
  ``restore.kubevirt.io/lastRestoreUID`` and completes with ``restoreTime``.

Test knobs: annotations ``standin.ghost.infra/fail: <message>`` and
``standin.ghost.infra/delay-seconds: N`` on a snapshot or restore; on a VirtualMachine,
``standin.ghost.infra/fail-restores: <message>`` and ``standin.ghost.infra/restore-delay-seconds: N``
(every restore of that VM fails, or takes N seconds: what a test of a caller that creates its own
restores can inject, the restore's own annotation winning),
``standin.ghost.infra/stop-delay-seconds: N`` (its guest takes N seconds to shut down, bounded
by the grace period) and ``standin.ghost.infra/restore-requires-halted: "true"`` (an older
KubeVirt: its restore admission webhook refuses a restore of this VM unless its run strategy is
Halted; a controller cannot refuse a create, so the restore fails at once with the webhook's
message instead); ConfigMap ``kubevirt-standin``
in namespace ``kubevirt`` with keys ``failSnapshots``, ``failRestores`` (messages),
``delaySeconds``, ``restoreGracePeriodSeconds`` (default 300, KubeVirt's) and
``vmStartSeconds`` (default 1).

Usage (from tests/): python -m testbed.kubevirt_standin --kubeconfig FILE [--ready-file FILE]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import copy
import hashlib
import re
import time

import kubernetes

from .standin_common import LOG, RELIST_SECONDS, Runtime, age, api_client, now_iso, parse_time, setup_logging

KV = ('kubevirt.io', 'v1')
SNAP = ('snapshot.kubevirt.io', 'v1beta1')
PLURALS = {
    'vm': KV + ('virtualmachines',),
    'vmi': KV + ('virtualmachineinstances',),
    'snapshot': SNAP + ('virtualmachinesnapshots',),
    'content': SNAP + ('virtualmachinesnapshotcontents',),
    'restore': SNAP + ('virtualmachinerestores',),
}
CONFIG_NAMESPACE = 'kubevirt'
CONFIG_NAME = 'kubevirt-standin'
FAIL_ANNOTATION = 'standin.ghost.infra/fail'
DELAY_ANNOTATION = 'standin.ghost.infra/delay-seconds'
LAST_RESTORE_ANNOTATION = 'restore.kubevirt.io/lastRestoreUID'
STOP_DELAY_ANNOTATION = 'standin.ghost.infra/stop-delay-seconds'
REQUIRES_HALTED_ANNOTATION = 'standin.ghost.infra/restore-requires-halted'
VM_FAIL_RESTORES_ANNOTATION = 'standin.ghost.infra/fail-restores'
VM_RESTORE_DELAY_ANNOTATION = 'standin.ghost.infra/restore-delay-seconds'
VMI_FINALIZER = 'foregroundDeleteVirtualMachine'   # KubeVirt's VirtualMachineInstanceFinalizer
DEFAULT_TERMINATION_GRACE = 30.0                   # KubeVirt's DefaultGracePeriodSeconds
NODE_NAME = 'kwok-node-0'
DEFAULT_DEADLINE = 300.0       # KubeVirt's DefaultFailureDeadline
DEFAULT_GRACE_PERIOD = 300.0   # KubeVirt's DefaultGracePeriod for WaitGracePeriod restores
POLL = 1.0


def condition(ctype, status, reason, message=''):
    return {'type': ctype, 'status': 'True' if status else 'False', 'reason': reason, 'message': message,
            'lastProbeTime': None, 'lastTransitionTime': now_iso()}


def set_conditions(old, *new):
    """Replace conditions by type, keeping lastTransitionTime when the status did not change."""
    by_type = {c.get('type'): c for c in (old or [])}
    for c in new:
        prev = by_type.get(c['type'])
        if prev and prev.get('status') == c['status']:
            c = dict(c, lastTransitionTime=prev.get('lastTransitionTime') or c['lastTransitionTime'])
        by_type[c['type']] = c
    return list(by_type.values())


def duration_seconds(text, default):
    """Go duration ('5m', '1h30m', '90s') as seconds."""
    if not text:
        return default
    parts = re.findall(r'([\d.]+)(h|ms|m|s)', str(text))
    if not parts:
        return default
    scale = {'h': 3600, 'm': 60, 's': 1, 'ms': 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def run_strategy(vm):
    spec = vm.get('spec') or {}
    if spec.get('runStrategy'):
        return spec['runStrategy']
    if spec.get('running') is not None:
        return 'Always' if spec['running'] else 'Halted'
    return 'Halted'


class Standin:
    def __init__(self, kubeconfig, ready_file=None):
        self.client = api_client(kubeconfig)
        self.custom = kubernetes.client.CustomObjectsApi(self.client)
        self.core = kubernetes.client.CoreV1Api(self.client)
        self.runtime = Runtime(self.reconcile, workers=8, ready_file=ready_file)

    # --- API helpers -------------------------------------------------------------------------

    def get(self, kind, ns, name):
        g, v, p = PLURALS[kind]
        try:
            return self.custom.get_namespaced_custom_object(g, v, ns, p, name)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch_status(self, kind, obj, status):
        g, v, p = PLURALS[kind]
        return self.custom.patch_namespaced_custom_object_status(g, v, obj['metadata']['namespace'], p, obj['metadata']['name'],
                                                                 {'status': status})

    def patch(self, kind, obj, body):
        g, v, p = PLURALS[kind]
        return self.custom.patch_namespaced_custom_object(g, v, obj['metadata']['namespace'], p, obj['metadata']['name'], body)

    def settings(self):
        try:
            cm = self.core.read_namespaced_config_map(CONFIG_NAME, CONFIG_NAMESPACE)
            return dict(cm.data or {})
        except kubernetes.client.rest.ApiException as exc:
            if exc.status == 404:
                return {}
            raise

    @staticmethod
    def _fail_message(obj, settings, key):
        """The failure to inject: the object's annotation, else the ConfigMap's ``key``."""
        return (obj['metadata'].get('annotations') or {}).get(FAIL_ANNOTATION) or settings.get(key) or None

    @staticmethod
    def _delay(obj, settings):
        value = (obj['metadata'].get('annotations') or {}).get(DELAY_ANNOTATION, settings.get('delaySeconds'))
        try:
            return float(value or 0)
        except ValueError:
            return 0.0

    @staticmethod
    def _restore_knob(restore, vm, own, on_vm, default):
        """A restore's own annotation ``own``, else its target VM's ``on_vm``, else ``default``."""
        for obj, key in ((restore, own), (vm, on_vm)):
            value = ((obj or {}).get('metadata', {}).get('annotations') or {}).get(key)
            if value:
                return value
        return default

    def _restore_delay(self, restore, vm, settings):
        value = self._restore_knob(restore, vm, DELAY_ANNOTATION, VM_RESTORE_DELAY_ANNOTATION, settings.get('delaySeconds'))
        try:
            return float(value or 0)
        except ValueError:
            return 0.0

    # --- wiring -------------------------------------------------------------------------------

    def start(self):
        for kind in ('vm', 'vmi', 'snapshot', 'restore'):
            self.runtime.watch(kind, self._lister(kind), self._watcher(kind), self._keys(kind))
        self.runtime.run()

    def _lister(self, kind):
        g, v, p = PLURALS[kind]

        def list_fn():
            result = self.custom.list_cluster_custom_object(g, v, p, _request_timeout=(5, 30))
            return result['items'], result['metadata']['resourceVersion']
        return list_fn

    def _watcher(self, kind):
        g, v, p = PLURALS[kind]

        def watch_fn(rv):
            return kubernetes.watch.Watch().stream(self.custom.list_cluster_custom_object, g, v, p, resource_version=rv,
                                                   timeout_seconds=RELIST_SECONDS, deserialize=False,
                                                   _request_timeout=(5, RELIST_SECONDS + 10))
        return watch_fn

    @staticmethod
    def _keys(kind):
        def keys_for(obj):
            meta = obj.get('metadata') or {}
            ns, name = meta.get('namespace'), meta.get('name')
            if not name:
                return []
            keys = [(kind, ns, name)]
            if kind == 'vmi':
                keys += [('vm', ns, ref['name']) for ref in meta.get('ownerReferences') or [] if ref.get('kind') == 'VirtualMachine']
            if kind == 'vm':
                keys.append(('vmi', ns, name))
            return keys
        return keys_for

    def reconcile(self, key):
        kind, ns, name = key
        reconciler = {'vm': self.reconcile_vm, 'vmi': self.reconcile_vmi, 'snapshot': self.reconcile_snapshot,
                      'restore': self.reconcile_restore}[kind]
        return reconciler(ns, name)

    # --- VirtualMachine / VirtualMachineInstance ---------------------------------------------

    def reconcile_vm(self, ns, name):
        vm = self.get('vm', ns, name)
        if vm is None or vm['metadata'].get('deletionTimestamp'):
            return None
        status = vm.get('status') or {}
        vmi = self.get('vmi', ns, name)
        strategy = run_strategy(vm)
        want = {'Always': True, 'RerunOnFailure': True, 'Once': True, 'Halted': False}.get(strategy)
        if status.get('restoreInProgress'):
            want = False if vmi is None else want  # KubeVirt does not start a VM being restored
        if want and vmi is None:
            vmi = self._create_vmi(vm)
        elif want is False and vmi is not None and not vmi['metadata'].get('deletionTimestamp'):
            g, v, p = PLURALS['vmi']
            try:
                self.custom.delete_namespaced_custom_object(g, v, ns, p, name)
            except kubernetes.client.rest.ApiException as exc:
                if exc.status != 404:
                    raise
            vmi = self.get('vmi', ns, name)
        phase = ((vmi or {}).get('status') or {}).get('phase')
        if vmi is None:
            printable = 'Stopped'
        elif vmi['metadata'].get('deletionTimestamp') or want is False:
            printable = 'Stopping'
        elif phase == 'Running':
            printable = 'Running'
        else:
            printable = 'Starting'
        ready = printable == 'Running'
        if vmi is None:
            ready_cond = condition('Ready', False, 'VMINotExists', 'VMI does not exist')
        else:
            ready_cond = condition('Ready', ready, '' if ready else 'NotReady', '')
        new = {
            'printableStatus': printable,
            'ready': ready,
            'created': vmi is not None,
            'runStrategy': strategy,
            'desiredGeneration': vm['metadata'].get('generation'),
            'observedGeneration': vm['metadata'].get('generation'),
            'conditions': set_conditions(status.get('conditions'), ready_cond),
        }
        if _differs(status, new):
            self.patch_status('vm', vm, new)
        # Transitional states settle by themselves; look again soon.
        return POLL / 2 if printable in ('Starting', 'Stopping') else None

    def _create_vmi(self, vm):
        meta, template = vm['metadata'], (vm['spec'].get('template') or {})
        tmeta = template.get('metadata') or {}
        labels = dict(tmeta.get('labels') or {}, **{'vm.kubevirt.io/name': meta['name']})
        annotations = dict(tmeta.get('annotations') or {}, **{'kubevirt.io/vm-generation': str(meta.get('generation', 1))})
        body = {
            'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachineInstance',
            'metadata': {'name': meta['name'], 'namespace': meta['namespace'], 'labels': labels, 'annotations': annotations,
                         'finalizers': [VMI_FINALIZER],
                         'ownerReferences': [{'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'name': meta['name'],
                                              'uid': meta['uid'], 'controller': True, 'blockOwnerDeletion': True}]},
            'spec': copy.deepcopy(template.get('spec') or {}),
        }
        g, v, p = PLURALS['vmi']
        try:
            vmi = self.custom.create_namespaced_custom_object(g, v, meta['namespace'], p, body)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise
            return self.get('vmi', meta['namespace'], meta['name'])
        return self.patch_status('vmi', vmi, {'phase': 'Scheduling', 'phaseTransitionTimestamps': [
            {'phase': 'Pending', 'phaseTransitionTimestamp': now_iso()}, {'phase': 'Scheduling', 'phaseTransitionTimestamp': now_iso()}]})

    def reconcile_vmi(self, ns, name):
        vmi = self.get('vmi', ns, name)
        if vmi is None:
            return None
        if vmi['metadata'].get('deletionTimestamp'):
            return self._shut_down(vmi)
        status = vmi.get('status') or {}
        if status.get('phase') == 'Running':
            return None
        remaining = float(self.settings().get('vmStartSeconds') or 1) - age(vmi)
        if remaining > 0:
            return remaining
        interfaces = []
        for i, iface in enumerate((((vmi.get('spec') or {}).get('domain') or {}).get('devices') or {}).get('interfaces') or []):
            digest = hashlib.sha256(('%s/%s/%d' % (ns, name, i)).encode()).digest()
            interfaces.append({'name': iface.get('name'), 'infoSource': 'domain',
                               'ipAddress': '10.244.%d.%d' % (digest[0], 2 + digest[1] % 250),
                               'mac': iface.get('macAddress') or '52:54:00:%02x:%02x:%02x' % tuple(digest[2:5])})
        self.patch_status('vmi', vmi, {
            'phase': 'Running', 'nodeName': NODE_NAME, 'interfaces': interfaces, 'guestOSInfo': {},
            'phaseTransitionTimestamps': (status.get('phaseTransitionTimestamps') or []) + [
                {'phase': 'Scheduled', 'phaseTransitionTimestamp': now_iso()}, {'phase': 'Running', 'phaseTransitionTimestamp': now_iso()}],
            'conditions': [condition('Ready', True, ''), condition('LiveMigratable', False, 'DisksNotLiveMigratable', 'stand-in')],
        })
        return None

    def _shut_down(self, vmi):
        """virt-handler's part in a VMI's deletion: the guest shuts down, then the finalizer goes."""
        meta = vmi['metadata']
        if VMI_FINALIZER not in (meta.get('finalizers') or []):
            return None
        vm = self.get('vm', meta['namespace'], meta['name'])
        try:
            delay = float(((vm or {}).get('metadata', {}).get('annotations') or {}).get(STOP_DELAY_ANNOTATION) or 0)
        except ValueError:
            delay = 0.0
        grace = (vmi.get('spec') or {}).get('terminationGracePeriodSeconds')
        delay = min(delay, float(DEFAULT_TERMINATION_GRACE if grace is None else grace))
        remaining = delay - (time.time() - parse_time(meta['deletionTimestamp']))
        if remaining > 0:
            return min(remaining, POLL * 5)
        finalizers = [f for f in meta['finalizers'] if f != VMI_FINALIZER]
        try:
            self.patch('vmi', vmi, {'metadata': {'finalizers': finalizers, 'resourceVersion': meta['resourceVersion']}})
        except kubernetes.client.rest.ApiException as exc:
            if exc.status == 409:
                return 0  # changed meanwhile: read it again
            if exc.status != 404:
                raise
        return None

    # --- VirtualMachineSnapshot --------------------------------------------------------------

    def reconcile_snapshot(self, ns, name):
        snap = self.get('snapshot', ns, name)
        if snap is None or snap['metadata'].get('deletionTimestamp'):
            return None
        status = snap.get('status') or {}
        if status.get('phase') in ('Succeeded', 'Failed'):
            return self._unlock_source(snap)
        source = (snap.get('spec') or {}).get('source') or {}
        new = {'phase': 'InProgress', 'readyToUse': False, 'creationTime': None}
        if source.get('kind') != 'VirtualMachine':
            return self._fail_snapshot(snap, 'unknown source %s' % source)
        settings = self.settings()
        deadline = duration_seconds((snap.get('spec') or {}).get('failureDeadline'), DEFAULT_DEADLINE)
        vm = self.get('vm', ns, source.get('name'))
        if vm is None:
            if deadline and age(snap) > deadline:
                return self._fail_snapshot(snap, 'snapshot deadline exceeded')
            new['conditions'] = set_conditions(status.get('conditions'), condition('Progressing', False, 'Source does not exist'),
                                               condition('Ready', False, 'Not ready'))
            if _differs(status, new):
                self.patch_status('snapshot', snap, new)
            return POLL
        new['sourceUID'] = vm['metadata']['uid']
        vmi = self.get('vmi', ns, vm['metadata']['name'])
        online = vmi is not None and ((vmi.get('status') or {}).get('phase') == 'Running')
        new['indications'] = ['NoGuestAgent', 'Online'] if online else None
        vm_status = vm.get('status') or {}
        locked = vm_status.get('snapshotInProgress') == name
        if not locked and not vm_status.get('restoreInProgress') and not vm_status.get('snapshotInProgress'):
            self.patch_status('vm', vm, {'snapshotInProgress': name})
            locked = True
        new['conditions'] = set_conditions(
            status.get('conditions'),
            condition('Progressing', locked, 'Source locked and operation in progress' if locked else 'Source not locked'),
            condition('Ready', False, 'Not ready'))
        if _differs(status, new):
            self.patch_status('snapshot', snap, new)
        if deadline and age(snap) > deadline:
            return self._fail_snapshot(snap, 'snapshot deadline exceeded')
        if not locked:
            return POLL
        remaining = self._delay(snap, settings) - age(snap)
        if remaining > 0:
            return min(remaining, POLL * 5)
        message = self._fail_message(snap, settings, 'failSnapshots')
        if message:
            return self._fail_snapshot(snap, message)
        content = self._ensure_content(snap, vm)
        volumes = [v.get('name') for v in (((vm.get('spec') or {}).get('template') or {}).get('spec') or {}).get('volumes') or []]
        done = {
            'phase': 'Succeeded', 'readyToUse': True, 'creationTime': content['status']['creationTime'],
            'sourceUID': vm['metadata']['uid'], 'virtualMachineSnapshotContentName': content['metadata']['name'],
            'indications': new['indications'],
            'snapshotVolumes': {'includedVolumes': [], 'excludedVolumes': volumes},
            'conditions': set_conditions(new['conditions'], condition('Progressing', False, 'Operation complete'),
                                         condition('Ready', True, 'Ready')),
        }
        if online:
            done['sourceIndications'] = [
                {'indication': 'NoGuestAgent', 'message': 'Guest agent was not available. Snapshot is crash-consistent and may not be '
                                                          'application-consistent.'},
                {'indication': 'Online', 'message': 'Snapshot taken while the VM was running. Consistency depends on guest-agent quiescing.'}]
        self.patch_status('snapshot', snap, done)
        return self._unlock_source(snap)

    def _ensure_content(self, snap, vm):
        meta = snap['metadata']
        name = 'vmsnapshot-content-%s' % meta['uid']
        content = self.get('content', meta['namespace'], name)
        if content is None:
            vmeta = vm['metadata']
            body = {
                'apiVersion': 'snapshot.kubevirt.io/v1beta1', 'kind': 'VirtualMachineSnapshotContent',
                'metadata': {'name': name, 'namespace': meta['namespace'],
                             'ownerReferences': [{'apiVersion': 'snapshot.kubevirt.io/v1beta1', 'kind': 'VirtualMachineSnapshot',
                                                  'name': meta['name'], 'uid': meta['uid'], 'controller': True,
                                                  'blockOwnerDeletion': True}]},
                'spec': {
                    'virtualMachineSnapshotName': meta['name'],
                    'source': {'virtualMachine': {
                        'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine',
                        'metadata': {k: vmeta[k] for k in ('name', 'namespace', 'uid', 'generation', 'labels', 'annotations') if k in vmeta},
                        'spec': copy.deepcopy(vm.get('spec') or {}), 'status': {}}},
                    'volumeBackups': [],
                },
            }
            g, v, p = PLURALS['content']
            try:
                content = self.custom.create_namespaced_custom_object(g, v, meta['namespace'], p, body)
            except kubernetes.client.rest.ApiException as exc:
                if exc.status != 409:
                    raise
                content = self.get('content', meta['namespace'], name)
        if not (content.get('status') or {}).get('readyToUse'):
            content = self.patch_status('content', content, {'readyToUse': True, 'creationTime': now_iso()})
        return content

    def _fail_snapshot(self, snap, message):
        status = snap.get('status') or {}
        self.patch_status('snapshot', snap, {
            'phase': 'Failed', 'readyToUse': False,
            'error': {'message': message, 'time': now_iso()},
            'conditions': set_conditions(status.get('conditions'), condition('Progressing', False, 'Operation failed'),
                                         condition('Ready', False, 'Not ready'), condition('Failure', True, message, message)),
        })
        return self._unlock_source(snap)

    def _unlock_source(self, snap):
        name = ((snap.get('spec') or {}).get('source') or {}).get('name')
        vm = self.get('vm', snap['metadata']['namespace'], name) if name else None
        if vm is not None and (vm.get('status') or {}).get('snapshotInProgress') == snap['metadata']['name']:
            self.patch_status('vm', vm, {'snapshotInProgress': None})

    # --- VirtualMachineRestore ---------------------------------------------------------------

    def reconcile_restore(self, ns, name):
        restore = self.get('restore', ns, name)
        if restore is None:
            return None
        spec, status = restore.get('spec') or {}, restore.get('status') or {}
        target = spec.get('target') or {}
        vm = self.get('vm', ns, target.get('name')) if target.get('kind') == 'VirtualMachine' else None
        if restore['metadata'].get('deletionTimestamp'):
            self._done_restore(vm, name)
            return None
        if status.get('complete') or any(c.get('type') == 'Failure' and c.get('status') == 'True' for c in status.get('conditions') or []):
            self._done_restore(vm, name)
            return None
        if not status and vm is not None and self._refused_by_older_kubevirt(restore, vm):
            return None
        if not status:
            self.patch_status('restore', restore, {'complete': False, 'conditions': [
                condition('Progressing', True, 'Initializing VirtualMachineRestore'), condition('Ready', False, 'Initializing VirtualMachineRestore')]})
            return 0
        if target.get('kind') != 'VirtualMachine':
            return self._restore_error(restore, 'unknown source %s' % target)
        if vm is not None and not restore['metadata'].get('ownerReferences'):
            self.patch('restore', restore, {'metadata': {'ownerReferences': [{
                'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'name': vm['metadata']['name'], 'uid': vm['metadata']['uid'],
                'controller': True, 'blockOwnerDeletion': True}]}})
        settings = self.settings()
        restored = vm is not None and (vm['metadata'].get('annotations') or {}).get(LAST_RESTORE_ANNOTATION) == self._restore_id(restore)
        if vm is not None and not restored and self.get('vmi', ns, vm['metadata']['name']) is not None:
            return self._target_not_ready(restore, vm, settings)
        snap = self.get('snapshot', ns, spec.get('virtualMachineSnapshotName'))
        key = '%s/%s' % (ns, spec.get('virtualMachineSnapshotName'))
        if snap is None:
            return self._restore_error(restore, 'VMSnapshot %s does not exist' % key)
        if (snap.get('status') or {}).get('phase') == 'Failed':
            return self._restore_error(restore, 'VMSnapshot %s failed and is invalid to use' % key)
        if not (snap.get('status') or {}).get('readyToUse'):
            return self._restore_error(restore, 'VMSnapshot %s not ready' % key)
        content = self.get('content', ns, snap['status'].get('virtualMachineSnapshotContentName') or '')
        if content is None:
            return self._restore_error(restore, 'VMSnapshotContent %s/%s does not exist' % (ns, snap['status'].get('virtualMachineSnapshotContentName')))
        if vm is not None and not restored and snap['status'].get('sourceUID') not in (None, vm['metadata']['uid']):
            return self._restore_error(restore, 'restore source and restore target are different but restore target already exists')
        remaining = self._restore_delay(restore, vm, settings) - age(restore)
        if remaining > 0:
            if vm is not None:
                self._lock_restore(vm, name)
            return min(remaining, POLL * 5)
        message = self._restore_knob(restore, vm, FAIL_ANNOTATION, VM_FAIL_RESTORES_ANNOTATION, settings.get('failRestores'))
        if message:
            self._done_restore(vm, name)
            self.patch_status('restore', restore, {'conditions': set_conditions(
                status.get('conditions'), condition('Progressing', False, 'Operation failed'),
                condition('Failure', True, message, message), condition('Ready', False, 'Operation failed'))})
            return None
        if vm is not None and not self._lock_restore(vm, name):
            return self._restore_error(restore, 'vm restore %s in progress' % (vm.get('status') or {}).get('restoreInProgress'))
        if not restored:
            snapshot_vm = content['spec']['source']['virtualMachine']
            self._apply_snapshot(restore, vm, snapshot_vm)
            vm = self.get('vm', ns, target['name'])
        self._done_restore(vm, name)
        self.patch_status('restore', restore, {
            'complete': True, 'restoreTime': now_iso(), 'restores': [],
            'conditions': set_conditions(status.get('conditions'), condition('Progressing', False, 'Operation complete'),
                                         condition('Ready', True, 'Operation complete'))})
        return None

    def _refused_by_older_kubevirt(self, restore, vm):
        """What older KubeVirt's VMRestoreAdmitter refuses: a target whose run strategy is not Halted."""
        if str((vm['metadata'].get('annotations') or {}).get(REQUIRES_HALTED_ANNOTATION)).lower() != 'true':
            return False
        if run_strategy(vm) == 'Halted':
            return False
        name = vm['metadata']['name']
        cause = ('VirtualMachine "%s" is not stopped' % name if (vm.get('spec') or {}).get('running')
                 else 'VirtualMachine "%s" run strategy has to be Halted' % name)
        message = 'admission webhook "virtualmachinerestore-validator.snapshot.kubevirt.io" denied the request: %s' % cause
        self.patch_status('restore', restore, {'complete': False, 'conditions': [
            condition('Progressing', False, 'Operation failed'), condition('Failure', True, message, message),
            condition('Ready', False, 'Operation failed')]})
        return True

    @staticmethod
    def _restore_id(restore):
        return '%s-%s' % (restore['metadata']['name'], restore['metadata']['uid'])

    def _apply_snapshot(self, restore, vm, snapshot_vm):
        """KubeVirt's generateRestoredVMSpec: the snapshot's spec, the target's run strategy."""
        g, v, p = PLURALS['vm']
        ns = restore['metadata']['namespace']
        new_spec = copy.deepcopy(snapshot_vm.get('spec') or {})
        new_spec.pop('running', None)
        new_spec.pop('runStrategy', None)
        if vm is None:
            smeta = snapshot_vm.get('metadata') or {}
            if (snapshot_vm.get('spec') or {}).get('running') is not None:
                new_spec['running'] = False
            else:
                new_spec['runStrategy'] = 'Halted'
            annotations = dict(smeta.get('annotations') or {}, **{LAST_RESTORE_ANNOTATION: self._restore_id(restore)})
            body = {'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'spec': new_spec,
                    'metadata': {'name': restore['spec']['target']['name'], 'namespace': ns, 'labels': smeta.get('labels') or {},
                                 'annotations': annotations}}
            self.custom.create_namespaced_custom_object(g, v, ns, p, body)
            return
        if (vm.get('spec') or {}).get('running') is not None:
            new_spec['running'] = False
        else:
            new_spec['runStrategy'] = run_strategy(vm)
        body = copy.deepcopy(vm)
        body.pop('status', None)
        body['spec'] = new_spec
        body['metadata'].setdefault('annotations', {})[LAST_RESTORE_ANNOTATION] = self._restore_id(restore)
        # A PUT with the resourceVersion we read: a concurrent change makes this fail and retry.
        self.custom.replace_namespaced_custom_object(g, v, ns, p, vm['metadata']['name'], body)

    def _lock_restore(self, vm, name):
        current = (vm.get('status') or {}).get('restoreInProgress')
        if current == name:
            return True
        if current:
            return False
        self.patch_status('vm', vm, {'restoreInProgress': name})
        return True

    def _done_restore(self, vm, name):
        if vm is not None and (vm.get('status') or {}).get('restoreInProgress') == name:
            self.patch_status('vm', vm, {'restoreInProgress': None})

    def _restore_error(self, restore, message):
        conditions = (restore.get('status') or {}).get('conditions')
        self.patch_status('restore', restore, {'conditions': set_conditions(
            conditions, condition('Progressing', False, message), condition('Ready', False, message))})
        return POLL * 2

    def _target_not_ready(self, restore, vm, settings):
        policy = restore['spec'].get('targetReadinessPolicy') or 'WaitGracePeriod'
        reason = 'Waiting for target to be ready'
        conds = [condition('Progressing', False, reason), condition('Ready', False, reason)]
        again = POLL
        if policy == 'StopTarget':
            # What `virtctl stop` (the VM's stop subresource) does to the spec.
            if (vm.get('spec') or {}).get('running') is not None:
                self.patch('vm', vm, {'spec': {'running': False}})
            elif run_strategy(vm) != 'Halted':
                self.patch('vm', vm, {'spec': {'runStrategy': 'Halted'}})
        elif policy == 'FailImmediate':
            conds = [condition('Progressing', False, 'Operation failed'), condition('Failure', True, 'Restore target not ready'),
                     condition('Ready', False, 'Operation failed')]
            again = None
        elif policy == 'WaitGracePeriod':
            grace = float(settings.get('restoreGracePeriodSeconds') or DEFAULT_GRACE_PERIOD)
            if age(restore) > grace:
                message = 'Restore target failed to be ready within %s' % _go_duration(grace)
                conds = [condition('Progressing', False, 'Operation failed'), condition('Failure', True, message),
                         condition('Ready', False, 'Operation failed')]
                again = None
        self.patch_status('restore', restore, {'conditions': set_conditions((restore.get('status') or {}).get('conditions'), *conds)})
        return again


def _differs(status, new):
    """True when ``new`` would change ``status`` (conditions compared without their timestamps)."""
    def brief(conds):
        return sorted((c.get('type'), c.get('status'), c.get('reason'), c.get('message')) for c in conds or [])
    for k, v in new.items():
        if k == 'conditions':
            if brief(status.get(k)) != brief(v):
                return True
        elif status.get(k) != v:
            return True
    return False


def _go_duration(seconds):
    seconds = int(seconds)
    m, s = divmod(seconds, 60)
    return '%dm%ds' % (m, s) if m else '%ds' % s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kubeconfig', required=True)
    parser.add_argument('--ready-file')
    args = parser.parse_args()
    setup_logging('kubevirt-standin')
    LOG.info('starting')
    Standin(args.kubeconfig, args.ready_file).start()


if __name__ == '__main__':
    main()
