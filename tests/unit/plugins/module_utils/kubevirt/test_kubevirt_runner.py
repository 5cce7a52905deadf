# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The snapshot/restore runners against a Mock API, in the manner of kubernetes.core's test_runner.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time
from unittest.mock import Mock

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.client import KubeVirtClient
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import RESTORE, SNAPSHOT, VM, VMI
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.runner import ensure_restore, ensure_snapshot

NS = "lab"


RECORD = "ghost.infra/run-strategy-before-restore"


def vm(strategy="Always", ready=True, legacy=False, recorded=None):
    spec = {"running": strategy == "Always"} if legacy else {"runStrategy": strategy}
    spec["template"] = {"spec": {"domain": {"cpu": {"cores": 2}}}}
    obj = {"apiVersion": "kubevirt.io/v1", "kind": VM, "metadata": {"name": "cp", "namespace": NS},
           "spec": spec, "status": {"ready": ready, "printableStatus": "Running" if ready else "Stopped"}}
    if recorded:
        obj["metadata"]["annotations"] = {RECORD: recorded}
    return obj


def ready_now(stored):
    """A wait candidate: the stored object as it is, become ready (a VM that started)."""
    return dict(stored, status=dict(stored.get("status") or {}, ready=True, printableStatus="Running"))


def vmi():
    return {"kind": VMI, "metadata": {"name": "cp", "namespace": NS}, "status": {"phase": "Running"}}


def snapshot(phase="Succeeded", source="cp", name="cp-snap", conditions=None, labels=None):
    obj = {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": SNAPSHOT,
           "metadata": {"name": name, "namespace": NS, "finalizers": ["snapshot.kubevirt.io/vmsnapshot-protection"]},
           "spec": {"source": {"apiGroup": "kubevirt.io", "kind": VM, "name": source}},
           "status": {"phase": phase, "readyToUse": phase == "Succeeded", "conditions": conditions or [],
                      "virtualMachineSnapshotContentName": "vmsnapshot-content-1", "creationTime": "2025-01-01T00:00:00Z",
                      "indications": ["Online"]}}
    if labels:
        obj["metadata"]["labels"] = labels
    return obj


def restore(complete=True, name="cp-cp-snap", snap="cp-snap", target="cp", conditions=None):
    obj = {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": RESTORE,
           "metadata": {"name": name, "namespace": NS},
           "spec": {"target": {"apiGroup": "kubevirt.io", "kind": VM, "name": target}, "virtualMachineSnapshotName": snap},
           "status": {"complete": complete, "conditions": conditions or []}}
    if complete:
        obj["status"]["restoreTime"] = "2025-01-01T00:05:00Z"
    return obj


FAILURE = [{"type": "Ready", "status": "False", "reason": "Operation failed"},
           {"type": "Failure", "status": "True", "reason": "injected: disk on fire", "message": "injected: disk on fire"}]


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch, what the API server does with the client's patch()."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            merge_patch(target.setdefault(key, {}), value)
        else:
            target[key] = value


def make_api(objects, waits=None, clock=time.monotonic):
    """A Mock KubeVirtClient over ``objects`` {(kind, name): obj}.

    ``waits`` {kind: [candidate, ...]} (``api.waits``, replaceable between runs): wait() returns
    the first candidate its predicate accepts (None meaning "gone", a callable meaning "this,
    made from the stored object"), or times out on the last one, like a cluster moving through
    states. A kind without candidates is waited for as stored. ``clock`` drives the deadline a
    run takes from the client's waiter.
    """
    store = {key: copy.deepcopy(obj) for key, obj in objects.items()}
    api = Mock(spec=KubeVirtClient)
    api.waiter = Waiter(clock=clock)
    api.waits = waits or {}
    api.get.side_effect = lambda kind, ns, name: copy.deepcopy(store.get((kind, name)))

    def create(definition):
        created = copy.deepcopy(definition)
        created["metadata"]["uid"] = "uid-1"
        store[(definition["kind"], definition["metadata"]["name"])] = created
        return copy.deepcopy(created)
    api.create.side_effect = create

    def patch(kind, ns, name, body):
        obj = store[(kind, name)]
        merge_patch(obj, copy.deepcopy(body))
        if kind == VM and "spec" in body:  # a VM whose run strategy just changed is not ready (yet)
            obj["status"]["ready"] = False
        return copy.deepcopy(obj)
    api.patch.side_effect = patch

    def wait(kind, ns, name, *, until, timeout):
        candidates = api.waits.get(kind)
        if candidates is None:
            candidates = [store.get((kind, name))]
        for candidate in candidates:
            if callable(candidate):
                candidate = candidate(copy.deepcopy(store.get((kind, name))))
            if until(copy.deepcopy(candidate)):
                if candidate is None:
                    store.pop((kind, name), None)
                else:
                    store[(kind, name)] = copy.deepcopy(candidate)
                return True, copy.deepcopy(candidate), 1.0
        last = candidates[-1]
        return False, copy.deepcopy(last(store.get((kind, name))) if callable(last) else last), float(timeout)
    api.wait.side_effect = wait
    api.store = store
    return api


def snap_params(**kwargs):
    params = {"name": "cp-snap", "namespace": NS, "vm_name": "cp", "state": "present", "labels": None,
              "annotations": None, "failure_deadline": None, "wait": True, "wait_timeout": 300}
    params.update(kwargs)
    return params


def restore_params(**kwargs):
    params = {"name": None, "namespace": NS, "vm_name": "cp", "snapshot_name": "cp-snap", "stop_vm": True,
              "run_after_restore": "previous", "target_readiness_policy": None, "volume_restore_policy": None,
              "force": False, "wait": True, "wait_timeout": 600}
    params.update(kwargs)
    return params


# ================================================================ snapshot

@pytest.mark.parametrize("check_mode", [False, True])
def test_snapshot_created_and_waited_for(check_mode):
    api = make_api({(VM, "cp"): vm()}, waits={SNAPSHOT: [snapshot("InProgress"), snapshot()]})
    result = ensure_snapshot(api, snap_params(failure_deadline="5m", labels={"golden": "true"}),
                             check_mode=check_mode, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["spec"]["source"]["name"] == "cp"
    if check_mode:
        api.create.assert_not_called()
        api.wait.assert_not_called()
        assert result["snapshot"]["phase"] is None
    else:
        definition = api.create.call_args[0][0]
        assert definition["spec"]["failureDeadline"] == "5m0s"
        assert definition["metadata"]["labels"] == {"golden": "true"}
        assert result["snapshot"]["ready_to_use"] is True
        assert result["snapshot"]["phase"] == "Succeeded"
        assert result["snapshot"]["content_name"] == "vmsnapshot-content-1"


def test_snapshot_without_wait_returns_after_create():
    api = make_api({(VM, "cp"): vm()})
    result = ensure_snapshot(api, snap_params(wait=False))
    assert result["changed"] is True
    api.wait.assert_not_called()
    assert "diff" not in result


def test_existing_snapshot_of_same_vm_is_unchanged():
    api = make_api({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot()})
    result = ensure_snapshot(api, snap_params(), diff=True)
    assert result["changed"] is False
    api.create.assert_not_called()
    api.patch.assert_not_called()
    assert result["snapshot"]["ready_to_use"] is True


def test_existing_snapshot_gets_missing_labels():
    api = make_api({(SNAPSHOT, "cp-snap"): snapshot(labels={"keep": "me"})})
    result = ensure_snapshot(api, snap_params(labels={"golden": "true", "keep": "me"}), diff=True)
    assert result["changed"] is True
    api.patch.assert_called_once_with(SNAPSHOT, NS, "cp-snap", {"metadata": {"labels": {"golden": "true"}}})
    assert result["diff"]["after"]["metadata"]["labels"] == {"keep": "me", "golden": "true"}
    assert result["diff"]["before"]["metadata"]["labels"] == {"keep": "me"}


def test_existing_snapshot_with_other_deadline_warns():
    existing = snapshot()
    existing["spec"]["failureDeadline"] = "5m0s"
    api = make_api({(SNAPSHOT, "cp-snap"): existing})
    assert "warnings" not in ensure_snapshot(api, snap_params(failure_deadline="300"))
    result = ensure_snapshot(api, snap_params(failure_deadline="10m"))
    assert result["changed"] is False
    assert "failureDeadline 5m0s" in result["warnings"][0]


def test_snapshot_of_another_vm_under_that_name_is_an_error():
    api = make_api({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot(source="wk")})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params())
    assert str(err.value) == ("Failed to create VirtualMachineSnapshot 'lab/cp-snap': "
                              "a snapshot of VirtualMachine 'lab/wk' already has that name")


def test_snapshot_of_missing_vm_is_an_error_even_in_check_mode():
    api = make_api({})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params(), check_mode=True)
    assert "VirtualMachine 'lab/cp' not found" in str(err.value)
    api.create.assert_not_called()


def test_failed_snapshot_quotes_the_condition_message():
    api = make_api({(VM, "cp"): vm()}, waits={SNAPSHOT: [snapshot("InProgress"), snapshot("Failed", conditions=FAILURE)]})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params())
    message = str(err.value)
    assert message.startswith("Failed to create VirtualMachineSnapshot 'lab/cp-snap': the snapshot failed (phase Failed")
    assert "Failure=True: injected: disk on fire" in message
    assert err.value.details["snapshot"]["phase"] == "Failed"


def test_existing_failed_snapshot_is_an_error_with_a_hint():
    api = make_api({(SNAPSHOT, "cp-snap"): snapshot("Failed", conditions=FAILURE)})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params())
    assert "injected: disk on fire" in str(err.value)
    assert "state=absent" in str(err.value)


def test_snapshot_timeout_names_what_it_waited_for():
    progressing = [{"type": "Progressing", "status": "True", "reason": "Source locked and operation in progress"}]
    api = make_api({(VM, "cp"): vm()}, waits={SNAPSHOT: [snapshot("InProgress", conditions=progressing)]})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params(wait_timeout=7))
    assert str(err.value) == (
        "Failed to create VirtualMachineSnapshot 'lab/cp-snap': timed out after 7s waiting for "
        "VirtualMachineSnapshot 'lab/cp-snap' to become readyToUse (phase InProgress, readyToUse False; "
        "conditions: Progressing=True (Source locked and operation in progress))")


def test_existing_in_progress_snapshot_is_waited_for_unchanged():
    api = make_api({(SNAPSHOT, "cp-snap"): snapshot("InProgress")}, waits={SNAPSHOT: [snapshot()]})
    result = ensure_snapshot(api, snap_params())
    assert result["changed"] is False
    assert result["snapshot"]["ready_to_use"] is True


def test_snapshot_deleted_while_waiting():
    api = make_api({(VM, "cp"): vm()}, waits={SNAPSHOT: [None]})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params())
    assert "was deleted while waiting" in str(err.value)


@pytest.mark.parametrize("check_mode", [False, True])
def test_snapshot_absent_deletes_and_waits(check_mode):
    api = make_api({(SNAPSHOT, "cp-snap"): snapshot()}, waits={SNAPSHOT: [snapshot(), None]})
    result = ensure_snapshot(api, snap_params(state="absent", vm_name=None), check_mode=check_mode, diff=True)
    assert result["changed"] is True
    assert result["diff"]["after"] == {}
    assert result["diff"]["before"]["metadata"]["name"] == "cp-snap"
    assert result["snapshot"]["name"] == "cp-snap"
    if check_mode:
        api.delete.assert_not_called()
    else:
        api.delete.assert_called_once_with(SNAPSHOT, NS, "cp-snap")


def test_snapshot_absent_when_absent_is_unchanged():
    api = make_api({})
    result = ensure_snapshot(api, snap_params(state="absent"), diff=True)
    assert result == {"changed": False, "snapshot": {}, "diff": {"before": {}, "after": {}}}
    api.delete.assert_not_called()


def test_snapshot_delete_timeout_names_finalizers():
    api = make_api({(SNAPSHOT, "cp-snap"): snapshot()}, waits={SNAPSHOT: [snapshot()]})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params(state="absent", wait_timeout=3))
    assert "timed out after 3s waiting for VirtualMachineSnapshot 'lab/cp-snap' to be gone" in str(err.value)
    assert "snapshot.kubevirt.io/vmsnapshot-protection" in str(err.value)


@pytest.mark.parametrize("params, option", [
    (snap_params(name="Bad_Name"), "name"),
    (snap_params(namespace="x" * 64), "namespace"),
    (snap_params(vm_name="CP"), "vm_name"),
    (snap_params(failure_deadline="soon"), "failure_deadline"),
])
def test_snapshot_bad_input_names_the_option(params, option):
    api = make_api({(VM, "cp"): vm()})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, params)
    assert err.value.option == option
    api.create.assert_not_called()


# ================================================================ restore

def test_restore_stops_restores_and_starts_the_vm_again():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={VMI: [None], RESTORE: [restore()], VM: [ready_now]})
    result = ensure_restore(api, restore_params(), diff=True)
    assert result["changed"] is True
    patches = [c[0] for c in api.patch.call_args_list]
    # the run strategy is recorded on the VM in the patch that stops it, and dropped in the one that gives it back
    assert patches == [(VM, NS, "cp", {"spec": {"runStrategy": "Halted"}, "metadata": {"annotations": {RECORD: "Always"}}}),
                       (VM, NS, "cp", {"spec": {"runStrategy": "Always"}, "metadata": {"annotations": {RECORD: None}}})]
    assert RECORD not in api.store[(VM, "cp")]["metadata"]["annotations"]
    definition = api.create.call_args[0][0]
    assert definition["metadata"] == {"name": "cp-cp-snap", "namespace": NS}
    assert definition["spec"]["virtualMachineSnapshotName"] == "cp-snap"
    waited = [(c[0][0], c[0][2]) for c in api.wait.call_args_list]
    assert waited == [(VMI, "cp"), (RESTORE, "cp-cp-snap"), (VM, "cp")]
    assert result["restore"]["complete"] is True
    assert result["restore"]["vm_run_strategy"] == "Always"
    assert result["restore"]["restore_time"] == "2025-01-01T00:05:00Z"
    assert result["diff"]["before"] == {"restore": {}, "vm_run_strategy": "Always"}
    assert result["diff"]["after"]["vm_run_strategy"] == "Always"
    assert result["diff"]["after"]["restore"]["spec"]["target"]["name"] == "cp"


def test_restore_check_mode_changes_nothing():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()})
    result = ensure_restore(api, restore_params(), check_mode=True, diff=True)
    assert result["changed"] is True
    api.create.assert_not_called()
    api.patch.assert_not_called()
    api.delete.assert_not_called()
    api.wait.assert_not_called()
    assert result["restore"]["complete"] is False
    assert result["restore"]["vm_run_strategy"] == "Always"


def test_restore_of_halted_vm_keeps_it_halted():
    api = make_api({(VM, "cp"): vm("Halted", ready=False), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={RESTORE: [restore()]})
    result = ensure_restore(api, restore_params())
    assert result["changed"] is True
    assert [c[0][3] for c in api.patch.call_args_list] == [{"metadata": {"annotations": {RECORD: "Halted"}}},
                                                           {"metadata": {"annotations": {RECORD: None}}}]
    assert api.store[(VM, "cp")]["spec"]["runStrategy"] == "Halted"
    assert [c[0][0] for c in api.wait.call_args_list] == [RESTORE]
    assert result["restore"]["vm_run_strategy"] == "Halted"


def test_restore_legacy_running_vm_uses_running_field():
    api = make_api({(VM, "cp"): vm(legacy=True), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={VMI: [None], RESTORE: [restore()], VM: [ready_now]})
    ensure_restore(api, restore_params())
    patches = [c[0][3]["spec"] for c in api.patch.call_args_list]
    assert patches == [{"running": False}, {"running": True}]
    assert "runStrategy" not in api.store[(VM, "cp")]["spec"]


@pytest.mark.parametrize("run_after, final", [("halted", "Halted"), ("running", "Always")])
def test_restore_run_after_restore(run_after, final):
    api = make_api({(VM, "cp"): vm("Halted", ready=False), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={RESTORE: [restore()], VM: [ready_now]})
    result = ensure_restore(api, restore_params(run_after_restore=run_after))
    assert result["restore"]["vm_run_strategy"] == final


def test_completed_restore_is_unchanged():
    api = make_api({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot(), (RESTORE, "cp-cp-snap"): restore()})
    result = ensure_restore(api, restore_params(), diff=True)
    assert result["changed"] is False
    assert "diff" not in result
    api.create.assert_not_called()
    api.patch.assert_not_called()
    api.delete.assert_not_called()
    api.wait.assert_not_called()
    assert result["restore"]["complete"] is True


def test_completed_restore_with_vm_left_halted_is_started_from_annotation():
    # A previous run restored but timed out before the VM ran again: the VM still carries the record.
    api = make_api({(VM, "cp"): vm("Halted", ready=False, recorded="Always"), (RESTORE, "cp-cp-snap"): restore()},
                   waits={VM: [ready_now]})
    result = ensure_restore(api, restore_params())
    assert result["changed"] is True
    api.patch.assert_called_once_with(VM, NS, "cp", {"spec": {"runStrategy": "Always"},
                                                     "metadata": {"annotations": {RECORD: None}}})
    api.create.assert_not_called()
    assert result["restore"]["vm_run_strategy"] == "Always"


def test_force_deletes_and_restores_again():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot(),
                    (RESTORE, "cp-cp-snap"): restore()},
                   waits={RESTORE: [restore(), None], VMI: [None], VM: [ready_now]})
    result = ensure_restore(api, restore_params(force=True), diff=True)
    assert result["changed"] is True
    api.delete.assert_called_once_with(RESTORE, NS, "cp-cp-snap")
    api.create.assert_called_once()
    assert result["diff"]["before"]["restore"]["metadata"]["name"] == "cp-cp-snap"
    order = [c[0] for c in api.method_calls if c[0] in ("delete", "create", "patch")]
    assert order == ["patch", "delete", "create", "patch"]  # the record comes first


@pytest.mark.parametrize("existing, recorded, final", [
    # a failed attempt stopped the VM: the strategy recorded on the VM wins over its current Halted
    (restore(complete=False, conditions=FAILURE), "Always", "Always"),
    # a completed reset left no record: the VM's current strategy is what "previous" means now
    (restore(complete=True), None, "Halted"),
])
def test_force_takes_previous_strategy_from_the_record(existing, recorded, final):
    api = make_api({(VM, "cp"): vm("Halted", ready=False, recorded=recorded), (SNAPSHOT, "cp-snap"): snapshot(),
                    (RESTORE, "cp-cp-snap"): existing},
                   waits={RESTORE: [restore(), None], VM: [ready_now]})
    result = ensure_restore(api, restore_params(force=True))
    assert result["restore"]["vm_run_strategy"] == final
    assert api.store[(VM, "cp")]["spec"]["runStrategy"] == final
    assert RECORD not in api.store[(VM, "cp")]["metadata"]["annotations"]


def test_force_in_check_mode_changes_nothing():
    api = make_api({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot(), (RESTORE, "cp-cp-snap"): restore()})
    result = ensure_restore(api, restore_params(force=True), check_mode=True)
    assert result["changed"] is True
    api.delete.assert_not_called()
    api.create.assert_not_called()


def test_restore_with_other_snapshot_under_that_name_is_an_error():
    api = make_api({(VM, "cp"): vm(), (RESTORE, "cp-cp-snap"): restore(snap="old-snap")})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params())
    assert "already exists for snapshot 'old-snap' of VirtualMachine 'cp'" in str(err.value)
    assert "force=true" in str(err.value)


def test_existing_failed_restore_is_an_error_quoting_conditions():
    api = make_api({(VM, "cp"): vm(), (RESTORE, "cp-cp-snap"): restore(complete=False, conditions=FAILURE)})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params())
    assert "the existing restore failed" in str(err.value)
    assert "injected: disk on fire" in str(err.value)


def test_restore_failure_quotes_the_condition_message():
    api = make_api({(VM, "cp"): vm("Halted"), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={RESTORE: [restore(complete=False), restore(complete=False, conditions=FAILURE)]})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params())
    assert str(err.value).startswith("Failed to restore VirtualMachineRestore 'lab/cp-cp-snap': the restore failed (")
    assert "Failure=True: injected: disk on fire" in str(err.value)
    assert err.value.details["restore"]["complete"] is False


def test_restore_timeout_names_what_it_waited_for():
    waiting = [{"type": "Ready", "status": "False", "reason": "Waiting for target to be ready"}]
    api = make_api({(VM, "cp"): vm("Halted"), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={RESTORE: [restore(complete=False, conditions=waiting)]}, clock=iter([0.0] + [1.0] * 10).__next__)
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(wait_timeout=5))
    assert str(err.value) == (
        "Failed to restore VirtualMachineRestore 'lab/cp-cp-snap': timed out after 4s waiting for "
        "VirtualMachineRestore 'lab/cp-cp-snap' to complete (complete False; conditions: "
        "Ready=False (Waiting for target to be ready)); VirtualMachine 'lab/cp' had runStrategy Halted before: its "
        "annotation ghost.infra/run-strategy-before-restore keeps that until a run of the module completes the "
        "restore and gives it back")


def test_stop_timeout_names_the_vmi():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()}, waits={VMI: [vmi()]},
                   clock=iter([0.0] * 10).__next__)
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(wait_timeout=9))
    assert "waiting for VirtualMachineInstance 'lab/cp' to be gone after setting runStrategy Halted" in str(err.value)
    api.create.assert_not_called()


# ---------------------------------------------------------------- a reset interrupted, and after it

def vm_state(api):
    stored = api.store[(VM, "cp")]
    return stored["spec"].get("runStrategy"), (stored["metadata"].get("annotations") or {}).get(RECORD)


def test_timeout_during_stop_then_rerun_gives_the_vm_its_original_strategy():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={VMI: [vmi()]})  # the guest takes longer to shut down than wait_timeout
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(wait_timeout=2))
    assert "waiting for VirtualMachineInstance 'lab/cp' to be gone after setting runStrategy Halted" in str(err.value)
    assert ("VirtualMachine 'lab/cp' had runStrategy Always before: its annotation "
            "ghost.infra/run-strategy-before-restore keeps that") in str(err.value)
    api.create.assert_not_called()
    assert vm_state(api) == ("Halted", "Always")  # stopped, and the strategy from before is on the VM

    # the re-run finds the VM Halted, but the record says what it ran with
    api.waits = {VMI: [None], RESTORE: [restore()], VM: [ready_now]}
    api.patch.reset_mock()
    result = ensure_restore(api, restore_params(), diff=True)
    assert result["changed"] is True
    assert result["restore"]["vm_run_strategy"] == "Always"
    assert result["diff"]["before"]["vm_run_strategy"] == "Halted"
    assert result["diff"]["after"]["vm_run_strategy"] == "Always"
    assert [c[0][3] for c in api.patch.call_args_list] == [
        {"spec": {"runStrategy": "Always"}, "metadata": {"annotations": {RECORD: None}}}]
    assert vm_state(api) == ("Always", None)

    # the reset is complete: a third run has nothing to do
    api.patch.reset_mock()
    assert ensure_restore(api, restore_params())["changed"] is False
    api.patch.assert_not_called()

    # the user stops the VM; the same task does not start it again
    api.store[(VM, "cp")]["spec"]["runStrategy"] = "Halted"
    result = ensure_restore(api, restore_params())
    assert result["changed"] is False
    assert result["restore"]["vm_run_strategy"] == "Halted"
    api.patch.assert_not_called()
    assert vm_state(api) == ("Halted", None)


def test_check_mode_after_an_interrupted_reset_predicts_the_recorded_strategy():
    api = make_api({(VM, "cp"): vm("Halted", ready=False, recorded="Always"), (SNAPSHOT, "cp-snap"): snapshot()})
    result = ensure_restore(api, restore_params(), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["restore"]["vm_run_strategy"] == "Always"
    api.patch.assert_not_called()
    api.create.assert_not_called()


def test_completed_restore_does_not_restart_a_vm_stopped_since():
    # A restore written by an older version of the module still carries the strategy from before;
    # the reset is complete (no record on the VM), so the VM the user stopped stays stopped.
    done = restore()
    done["metadata"]["annotations"] = {RECORD: "Always"}
    api = make_api({(VM, "cp"): vm("Halted", ready=False), (RESTORE, "cp-cp-snap"): done})
    for check_mode in (True, False):
        result = ensure_restore(api, restore_params(), check_mode=check_mode)
        assert result["changed"] is False
        assert result["restore"]["vm_run_strategy"] == "Halted"
    api.patch.assert_not_called()
    api.wait.assert_not_called()


def test_restore_without_wait_is_finished_by_the_next_run():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()}, waits={VMI: [None]})
    assert ensure_restore(api, restore_params(wait=False))["changed"] is True
    assert vm_state(api) == ("Halted", "Always")
    api.store[(RESTORE, "cp-cp-snap")]["status"] = {"complete": True, "restoreTime": "2025-01-01T00:05:00Z"}
    api.waits = {VM: [ready_now]}
    result = ensure_restore(api, restore_params())
    assert result["changed"] is True
    assert vm_state(api) == ("Always", None)
    assert ensure_restore(api, restore_params())["changed"] is False


@pytest.mark.parametrize("strategy", ["Manual", "Always", "RerunOnFailure"])
def test_a_vm_without_vmi_is_halted_before_the_restore(strategy):
    # Older KubeVirt's admission webhook refuses a restore whose target's run strategy is not Halted.
    api = make_api({(VM, "cp"): vm(strategy, ready=False), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={RESTORE: [restore()], VM: [ready_now]})
    strategies = []
    api.create.side_effect = lambda definition: strategies.append(vm_state(api)[0]) or copy.deepcopy(definition)
    result = ensure_restore(api, restore_params())
    assert strategies == ["Halted"]  # what the VM's run strategy was when the restore was created
    assert result["restore"]["vm_run_strategy"] == strategy
    assert vm_state(api) == (strategy, None)


@pytest.mark.parametrize("timeout", [0, -5])
@pytest.mark.parametrize("force", [False, True])
def test_restore_wait_timeout_must_be_positive(timeout, force):
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot(), (RESTORE, "cp-cp-snap"): restore()})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(wait_timeout=timeout, force=force))
    assert str(err.value) == "wait_timeout: must be a positive number of seconds, got %d" % timeout
    assert api.method_calls == []  # nothing read, nothing changed


@pytest.mark.parametrize("state", ["present", "absent"])
def test_snapshot_wait_timeout_must_be_positive(state):
    api = make_api({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot()})
    with pytest.raises(GhostError) as err:
        ensure_snapshot(api, snap_params(state=state, wait_timeout=0))
    assert err.value.option == "wait_timeout"
    assert api.method_calls == []


def test_vm_start_timeout_names_the_vm():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={VMI: [None], RESTORE: [restore()], VM: [vm(ready=False)]})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params())
    assert "waiting for VirtualMachine 'lab/cp' to be ready after the restore (runStrategy Always)" in str(err.value)


@pytest.mark.parametrize("policy", [None, "FailImmediate"])
def test_running_vm_without_stop_is_an_error(policy):
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(stop_vm=False, target_readiness_policy=policy), check_mode=True)
    assert "VirtualMachine 'lab/cp' is running; set stop_vm=true" in str(err.value)
    api.create.assert_not_called()


@pytest.mark.parametrize("policy", ["StopTarget", "WaitEventually", "WaitGracePeriod"])
def test_running_vm_without_stop_is_left_to_the_policy(policy):
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()},
                   waits={RESTORE: [restore()], VM: [vm()]})
    result = ensure_restore(api, restore_params(stop_vm=False, target_readiness_policy=policy))
    assert result["changed"] is True
    assert api.create.call_args[0][0]["spec"]["targetReadinessPolicy"] == policy
    assert VMI not in [c[0][0] for c in api.wait.call_args_list]


def test_restore_without_wait_returns_after_create():
    api = make_api({(VM, "cp"): vm(), (VMI, "cp"): vmi(), (SNAPSHOT, "cp-snap"): snapshot()}, waits={VMI: [None]})
    result = ensure_restore(api, restore_params(wait=False))
    assert result["changed"] is True
    assert [c[0][0] for c in api.wait.call_args_list] == [VMI]  # stop_vm still waits for the VMI to go
    assert result["restore"]["vm_run_strategy"] == "Halted"
    assert result["restore"]["complete"] is False


def test_pending_restore_without_wait_is_reported_unchanged():
    api = make_api({(VM, "cp"): vm("Halted"), (RESTORE, "cp-cp-snap"): restore(complete=False)})
    result = ensure_restore(api, restore_params(wait=False))
    assert result["changed"] is False
    assert result["restore"]["complete"] is False
    api.wait.assert_not_called()


def test_pending_restore_is_adopted_and_waited_for():
    api = make_api({(VM, "cp"): vm("Halted", ready=False, recorded="Always"), (RESTORE, "cp-cp-snap"): restore(complete=False)},
                   waits={RESTORE: [restore()], VM: [ready_now]})
    result = ensure_restore(api, restore_params())
    assert result["changed"] is True  # the VM is started again
    api.create.assert_not_called()
    assert result["restore"]["complete"] is True


@pytest.mark.parametrize("objects, message", [
    ({}, "VirtualMachine 'lab/cp' not found"),
    ({(VM, "cp"): vm()}, "VirtualMachineSnapshot 'lab/cp-snap' not found"),
    ({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot(source="wk")},
     "VirtualMachineSnapshot 'lab/cp-snap' is a snapshot of VirtualMachine 'lab/wk', not of VirtualMachine 'lab/cp'"),
    ({(VM, "cp"): vm(), (SNAPSHOT, "cp-snap"): snapshot("Failed", conditions=FAILURE)}, "injected: disk on fire"),
])
def test_restore_preconditions(objects, message):
    api = make_api(objects)
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params())
    assert str(err.value).startswith("Failed to restore VirtualMachineRestore 'lab/cp-cp-snap': ")
    assert message in str(err.value)
    api.create.assert_not_called()


def test_restore_waits_for_a_snapshot_in_progress():
    api = make_api({(VM, "cp"): vm("Halted"), (SNAPSHOT, "cp-snap"): snapshot("InProgress")},
                   waits={SNAPSHOT: [snapshot()], RESTORE: [restore()]})
    assert ensure_restore(api, restore_params())["changed"] is True
    assert [c[0][0] for c in api.wait.call_args_list] == [SNAPSHOT, RESTORE]


def test_restore_of_a_snapshot_that_fails_while_waited_for():
    api = make_api({(VM, "cp"): vm("Halted"), (SNAPSHOT, "cp-snap"): snapshot("InProgress")},
                   waits={SNAPSHOT: [snapshot("Failed", conditions=FAILURE)]})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params())
    assert str(err.value).startswith("Failed to restore VirtualMachineRestore 'lab/cp-cp-snap': "
                                     "VirtualMachineSnapshot 'lab/cp-snap' failed (phase Failed")
    assert str(err.value).count("Failed to") == 1
    api.create.assert_not_called()


def test_restore_refuses_a_snapshot_in_progress_without_wait():
    api = make_api({(VM, "cp"): vm("Halted"), (SNAPSHOT, "cp-snap"): snapshot("InProgress")})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(wait=False))
    assert "is not ready to use (phase InProgress" in str(err.value)


def test_long_names_get_a_valid_default_restore_name():
    long_vm = "control-plane-of-the-certified-kubernetes-security-lab-01"
    api = make_api({(VM, long_vm): dict(vm("Halted"), metadata={"name": long_vm, "namespace": NS}),
                    (SNAPSHOT, "golden-snapshot"): snapshot(source=long_vm, name="golden-snapshot")},
                   waits={RESTORE: [restore(name="x", snap="golden-snapshot", target=long_vm)]})
    result = ensure_restore(api, restore_params(vm_name=long_vm, snapshot_name="golden-snapshot"))
    name = api.create.call_args[0][0]["metadata"]["name"]
    assert len(name) <= 63 and name.startswith("control-plane-of-the-certified")
    assert result["changed"] is True


def test_explicit_bad_restore_name_is_rejected():
    api = make_api({(VM, "cp"): vm()})
    with pytest.raises(GhostError) as err:
        ensure_restore(api, restore_params(name="Reset_CP"))
    assert err.value.option == "name"


def test_a_missing_object_names_the_option_or_the_namespace():
    api = make_api({})
    with pytest.raises(GhostError, match="vm_name: VirtualMachine 'lab/cp' not found"):
        ensure_snapshot(api, snap_params())
    api.namespace_exists.return_value = False
    with pytest.raises(GhostError, match="namespace: the namespace 'lab' does not exist"):
        ensure_snapshot(api, snap_params())
    api = make_api({(VM, "cp"): vm()})
    with pytest.raises(GhostError, match="snapshot_name: VirtualMachineSnapshot 'lab/cp-snap' not found"):
        ensure_restore(api, restore_params())
