# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What kubevirt_vm_snapshot and kubevirt_vm_restore do. Private to ghost.infra.

Like kubernetes.core's ``perform_action(svc, definition, params)``, the functions here take an
API object (``client.KubeVirtClient``, a Mock in unit tests) and the module parameters, never
the module: read the current state once, decide, act unless ``check_mode``, wait, and return
the result dict. Every wait goes through the client's waiter; a restore shares one deadline
between all of its waits. Every failure is a GhostError in the shape
``Failed to <verb> <Kind> '<namespace>/<name>': <cause>``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import ref
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt import spec
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import (
    FAILED, HALTED, PENDING, READY, RESTORE, SNAPSHOT, VM, VMI, default_restore_name, validate_name,
)


def _missing(api, kind, namespace, name, option):
    """Why ``kind`` ``namespace/name`` is not there, naming the option at fault."""
    if not api.namespace_exists(namespace):
        return "namespace: the namespace '%s' does not exist" % namespace
    return "%s: %s '%s' not found" % (option, kind, ref(namespace, name))


def _timeout_cause(elapsed, what, state):
    return "timed out after %ds waiting for %s (%s)" % (round(elapsed), what, state)


def _wait_snapshot(api, namespace, name, *, timeout, fail):
    """Wait until the snapshot is ready; ``fail(cause)`` makes the error message of the caller."""
    snap_ref = ref(namespace, name)
    done, obj, elapsed = api.wait(SNAPSHOT, namespace, name, timeout=timeout,
                                  until=lambda o: o is None or spec.snapshot_state(o) != PENDING)
    if obj is None:
        raise GhostError(fail("VirtualMachineSnapshot '%s' was deleted while waiting for it to become ready" % snap_ref))
    details = {"snapshot": spec.snapshot_summary(obj)}
    if not done:
        raise GhostError(fail(_timeout_cause(
            elapsed, "VirtualMachineSnapshot '%s' to become readyToUse" % snap_ref, spec.describe_snapshot(obj))),
            details=details)
    if spec.snapshot_state(obj) == FAILED:
        raise GhostError(fail("the snapshot failed (%s)" % spec.describe_snapshot(obj)), details=details)
    return obj


# ---------------------------------------------------------------- snapshot

def ensure_snapshot(api, params, *, check_mode=False, diff=False):
    """State present/absent of one VirtualMachineSnapshot; returns the module result."""
    run = _SnapshotRun(api, params, check_mode=check_mode, diff=diff)
    existing = api.get(SNAPSHOT, run.namespace, run.name)
    if params.get("state", "present") == "absent":
        return run.absent(existing)
    deadline = params.get("failure_deadline")
    wanted = {
        "vm_name": validate_name(params.get("vm_name"), "vm_name"),
        "failure_deadline": spec.parse_duration(deadline) if deadline not in (None, "") else None,
        "labels": params.get("labels"),
        "annotations": params.get("annotations"),
    }
    if existing:
        return run.adopt(existing, wanted)
    return run.create(wanted)


class _SnapshotRun:
    """One kubevirt_vm_snapshot run: the snapshot's namespace and name, the options, the mode."""

    def __init__(self, api, params, *, check_mode, diff):
        self.api = api
        self.namespace = validate_name(params["namespace"], "namespace")
        self.name = validate_name(params["name"], "name")
        self.ref = ref(self.namespace, self.name)
        self.wait = params.get("wait", True)
        self.timeout = spec.validate_wait_timeout(params.get("wait_timeout", 300))
        self.check_mode = check_mode
        self.diff = diff

    def create_failed(self, cause):
        return failure("create", SNAPSHOT, self.ref, cause)

    def absent(self, existing):
        if not existing:
            return build_result(changed=False, diff_enabled=self.diff, before={}, after={}, snapshot={})
        if not self.check_mode:
            self.api.delete(SNAPSHOT, self.namespace, self.name)
            if self.wait:
                self._wait_gone()
        return build_result(changed=True, diff_enabled=self.diff, before=spec.object_view(existing), after={},
                            snapshot=spec.snapshot_summary(existing))

    def _wait_gone(self):
        done, obj, elapsed = self.api.wait(SNAPSHOT, self.namespace, self.name, until=lambda o: o is None,
                                           timeout=self.timeout)
        if not done:
            finalizers = ", ".join((obj.get("metadata") or {}).get("finalizers") or []) or "none"
            raise GhostError(failure("delete", SNAPSHOT, self.ref, _timeout_cause(
                elapsed, "VirtualMachineSnapshot '%s' to be gone" % self.ref, "finalizers: %s" % finalizers)))

    def adopt(self, existing, wanted):
        """A snapshot of the same VM is kept: missing labels and annotations added, waited for."""
        source = spec.snapshot_source(existing)
        if source != wanted["vm_name"]:
            raise GhostError(self.create_failed("a snapshot of VirtualMachine '%s' already has that name" % (
                ref(self.namespace, source) if source else "(not a VirtualMachine)")))
        warnings = []
        have = (existing.get("spec") or {}).get("failureDeadline")
        seconds = wanted["failure_deadline"]
        if seconds is not None and (have is None or spec.parse_duration(have) != seconds):
            warnings.append("VirtualMachineSnapshot '%s' exists with failureDeadline %s; the spec of a snapshot "
                            "cannot change, so failure_deadline is ignored" % (self.ref, have or "unset"))
        obj = existing
        patch = spec.metadata_patch(existing, wanted["labels"], wanted["annotations"])
        if patch and not self.check_mode:
            obj = self.api.patch(SNAPSHOT, self.namespace, self.name, patch)
        state = spec.snapshot_state(obj)
        if state == FAILED:
            raise GhostError(self.create_failed("the existing snapshot failed (%s); remove it with state=absent to "
                                                "take it again" % spec.describe_snapshot(obj)),
                             details={"snapshot": spec.snapshot_summary(obj)})
        if state == PENDING and self.wait and not self.check_mode:
            obj = _wait_snapshot(self.api, self.namespace, self.name, timeout=self.timeout, fail=self.create_failed)
        after = spec.object_view(existing)
        if patch:
            for key, values in patch["metadata"].items():
                after["metadata"].setdefault(key, {}).update(values)
        result = build_result(changed=bool(patch), diff_enabled=self.diff, before=spec.object_view(existing), after=after,
                              snapshot=spec.snapshot_summary(obj))
        if warnings:
            result["warnings"] = warnings
        return result

    def create(self, wanted):
        vm_name = wanted["vm_name"]
        if self.api.get(VM, self.namespace, vm_name) is None:
            raise GhostError(self.create_failed(_missing(self.api, VM, self.namespace, vm_name, "vm_name")))
        desired = spec.snapshot_definition(self.name, self.namespace, vm_name, labels=wanted["labels"],
                                           annotations=wanted["annotations"], failure_deadline=wanted["failure_deadline"])
        obj = desired
        if not self.check_mode:
            obj = self.api.create(desired)
            if self.wait:
                obj = _wait_snapshot(self.api, self.namespace, self.name, timeout=self.timeout, fail=self.create_failed)
        return build_result(changed=True, diff_enabled=self.diff, before={}, after=spec.object_view(desired),
                            snapshot=spec.snapshot_summary(obj))


# ---------------------------------------------------------------- restore

def ensure_restore(api, params, *, check_mode=False, diff=False):
    """Restore a VM from a snapshot once (or again with force); returns the module result.

    A reset begins by recording the VM's run strategy on the VM (annotation
    ``spec.PREVIOUS_RUN_STRATEGY``) in the same patch that stops it, and ends by giving the VM
    its run strategy back in the patch that removes the record. A run that finds the record
    finishes that reset with the strategy recorded, whatever happened in between (a timeout, a
    failure, ``wait: false``); a run that finds a complete restore and no record has nothing to do.
    """
    run = _RestoreRun(api, params, check_mode=check_mode, diff=diff)
    vm = api.get(VM, run.namespace, run.vm_name)
    if vm is None:
        raise run.error(_missing(api, VM, run.namespace, run.vm_name, "vm_name"))
    existing = api.get(RESTORE, run.namespace, run.name)
    if existing and not params.get("force", False):
        return run.adopt(vm, existing)
    return run.restore(vm, existing)


def _restore_diff(restore_before, restore_after, strategy_before, strategy_after):
    before = {"restore": restore_before, "vm_run_strategy": strategy_before} if restore_before or strategy_before else {}
    return before, {"restore": restore_after, "vm_run_strategy": strategy_after}


class _RestoreRun:
    """One kubevirt_vm_restore run: the names, the options and one deadline shared by every wait."""

    def __init__(self, api, params, *, check_mode, diff):
        self.api = api
        self.params = params
        self.namespace = validate_name(params["namespace"], "namespace")
        self.vm_name = validate_name(params["vm_name"], "vm_name")
        self.snapshot_name = validate_name(params["snapshot_name"], "snapshot_name")
        self.name = validate_name(params.get("name") or default_restore_name(self.vm_name, self.snapshot_name), "name")
        self.ref = ref(self.namespace, self.name)
        self.vm_ref = ref(self.namespace, self.vm_name)
        self.wait = params.get("wait", True)
        self.run_after = params.get("run_after_restore") or "previous"
        self.deadline = api.waiter.deadline(spec.validate_wait_timeout(params.get("wait_timeout", 600)))
        self.check_mode = check_mode
        self.diff = diff

    def error(self, cause, details=None):
        return GhostError(failure("restore", RESTORE, self.ref, cause), details=details)

    def adopt(self, vm, existing):
        """A restore of this snapshot onto this VM exists: finish the reset the VM records, if any."""
        target = spec.restore_target(existing)
        if target != (self.vm_name, self.snapshot_name):
            raise self.error("it already exists for snapshot '%s' of VirtualMachine '%s'; choose another name or "
                             "set force=true to replace it" % (target[1], target[0]))
        current = spec.run_strategy(vm)
        recorded = spec.recorded_run_strategy(vm)
        state = spec.restore_state(existing)
        if state == FAILED:
            raise self.error("the existing restore failed (%s); set force=true to delete it and restore again" % (
                spec.describe_restore(existing)), {"restore": spec.restore_summary(existing, current)})
        if (state == READY and recorded is None) or (state == PENDING and not self.wait):
            # Done (the VM is the user's again, even stopped since), or not ours to wait for.
            return build_result(changed=False, restore=spec.restore_summary(existing, current))
        obj = existing
        if state == PENDING and not self.check_mode:
            obj = self._wait_restore()
        desired = spec.desired_run_strategy(self.run_after, recorded or current)
        changed, strategy = self._settle_vm(desired, wait_ready=state == PENDING)
        view = spec.object_view(existing)
        before, after = _restore_diff(view, view, current, strategy)
        return build_result(changed=changed, diff_enabled=self.diff and changed, before=before, after=after,
                            restore=spec.restore_summary(obj, strategy))

    def restore(self, vm, existing):
        """Restore (again): record and stop, replace ``existing``, create the restore, wait, settle the VM."""
        self._check_snapshot()
        current = spec.run_strategy(vm)
        previous = spec.recorded_run_strategy(vm) or current
        desired_strategy = spec.desired_run_strategy(self.run_after, previous)
        stop = self._must_stop(vm)
        desired = spec.restore_definition(
            self.name, self.namespace, self.vm_name, snapshot_name=self.snapshot_name,
            target_readiness_policy=self.params.get("target_readiness_policy"),
            volume_restore_policy=self.params.get("volume_restore_policy"))
        before, after = _restore_diff(spec.object_view(existing), spec.object_view(desired), current, desired_strategy)
        if self.check_mode:
            return build_result(changed=True, diff_enabled=self.diff, before=before, after=after,
                                restore=spec.restore_summary(desired, desired_strategy))
        first_change = spec.record_patch(vm, previous, halt=stop)
        if first_change:
            self.api.patch(VM, self.namespace, self.vm_name, first_change)
        try:
            obj = self._replace_and_restore(existing, desired, stop=stop)
        except GhostError as exc:
            raise GhostError("%s; VirtualMachine '%s' had runStrategy %s before: its annotation %s keeps that "
                             "until a run of the module completes the restore and gives it back" % (
                                 exc, self.vm_ref, previous, spec.PREVIOUS_RUN_STRATEGY), details=exc.details)
        strategy = HALTED if stop else current
        if self.wait:
            strategy = self._settle_vm(desired_strategy, wait_ready=True)[1]
        return build_result(changed=True, diff_enabled=self.diff, before=before, after=after,
                            restore=spec.restore_summary(obj, strategy))

    def _replace_and_restore(self, existing, desired, *, stop):
        """What follows the first change up to the restore: the old one gone, the VM stopped, the new one complete.

        Returns the restore (as created when not waiting).
        """
        if existing:
            self.api.delete(RESTORE, self.namespace, self.name)
            self._wait_gone(RESTORE, self.name, "before restoring again")
        if stop:
            self._wait_gone(VMI, self.vm_name, "after setting runStrategy Halted")
        obj = self.api.create(desired)
        return self._wait_restore() if self.wait else obj

    def _check_snapshot(self):
        """The snapshot must be of this VM and ready to use (waited for when it is in progress)."""
        snap_ref = ref(self.namespace, self.snapshot_name)
        snapshot = self.api.get(SNAPSHOT, self.namespace, self.snapshot_name)
        if snapshot is None:
            raise self.error(_missing(self.api, SNAPSHOT, self.namespace, self.snapshot_name, "snapshot_name"))
        source = spec.snapshot_source(snapshot)
        if source != self.vm_name:
            raise self.error("VirtualMachineSnapshot '%s' is a snapshot of %s, not of VirtualMachine '%s'" % (
                snap_ref, "VirtualMachine '%s'" % ref(self.namespace, source) if source else "something else", self.vm_ref))
        state = spec.snapshot_state(snapshot)
        if state == FAILED:
            raise self.error("VirtualMachineSnapshot '%s' failed (%s)" % (snap_ref, spec.describe_snapshot(snapshot)))
        if state == PENDING and not self.check_mode:
            if not self.wait:
                raise self.error("VirtualMachineSnapshot '%s' is not ready to use (%s)" % (
                    snap_ref, spec.describe_snapshot(snapshot)))
            _wait_snapshot(self.api, self.namespace, self.snapshot_name, timeout=self.deadline.remaining(),
                           fail=lambda cause: failure("restore", RESTORE, self.ref, cause.replace(
                               "the snapshot failed", "VirtualMachineSnapshot '%s' failed" % snap_ref)))

    def _must_stop(self, vm):
        """Whether the module stops the VM first: with stop_vm, unless it is Halted and has no VMI.

        A VM without a VMI is halted too: older KubeVirt refuses to restore a VM whose run strategy
        is not Halted. Without stop_vm, a running VM must suit target_readiness_policy.
        """
        running = self.api.get(VMI, self.namespace, self.vm_name) is not None
        if self.params.get("stop_vm", True):
            return running or spec.run_strategy(vm) != HALTED
        if running and self.params.get("target_readiness_policy") not in spec.POLICIES_FOR_RUNNING_VM:
            raise self.error("VirtualMachine '%s' is running; set stop_vm=true, or target_readiness_policy to one "
                             "of %s to let KubeVirt deal with it" % (self.vm_ref, ", ".join(spec.POLICIES_FOR_RUNNING_VM)))
        return False

    def _wait_gone(self, kind, name, why):
        done, unused, elapsed = self.api.wait(kind, self.namespace, name, until=lambda o: o is None,
                                              timeout=self.deadline.remaining())
        if not done:
            raise self.error(_timeout_cause(
                elapsed, "%s '%s' to be gone %s" % (kind, ref(self.namespace, name), why), "it still exists"))

    def _wait_restore(self):
        done, obj, elapsed = self.api.wait(RESTORE, self.namespace, self.name, timeout=self.deadline.remaining(),
                                           until=lambda o: o is None or spec.restore_state(o) != PENDING)
        if obj is None:
            raise self.error("it was deleted while waiting for it to complete")
        details = {"restore": spec.restore_summary(obj, None)}
        if not done:
            raise self.error(_timeout_cause(elapsed, "VirtualMachineRestore '%s' to complete" % self.ref,
                                            spec.describe_restore(obj)), details)
        if spec.restore_state(obj) == FAILED:
            raise self.error("the restore failed (%s)" % spec.describe_restore(obj), details)
        return obj

    def _settle_vm(self, desired, *, wait_ready):
        """End the reset: give the VM its run strategy and drop the record; with ``wait``, wait until it is ready.

        A VM whose run strategy was already right is only waited for when ``wait_ready`` says this
        run did something to it (a restore it waited for). Returns (changed, run strategy).
        """
        vm = self.api.get(VM, self.namespace, self.vm_name)
        if vm is None:
            raise self.error("VirtualMachine '%s' disappeared" % self.vm_ref)
        patch = spec.settle_patch(vm, desired)
        changed = patch is not None
        if changed and not self.check_mode:
            vm = self.api.patch(VM, self.namespace, self.vm_name, patch)
        if ((changed or wait_ready) and self.wait and not self.check_mode and spec.wants_running(desired)
                and not spec.vm_ready(vm)):
            done, vm_now, elapsed = self.api.wait(VM, self.namespace, self.vm_name, timeout=self.deadline.remaining(),
                                                  until=lambda o: o is None or spec.vm_ready(o))
            if not done:
                status = (vm_now or {}).get("status") or {}
                raise self.error(_timeout_cause(
                    elapsed, "VirtualMachine '%s' to be ready after the restore (runStrategy %s)" % (self.vm_ref, desired),
                    "printableStatus %s" % status.get("printableStatus", "not set")))
            vm = vm_now or vm
        return changed, (desired if self.check_mode else spec.run_strategy(vm))
