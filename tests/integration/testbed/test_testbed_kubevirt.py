# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The KubeVirt API of the testbed: CRDs plus the stand-in controller's behaviour."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import kubernetes
import pytest

KV = ('kubevirt.io', 'v1')
SNAP = ('snapshot.kubevirt.io', 'v1beta1')
FAIL = 'standin.ghost.infra/fail'
DELAY = 'standin.ghost.infra/delay-seconds'


class KubeVirt:
    """Tiny typed-less access to the KubeVirt resources of one namespace."""

    PLURALS = {'vm': KV + ('virtualmachines',), 'vmi': KV + ('virtualmachineinstances',),
               'snapshot': SNAP + ('virtualmachinesnapshots',), 'content': SNAP + ('virtualmachinesnapshotcontents',),
               'restore': SNAP + ('virtualmachinerestores',)}
    KINDS = {'vm': 'VirtualMachine', 'snapshot': 'VirtualMachineSnapshot', 'restore': 'VirtualMachineRestore'}

    def __init__(self, client, namespace):
        self.api = kubernetes.client.CustomObjectsApi(client)
        self.ns = namespace

    def create(self, kind, name, spec, annotations=None):
        g, v, p = self.PLURALS[kind]
        body = {'apiVersion': '%s/%s' % (g, v), 'kind': self.KINDS[kind],
                'metadata': {'name': name, 'annotations': annotations or {}}, 'spec': spec}
        return self.api.create_namespaced_custom_object(g, v, self.ns, p, body)

    def get(self, kind, name):
        g, v, p = self.PLURALS[kind]
        try:
            return self.api.get_namespaced_custom_object(g, v, self.ns, p, name)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, kind, name, body):
        g, v, p = self.PLURALS[kind]
        return self.api.patch_namespaced_custom_object(g, v, self.ns, p, name, body)

    def status(self, kind, name):
        return (self.get(kind, name) or {}).get('status') or {}

    def snapshot(self, name, vm, annotations=None):
        return self.create('snapshot', name, {'source': {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': vm}}, annotations)

    def restore(self, name, vm, snapshot, policy=None, annotations=None):
        spec = {'target': {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': vm}, 'virtualMachineSnapshotName': snapshot}
        if policy:
            spec['targetReadinessPolicy'] = policy
        return self.create('restore', name, spec, annotations)


def vm_spec(name, run_strategy='Halted', memory='64Mi'):
    return {
        'runStrategy': run_strategy,
        'template': {
            'metadata': {'labels': {'app': name}},
            'spec': {
                'domain': {'devices': {'disks': [{'name': 'root', 'disk': {'bus': 'virtio'}}],
                                       'interfaces': [{'name': 'default', 'masquerade': {}}]},
                           'resources': {'requests': {'memory': memory}}},
                'networks': [{'name': 'default', 'pod': {}}],
                'volumes': [{'name': 'root', 'containerDisk': {'image': 'registry.invalid/disk:1'}}],
            },
        },
    }


def conditions(status):
    return {c['type']: c for c in status.get('conditions') or []}


@pytest.fixture
def kv(k8s, namespace):
    return KubeVirt(k8s, namespace)


@pytest.fixture
def standin_config(k8s):
    """Set keys of the stand-in's global ConfigMap for one test; removed afterwards."""
    core = kubernetes.client.CoreV1Api(k8s)

    def configure(**data):
        body = kubernetes.client.V1ConfigMap(metadata=kubernetes.client.V1ObjectMeta(name='kubevirt-standin'),
                                             data={k: str(v) for k, v in data.items()})
        try:
            core.create_namespaced_config_map('kubevirt', body)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise
            core.replace_namespaced_config_map('kubevirt-standin', 'kubevirt', body)
    yield configure
    try:
        core.delete_namespaced_config_map('kubevirt-standin', 'kubevirt')
    except kubernetes.client.rest.ApiException as exc:
        if exc.status != 404:
            raise


def running_vm(kv, wait_until, name, **kwargs):
    kv.create('vm', name, vm_spec(name, 'Always', **kwargs))
    wait_until('VM %s Running' % name, lambda: kv.status('vm', name).get('printableStatus') == 'Running', 30)


def test_crds_served(kubectl):
    kv = kubectl('api-resources', '--api-group', 'kubevirt.io', '-o', 'name').stdout.split()
    assert sorted(kv) == ['virtualmachineinstances.kubevirt.io', 'virtualmachines.kubevirt.io']
    snap = kubectl('api-resources', '--api-group', 'snapshot.kubevirt.io', '-o', 'name').stdout.split()
    assert sorted(snap) == ['virtualmachinerestores.snapshot.kubevirt.io', 'virtualmachinesnapshotcontents.snapshot.kubevirt.io',
                            'virtualmachinesnapshots.snapshot.kubevirt.io']


def test_webhook_like_validation(kv):
    spec = dict(vm_spec('bad'), running=True)
    with pytest.raises(kubernetes.client.rest.ApiException) as err:
        kv.create('vm', 'bad', spec)
    assert err.value.status == 422 and 'mutually exclusive' in err.value.body


def test_vm_run_strategy_starts_and_stops(kv, wait_until):
    running_vm(kv, wait_until, 'vm1')
    status = kv.status('vm', 'vm1')
    assert status['ready'] is True and status['created'] is True
    vmi = kv.get('vmi', 'vm1')
    assert vmi['status']['phase'] == 'Running'
    assert vmi['metadata']['ownerReferences'][0]['kind'] == 'VirtualMachine'
    assert vmi['status']['interfaces'][0]['ipAddress']
    kv.patch('vm', 'vm1', {'spec': {'runStrategy': 'Halted'}})
    wait_until('VM Stopped', lambda: kv.status('vm', 'vm1').get('printableStatus') == 'Stopped', 30)
    assert kv.get('vmi', 'vm1') is None
    assert kv.status('vm', 'vm1')['ready'] is False and kv.status('vm', 'vm1')['created'] is False


def test_legacy_running_field(kv, wait_until):
    spec = vm_spec('legacy')
    del spec['runStrategy']
    spec['running'] = True
    kv.create('vm', 'legacy', spec)
    wait_until('VM Running', lambda: kv.status('vm', 'legacy').get('printableStatus') == 'Running', 30)
    kv.patch('vm', 'legacy', {'spec': {'running': False}})
    wait_until('VM Stopped', lambda: kv.status('vm', 'legacy').get('printableStatus') == 'Stopped', 30)


def test_snapshot_succeeds_with_content(kv, wait_until):
    running_vm(kv, wait_until, 'src')
    vm = kv.get('vm', 'src')
    kv.snapshot('snap', 'src', annotations={DELAY: '2'})
    wait_until('snapshot InProgress', lambda: kv.status('snapshot', 'snap').get('phase') == 'InProgress', 10)
    assert kv.status('vm', 'src').get('snapshotInProgress') == 'snap'
    wait_until('snapshot Succeeded', lambda: kv.status('snapshot', 'snap').get('phase') == 'Succeeded', 30)
    status = kv.status('snapshot', 'snap')
    assert status['readyToUse'] is True and status['creationTime']
    assert status['sourceUID'] == vm['metadata']['uid']
    assert sorted(status['indications']) == ['NoGuestAgent', 'Online']
    conds = conditions(status)
    assert conds['Ready']['status'] == 'True' and conds['Progressing']['status'] == 'False'
    content = kv.get('content', status['virtualMachineSnapshotContentName'])
    assert content['spec']['source']['virtualMachine']['spec'] == vm['spec']
    assert content['spec']['virtualMachineSnapshotName'] == 'snap'
    owner = content['metadata']['ownerReferences'][0]
    assert (owner['kind'], owner['name']) == ('VirtualMachineSnapshot', 'snap')
    assert content['status']['readyToUse'] is True
    wait_until('source unlocked', lambda: 'snapshotInProgress' not in kv.status('vm', 'src'), 10)


def test_snapshot_of_stopped_vm_has_no_online_indication(kv, wait_until):
    kv.create('vm', 'off', vm_spec('off'))
    kv.snapshot('snap-off', 'off')
    wait_until('snapshot Succeeded', lambda: kv.status('snapshot', 'snap-off').get('phase') == 'Succeeded', 30)
    assert not kv.status('snapshot', 'snap-off').get('indications')


def test_snapshot_failure_by_annotation(kv, wait_until):
    kv.create('vm', 'vmf', vm_spec('vmf'))
    kv.snapshot('snap-fail', 'vmf', annotations={FAIL: 'disk on fire'})
    wait_until('snapshot Failed', lambda: kv.status('snapshot', 'snap-fail').get('phase') == 'Failed', 30)
    status = kv.status('snapshot', 'snap-fail')
    assert status['readyToUse'] is False
    conds = conditions(status)
    assert conds['Failure']['status'] == 'True' and conds['Failure']['message'] == 'disk on fire'
    assert status['error']['message'] == 'disk on fire'
    assert kv.get('content', 'vmsnapshot-content-' + kv.get('snapshot', 'snap-fail')['metadata']['uid']) is None


def test_snapshot_failure_by_configmap(kv, wait_until, standin_config):
    standin_config(failSnapshots='global failure')
    kv.create('vm', 'vmg', vm_spec('vmg'))
    kv.snapshot('snap-g', 'vmg')
    wait_until('snapshot Failed', lambda: kv.status('snapshot', 'snap-g').get('phase') == 'Failed', 30)
    assert conditions(kv.status('snapshot', 'snap-g'))['Failure']['message'] == 'global failure'


def _snapshot_then_change(kv, wait_until, vm, snap):
    kv.snapshot(snap, vm)
    wait_until('snapshot Succeeded', lambda: kv.status('snapshot', snap).get('phase') == 'Succeeded', 30)
    original = kv.get('vm', vm)['spec']['template']
    kv.patch('vm', vm, {'spec': {'template': {'spec': {'domain': {'resources': {'requests': {'memory': '128Mi'}}}}}}})
    assert kv.get('vm', vm)['spec']['template'] != original
    return original


def test_restore_puts_spec_back(kv, wait_until):
    kv.create('vm', 'r1', vm_spec('r1'))
    original = _snapshot_then_change(kv, wait_until, 'r1', 'r1-snap')
    restore = kv.restore('r1-restore', 'r1', 'r1-snap')
    wait_until('restore complete', lambda: kv.status('restore', 'r1-restore').get('complete') is True, 30)
    vm = kv.get('vm', 'r1')
    assert vm['spec']['template'] == original
    assert vm['spec']['runStrategy'] == 'Halted'
    assert vm['metadata']['annotations']['restore.kubevirt.io/lastRestoreUID'] == 'r1-restore-' + restore['metadata']['uid']
    status = kv.status('restore', 'r1-restore')
    assert status['restoreTime'] and conditions(status)['Ready']['status'] == 'True'
    assert 'restoreInProgress' not in vm.get('status', {})


def test_restore_refused_while_running_fail_immediate(kv, wait_until):
    kv.create('vm', 'r2', vm_spec('r2'))
    _snapshot_then_change(kv, wait_until, 'r2', 'r2-snap')
    kv.patch('vm', 'r2', {'spec': {'runStrategy': 'Always'}})
    wait_until('VM Running', lambda: kv.status('vm', 'r2').get('printableStatus') == 'Running', 30)
    changed = kv.get('vm', 'r2')['spec']
    kv.restore('r2-restore', 'r2', 'r2-snap', policy='FailImmediate')
    wait_until('restore failed', lambda: conditions(kv.status('restore', 'r2-restore')).get('Failure', {}).get('status') == 'True', 30)
    assert conditions(kv.status('restore', 'r2-restore'))['Failure']['reason'] == 'Restore target not ready'
    assert kv.status('restore', 'r2-restore').get('complete') is not True
    assert kv.get('vm', 'r2')['spec'] == changed


def test_restore_stop_target(kv, wait_until):
    kv.create('vm', 'r3', vm_spec('r3', 'Always'))
    original = _snapshot_then_change(kv, wait_until, 'r3', 'r3-snap')
    wait_until('VM Running', lambda: kv.status('vm', 'r3').get('printableStatus') == 'Running', 30)
    kv.restore('r3-restore', 'r3', 'r3-snap', policy='StopTarget')
    wait_until('restore complete', lambda: kv.status('restore', 'r3-restore').get('complete') is True, 30)
    vm = kv.get('vm', 'r3')
    assert vm['spec']['runStrategy'] == 'Halted'  # stopped for the restore, and it stays so
    assert vm['spec']['template'] == original
    assert kv.get('vmi', 'r3') is None


def test_restore_wait_eventually(kv, wait_until):
    running_vm(kv, wait_until, 'r4')
    kv.snapshot('r4-snap', 'r4')
    wait_until('snapshot Succeeded', lambda: kv.status('snapshot', 'r4-snap').get('phase') == 'Succeeded', 30)
    kv.restore('r4-restore', 'r4', 'r4-snap', policy='WaitEventually')
    time.sleep(2)
    status = kv.status('restore', 'r4-restore')
    assert status.get('complete') is False and 'Failure' not in conditions(status)
    assert conditions(status)['Progressing']['reason'] == 'Waiting for target to be ready'
    kv.patch('vm', 'r4', {'spec': {'runStrategy': 'Halted'}})
    wait_until('restore complete', lambda: kv.status('restore', 'r4-restore').get('complete') is True, 30)


def test_restore_grace_period_then_fail(kv, wait_until, standin_config):
    standin_config(restoreGracePeriodSeconds='2')
    running_vm(kv, wait_until, 'r5')
    kv.snapshot('r5-snap', 'r5')
    wait_until('snapshot Succeeded', lambda: kv.status('snapshot', 'r5-snap').get('phase') == 'Succeeded', 30)
    kv.restore('r5-restore', 'r5', 'r5-snap')
    wait_until('restore failed', lambda: conditions(kv.status('restore', 'r5-restore')).get('Failure', {}).get('status') == 'True', 30)
    assert conditions(kv.status('restore', 'r5-restore'))['Failure']['reason'] == 'Restore target failed to be ready within 2s'


def test_restore_failure_injected(kv, wait_until):
    kv.create('vm', 'r6', vm_spec('r6'))
    _snapshot_then_change(kv, wait_until, 'r6', 'r6-snap')
    changed = kv.get('vm', 'r6')['spec']
    kv.restore('r6-restore', 'r6', 'r6-snap', annotations={FAIL: 'restore exploded'})
    wait_until('restore failed', lambda: conditions(kv.status('restore', 'r6-restore')).get('Failure', {}).get('status') == 'True', 30)
    assert conditions(kv.status('restore', 'r6-restore'))['Failure']['message'] == 'restore exploded'
    assert kv.get('vm', 'r6')['spec'] == changed


def test_two_restores_at_once(kv, wait_until):
    originals = {}
    for name in ('ca', 'cb'):
        kv.create('vm', name, vm_spec(name))
        originals[name] = _snapshot_then_change(kv, wait_until, name, name + '-snap')
    started = time.monotonic()
    for name in ('ca', 'cb'):
        kv.restore(name + '-restore', name, name + '-snap', annotations={DELAY: '3'})
    for name in ('ca', 'cb'):
        wait_until('restore %s complete' % name, lambda n=name: kv.status('restore', n + '-restore').get('complete') is True, 30)
        assert kv.get('vm', name)['spec']['template'] == originals[name]
    # Both waited their 3 s at the same time, not one after the other.
    assert time.monotonic() - started < 8
