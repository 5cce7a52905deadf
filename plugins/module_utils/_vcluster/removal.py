# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Taking a vcluster away: state=absent, and what a failed create leaves. Private to ghost.infra.

``absent`` deletes a vcluster with `vcluster delete`; a helm release that never got its
workload -- invisible to `vcluster delete`, which looks for the StatefulSet or Deployment --
with `helm uninstall`. Then the kubeconfig Secret (no helm object), the local kubeconfig and its
record in the folder registry go.

``after_failed_create`` runs when `vcluster create` failed: a workload helm made gets its
lifetime annotations (so the reaper deletes it once expired), a namespace made for nothing is
removed again, and the error says what is left.

Both take the runner's one-run object (``runner._Run``: api, cli, options, names, deadline).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._registry import vclusters as registry
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec, store

KIND = "vcluster"
LIFETIME_KEYS = (spec.CREATED_AT, spec.TTL, spec.EXPIRES_AT)


def absent(run, workload, before, *, check_mode, diff):
    """State absent: ``(result, no_log_values)``."""
    has_file = os.path.exists(run.dest)
    release = run.api.helm_release(run.namespace, run.name) if workload is None else None
    recorded = run.registry is not None and registry.forget(run.registry, name=run.name, namespace=run.namespace,
                                                            check_mode=True)
    if workload is None and release is None and not has_file and not recorded:
        return build_result(changed=False, diff_enabled=diff, before={}, after={}, vcluster={}), []
    view = spec.absent_view(before, run.name, run.namespace, run.dest if has_file else None)
    if check_mode:
        return build_result(changed=True, diff_enabled=diff, before=before, after={}, vcluster=view), []
    if workload is not None:
        _delete(run)
    elif release is not None:
        _uninstall(run)
    store.remove(run.dest)
    if recorded:
        registry.forget(run.registry, name=run.name, namespace=run.namespace)
    return build_result(changed=True, diff_enabled=diff, before=before, after={}, vcluster=view), []


def _what(verb, run):
    return failure(verb, KIND, run.ref, "").rstrip(": ")


def _delete(run):
    """`vcluster delete`; with ``wait``, until its workload and pods are gone; then its kubeconfig Secret."""
    try:
        run.cli.delete(run.name, run.namespace, wait=run.wait, what=_what("delete", run))
    except GhostError:
        # Someone else (another reaper) may have deleted it meanwhile: fine if it is gone.
        if run.api.workload(run.namespace, run.name) is not None:
            raise
    if run.wait:
        def gone():
            return run.api.workload(run.namespace, run.name) is None and not run.api.pods(run.namespace, run.name)
        done, unused, elapsed = run.api.waiter.wait(gone, run.deadline.remaining())
        if not done:
            raise run.error("delete", "timed out after %ds waiting for its workload and pods to go away (%s)" % (
                round(elapsed), spec.describe_pods(run.api.pods(run.namespace, run.name))))
    _delete_kubeconfig_secret(run)


def _uninstall(run):
    """`helm uninstall` of a release without workload, then what `vcluster delete` would also remove:
    the kubeconfig Secret and the namespace when the vcluster CLI (or the module) created it."""
    try:
        run.cli.uninstall(run.name, run.namespace, wait=run.wait, what=_what("delete", run))
    except GhostError:
        if run.api.helm_release(run.namespace, run.name) is not None:
            raise
    _delete_kubeconfig_secret(run)
    namespace = run.api.namespace(run.namespace)
    annotations = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get(spec.CREATED_BY_VCLUSTER) == "true" and not run.api.workloads(run.namespace):
        run.api.delete_namespace(run.namespace)


def _delete_kubeconfig_secret(run):
    # The published kubeconfig is no helm object: without an owner it would outlive the
    # vcluster and hand stale credentials to a new vcluster of the same name.
    if run.api.namespace(run.namespace) is not None:
        run.api.delete_kubeconfig_secret(run.namespace, run.name)


def after_failed_create(run, wanted, error, *, upgrade=False):
    """What to raise after `vcluster create` failed with ``error``, once what it left is dealt with.

    A workload helm made keeps (or gets) the lifetime annotations of ``wanted``; with nothing
    made, a namespace this run created is removed; a release without workload is named, since
    state=absent removes it. Cleanup errors are added to the message, never raised instead.
    """
    notes = []
    try:
        workload = run.api.workload(run.namespace, run.name)
        if workload is not None:
            lifetime = {key: wanted[key] for key in LIFETIME_KEYS if wanted.get(key)}
            patch = spec.annotation_patch(workload["metadata"].get("annotations"), lifetime)
            if patch:
                run.api.annotate(workload, patch)
            if lifetime.get(spec.EXPIRES_AT) and not upgrade:
                notes.append("what was made expires at %s, when playbooks/vcluster_reap.yml deletes it"
                             % lifetime[spec.EXPIRES_AT])
        elif run.api.helm_release(run.namespace, run.name) is not None:
            notes.append("its helm release is left without a StatefulSet or Deployment; state=absent removes it")
        elif run.created_namespace:
            run.api.delete_namespace(run.namespace)
            notes.append("namespace '%s', created for it, was removed again" % run.namespace)
    except GhostError as exc:
        notes.append("cleaning up after it failed too: %s" % exc)
    if not notes:
        return error
    return GhostError("%s (%s)" % (error, "; ".join(notes)))
