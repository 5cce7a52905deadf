# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What kubevirt_vm_snapshot and kubevirt_vm_restore do. Private to ghost.infra.

Like kubernetes.core's ``perform_action(svc, definition, params)``, the functions here take an
API object (``client.KubeVirtClient``, a Mock in unit tests) and the module parameters, never
the module: read the current state once, decide, act unless ``check_mode``, wait, and return
the result dict. Every failure is a GhostError in the shape
``Failed to <verb> <Kind> '<namespace>/<name>': <cause>``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt import logic
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.logic import (
    FAILED, HALTED, PENDING, READY, RESTORE, SNAPSHOT, VM, VMI,
)
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.names import default_restore_name, validate_name


def _ref(namespace, name):
    return "%s/%s" % (namespace, name)


class _Deadline:
    """One wait_timeout shared by every wait of a run (stop, delete, restore, start)."""

    def __init__(self, timeout, clock):
        self._clock = clock
        self._end = clock() + timeout

    def remaining(self):
        return max(0.0, self._end - self._clock())


def _timeout_cause(elapsed, what, state):
    return "timed out after %ds waiting for %s (%s)" % (round(elapsed), what, state)


# ---------------------------------------------------------------- snapshot

def _wait_snapshot(api, namespace, name, timeout, fail):
    """Wait until the snapshot is ready; ``fail(cause)`` makes the error message of the caller."""
    ref = _ref(namespace, name)
    done, obj, elapsed = api.wait(SNAPSHOT, namespace, name,
                                  lambda o: o is None or logic.snapshot_state(o) != PENDING, timeout)
    if obj is None:
        raise GhostError(fail("VirtualMachineSnapshot '%s' was deleted while waiting for it to become ready" % ref))
    details = {"snapshot": logic.snapshot_summary(obj)}
    if not done:
        raise GhostError(fail(_timeout_cause(
            elapsed, "VirtualMachineSnapshot '%s' to become readyToUse" % ref, logic.describe_snapshot(obj))),
            details=details)
    if logic.snapshot_state(obj) == FAILED:
        raise GhostError(fail("the snapshot failed (%s)" % logic.describe_snapshot(obj)), details=details)
    return obj


def ensure_snapshot(api, params, check_mode=False, diff=False):
    """State present/absent of one VirtualMachineSnapshot; returns the module result."""
    namespace = validate_name(params["namespace"], "namespace")
    name = validate_name(params["name"], "name")
    ref = _ref(namespace, name)
    wait = params.get("wait", True)
    timeout = params.get("wait_timeout", 300)
    existing = api.get(SNAPSHOT, namespace, name)

    if params.get("state", "present") == "absent":
        if not existing:
            return build_result(False, diff_enabled=diff, before={}, after={}, snapshot={})
        if not check_mode:
            api.delete(SNAPSHOT, namespace, name)
            if wait:
                done, obj, elapsed = api.wait(SNAPSHOT, namespace, name, lambda o: o is None, timeout)
                if not done:
                    finalizers = ", ".join((obj.get("metadata") or {}).get("finalizers") or []) or "none"
                    raise GhostError(failure("delete", SNAPSHOT, ref, _timeout_cause(
                        elapsed, "VirtualMachineSnapshot '%s' to be gone" % ref, "finalizers: %s" % finalizers)))
        return build_result(True, diff_enabled=diff, before=logic.object_view(existing), after={},
                            snapshot=logic.snapshot_summary(existing))

    vm_name = validate_name(params.get("vm_name"), "vm_name")
    deadline = params.get("failure_deadline")
    seconds = logic.parse_duration(deadline) if deadline not in (None, "") else None
    labels, annotations = params.get("labels"), params.get("annotations")
    warnings = []

    def create_failed(cause):
        return failure("create", SNAPSHOT, ref, cause)

    if existing:
        source = logic.snapshot_source(existing)
        if source != vm_name:
            raise GhostError(failure("create", SNAPSHOT, ref, "a snapshot of VirtualMachine '%s' already has that name" % (
                _ref(namespace, source) if source else "(not a VirtualMachine)")))
        have = (existing.get("spec") or {}).get("failureDeadline")
        if seconds is not None and (have is None or logic.parse_duration(have) != seconds):
            warnings.append("VirtualMachineSnapshot '%s' exists with failureDeadline %s; the spec of a snapshot "
                            "cannot change, so failure_deadline is ignored" % (ref, have or "unset"))
        obj = existing
        patch = logic.metadata_patch(existing, labels, annotations)
        if patch and not check_mode:
            obj = api.patch(SNAPSHOT, namespace, name, patch)
        state = logic.snapshot_state(obj)
        if state == FAILED:
            raise GhostError(failure("create", SNAPSHOT, ref, "the existing snapshot failed (%s); remove it with "
                                     "state=absent to take it again" % logic.describe_snapshot(obj)),
                             details={"snapshot": logic.snapshot_summary(obj)})
        if state == PENDING and wait and not check_mode:
            obj = _wait_snapshot(api, namespace, name, timeout, create_failed)
        after = logic.object_view(existing)
        if patch:
            for key, values in patch["metadata"].items():
                after["metadata"].setdefault(key, {}).update(values)
        result = build_result(bool(patch), diff_enabled=diff, before=logic.object_view(existing), after=after,
                              snapshot=logic.snapshot_summary(obj))
    else:
        if api.get(VM, namespace, vm_name) is None:
            raise GhostError(failure("create", SNAPSHOT, ref, "VirtualMachine '%s' not found" % _ref(namespace, vm_name)))
        desired = logic.snapshot_definition(name, namespace, vm_name, labels, annotations, seconds)
        obj = desired
        if not check_mode:
            obj = api.create(desired)
            if wait:
                obj = _wait_snapshot(api, namespace, name, timeout, create_failed)
        result = build_result(True, diff_enabled=diff, before={}, after=logic.object_view(desired),
                              snapshot=logic.snapshot_summary(obj))
    if warnings:
        result["warnings"] = warnings
    return result


# ---------------------------------------------------------------- restore

def _wait_restore(api, namespace, name, timeout):
    ref = _ref(namespace, name)
    done, obj, elapsed = api.wait(RESTORE, namespace, name,
                                  lambda o: o is None or logic.restore_state(o) != PENDING, timeout)
    if obj is None:
        raise GhostError(failure("restore", RESTORE, ref, "it was deleted while waiting for it to complete"))
    details = {"restore": logic.restore_summary(obj, None)}
    if not done:
        raise GhostError(failure("restore", RESTORE, ref, _timeout_cause(
            elapsed, "VirtualMachineRestore '%s' to complete" % ref, logic.describe_restore(obj))), details=details)
    if logic.restore_state(obj) == FAILED:
        raise GhostError(failure("restore", RESTORE, ref, "the restore failed (%s)" % logic.describe_restore(obj)),
                         details=details)
    return obj


def _wait_gone(api, kind, namespace, name, timeout, why, ref):
    done, unused, elapsed = api.wait(kind, namespace, name, lambda o: o is None, timeout)
    if not done:
        raise GhostError(failure("restore", RESTORE, ref, _timeout_cause(
            elapsed, "%s '%s' to be gone %s" % (kind, _ref(namespace, name), why), "it still exists")))


def _ready_snapshot(api, namespace, snapshot_name, vm_name, wait, check_mode, deadline, ref):
    snap_ref = _ref(namespace, snapshot_name)
    snapshot = api.get(SNAPSHOT, namespace, snapshot_name)
    if snapshot is None:
        raise GhostError(failure("restore", RESTORE, ref, "VirtualMachineSnapshot '%s' not found" % snap_ref))
    source = logic.snapshot_source(snapshot)
    if source != vm_name:
        raise GhostError(failure("restore", RESTORE, ref, "VirtualMachineSnapshot '%s' is a snapshot of %s, not of "
                                 "VirtualMachine '%s'" % (snap_ref, "VirtualMachine '%s'" % _ref(namespace, source)
                                                          if source else "something else", _ref(namespace, vm_name))))
    state = logic.snapshot_state(snapshot)
    if state == FAILED:
        raise GhostError(failure("restore", RESTORE, ref, "VirtualMachineSnapshot '%s' failed (%s)" % (
            snap_ref, logic.describe_snapshot(snapshot))))
    if state == PENDING and not check_mode:
        if not wait:
            raise GhostError(failure("restore", RESTORE, ref, "VirtualMachineSnapshot '%s' is not ready to use (%s)" % (
                snap_ref, logic.describe_snapshot(snapshot))))
        _wait_snapshot(api, namespace, snapshot_name, deadline.remaining(),
                       lambda cause: failure("restore", RESTORE, ref, cause.replace(
                           "the snapshot failed", "VirtualMachineSnapshot '%s' failed" % snap_ref)))
    return snapshot


def _settle_vm(api, namespace, vm_name, desired, check_mode, wait, wait_ready, deadline, ref):
    """Give the VM its run strategy after a restore; with ``wait``, wait until it is ready when it should run.

    A VM whose run strategy was already right is only waited for when ``wait_ready`` says this
    run did something to it (a restore it waited for).
    """
    vm = api.get(VM, namespace, vm_name)
    if vm is None:
        raise GhostError(failure("restore", RESTORE, ref, "VirtualMachine '%s' disappeared" % _ref(namespace, vm_name)))
    changed = logic.run_strategy(vm) != desired
    if changed and not check_mode:
        vm = api.patch(VM, namespace, vm_name, logic.run_strategy_patch(vm, desired))
    if (changed or wait_ready) and wait and not check_mode and logic.wants_running(desired) and not logic.vm_ready(vm):
        done, vm_now, elapsed = api.wait(VM, namespace, vm_name, lambda o: o is None or logic.vm_ready(o),
                                         deadline.remaining())
        if not done:
            status = (vm_now or {}).get("status") or {}
            raise GhostError(failure("restore", RESTORE, ref, _timeout_cause(
                elapsed, "VirtualMachine '%s' to be ready after the restore (runStrategy %s)" % (
                    _ref(namespace, vm_name), desired),
                "printableStatus %s" % status.get("printableStatus", "not set"))))
        vm = vm_now or vm
    return changed, (desired if check_mode else logic.run_strategy(vm))


def _restore_diff(restore_before, restore_after, strategy_before, strategy_after):
    before = {"restore": restore_before, "vm_run_strategy": strategy_before} if restore_before or strategy_before else {}
    return before, {"restore": restore_after, "vm_run_strategy": strategy_after}


def ensure_restore(api, params, check_mode=False, diff=False, clock=time.monotonic):
    """Restore a VM from a snapshot once (or again with force); returns the module result."""
    namespace = validate_name(params["namespace"], "namespace")
    vm_name = validate_name(params["vm_name"], "vm_name")
    snapshot_name = validate_name(params["snapshot_name"], "snapshot_name")
    name = validate_name(params.get("name") or default_restore_name(vm_name, snapshot_name), "name")
    ref = _ref(namespace, name)
    force = params.get("force", False)
    wait = params.get("wait", True)
    policy = params.get("target_readiness_policy")
    run_after = params.get("run_after_restore") or "previous"
    deadline = _Deadline(params.get("wait_timeout", 600), clock)

    vm = api.get(VM, namespace, vm_name)
    if vm is None:
        raise GhostError(failure("restore", RESTORE, ref, "VirtualMachine '%s' not found" % _ref(namespace, vm_name)))
    existing = api.get(RESTORE, namespace, name)

    if existing and not force:
        target = logic.restore_target(existing)
        if target != (vm_name, snapshot_name):
            raise GhostError(failure("restore", RESTORE, ref, "it already exists for snapshot '%s' of VirtualMachine '%s'; "
                                     "choose another name or set force=true to replace it" % (target[1], target[0])))
        state = logic.restore_state(existing)
        if state == FAILED:
            raise GhostError(failure("restore", RESTORE, ref, "the existing restore failed (%s); set force=true to "
                                     "delete it and restore again" % logic.describe_restore(existing)),
                             details={"restore": logic.restore_summary(existing, logic.run_strategy(vm))})
        obj = existing
        if state == PENDING:
            if not wait or check_mode:
                return build_result(False, restore=logic.restore_summary(existing, logic.run_strategy(vm)))
            obj = _wait_restore(api, namespace, name, deadline.remaining())
        previous = logic.recorded_run_strategy(existing) or logic.run_strategy(vm)
        desired = logic.desired_run_strategy(run_after, previous)
        changed, strategy = _settle_vm(api, namespace, vm_name, desired, check_mode, wait, state == PENDING,
                                       deadline, ref)
        view = logic.object_view(existing)
        before, after = _restore_diff(view, view, logic.run_strategy(vm), strategy)
        return build_result(changed, diff_enabled=diff and changed, before=before, after=after,
                            restore=logic.restore_summary(obj, strategy))

    _ready_snapshot(api, namespace, snapshot_name, vm_name, wait, check_mode, deadline, ref)
    previous = logic.run_strategy(vm)
    if existing and logic.restore_state(existing) != READY:
        # An unfinished attempt stopped the VM; what it recorded is what the VM ran with before.
        previous = logic.recorded_run_strategy(existing) or previous
    desired_strategy = logic.desired_run_strategy(run_after, previous)
    running = api.get(VMI, namespace, vm_name) is not None
    stop = running and params.get("stop_vm", True)
    if running and not stop and policy not in logic.POLICIES_FOR_RUNNING_VM:
        raise GhostError(failure("restore", RESTORE, ref, "VirtualMachine '%s' is running; set stop_vm=true, or "
                                 "target_readiness_policy to one of %s to let KubeVirt deal with it" % (
                                     _ref(namespace, vm_name), ", ".join(logic.POLICIES_FOR_RUNNING_VM))))
    desired = logic.restore_definition(name, namespace, vm_name, snapshot_name, previous, policy,
                                       params.get("volume_restore_policy"))
    before, after = _restore_diff(logic.object_view(existing), logic.object_view(desired), previous, desired_strategy)
    if check_mode:
        return build_result(True, diff_enabled=diff, before=before, after=after,
                            restore=logic.restore_summary(desired, desired_strategy))

    if existing:
        api.delete(RESTORE, namespace, name)
        _wait_gone(api, RESTORE, namespace, name, deadline.remaining(), "before restoring again", ref)
    if stop:
        api.patch(VM, namespace, vm_name, logic.run_strategy_patch(vm, HALTED))
        _wait_gone(api, VMI, namespace, vm_name, deadline.remaining(), "after setting runStrategy Halted", ref)
    obj = api.create(desired)
    if not wait:
        return build_result(True, diff_enabled=diff, before=before, after=after,
                            restore=logic.restore_summary(obj, HALTED if stop else previous))
    obj = _wait_restore(api, namespace, name, deadline.remaining())
    unused, strategy = _settle_vm(api, namespace, vm_name, desired_strategy, False, True, True, deadline, ref)
    return build_result(True, diff_enabled=diff, before=before, after=after,
                        restore=logic.restore_summary(obj, strategy))
