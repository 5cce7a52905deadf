# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt import logic


# ---------------------------------------------------------------- durations

@pytest.mark.parametrize("value, seconds", [
    (300, 300), ("300", 300), ("5m", 300), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400),
    ("500ms", 0.5), ("0", 0), ("0s", 0), ("2m30s", 150), (" 10m ", 600), (1.5, 1.5), ("1m0.5s", 60.5),
])
def test_parse_duration(value, seconds):
    assert logic.parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "m", "5x", "-5m", "5m-", "1d", "five minutes", True, None, -1, "1h30"])
def test_parse_duration_rejects(value):
    with pytest.raises(GhostError) as err:
        logic.parse_duration(value)
    assert err.value.option == "failure_deadline"


@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (0.5, "500ms"), (1, "1s"), (1.5, "1.5s"), (90, "1m30s"), (300, "5m0s"),
    (3600, "1h0m0s"), (5400, "1h30m0s"), (3661.25, "1h1m1.25s"),
])
def test_format_duration_is_go_canonical(seconds, text):
    assert logic.format_duration(seconds) == text
    assert logic.parse_duration(text) == pytest.approx(seconds)


# ---------------------------------------------------------------- state

def snap(status=None, vm="cp"):
    obj = {"metadata": {"name": "s", "namespace": "ns"},
           "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize("status, state", [
    (None, logic.PENDING),
    ({}, logic.PENDING),
    ({"phase": "InProgress", "readyToUse": False}, logic.PENDING),
    ({"phase": "Succeeded", "readyToUse": True}, logic.READY),
    ({"phase": "Failed", "readyToUse": False}, logic.FAILED),
    ({"phase": "InProgress", "conditions": [{"type": "Failure", "status": "True", "message": "x"}]}, logic.FAILED),
    ({"phase": "InProgress", "conditions": [{"type": "Failure", "status": "False"}]}, logic.PENDING),
])
def test_snapshot_state(status, state):
    assert logic.snapshot_state(snap(status)) == state


def test_describe_snapshot_quotes_conditions_and_error_once():
    obj = snap({"phase": "Failed", "readyToUse": False, "error": {"message": "disk on fire"},
                "conditions": [{"type": "Progressing", "status": "False", "reason": "Operation failed"},
                               {"type": "Failure", "status": "True", "reason": "disk on fire", "message": "disk on fire"}]})
    text = logic.describe_snapshot(obj)
    assert text.startswith("phase Failed, readyToUse False; conditions: ")
    assert "Progressing=False (Operation failed)" in text
    assert "Failure=True: disk on fire" in text
    assert text.count("disk on fire") == 1


def test_describe_snapshot_adds_error_missing_from_conditions():
    text = logic.describe_snapshot(snap({"phase": "Failed", "error": {"message": "quiesce failed"}}))
    assert "error: quiesce failed" in text
    assert "no conditions reported" in text


def test_describe_missing_objects():
    assert logic.describe_snapshot(None) == "the snapshot does not exist"
    assert logic.describe_restore(None) == "the restore does not exist"


@pytest.mark.parametrize("status, state", [
    (None, logic.PENDING),
    ({"complete": False}, logic.PENDING),
    ({"complete": True}, logic.READY),
    ({"complete": False, "conditions": [{"type": "Failure", "status": "True", "message": "Restore target not ready"}]}, logic.FAILED),
    ({"complete": False, "conditions": [{"type": "Ready", "status": "False", "message": "VMSnapshot ns/s not ready"}]}, logic.PENDING),
])
def test_restore_state(status, state):
    obj = {"metadata": {"name": "r"}, "spec": {}}
    if status is not None:
        obj["status"] = status
    assert logic.restore_state(obj) == state


def test_snapshot_source_and_restore_target():
    assert logic.snapshot_source(snap(vm="wk")) == "wk"
    other = snap()
    other["spec"]["source"]["kind"] = "VirtualMachinePool"
    assert logic.snapshot_source(other) is None
    restore = logic.restore_definition("r", "ns", "cp", "cp-snap", "Always")
    assert logic.restore_target(restore) == ("cp", "cp-snap")


# ---------------------------------------------------------------- run strategy

@pytest.mark.parametrize("spec, strategy", [
    ({"runStrategy": "Always"}, "Always"),
    ({"runStrategy": "Manual"}, "Manual"),
    ({"running": True}, "Always"),
    ({"running": False}, "Halted"),
    ({}, "Halted"),
])
def test_run_strategy(spec, strategy):
    assert logic.run_strategy({"spec": spec}) == strategy


@pytest.mark.parametrize("spec, strategy, patch", [
    ({"runStrategy": "Always"}, "Halted", {"spec": {"runStrategy": "Halted"}}),
    ({"running": True}, "Halted", {"spec": {"running": False}}),
    ({"running": False}, "Always", {"spec": {"running": True}}),
    ({"running": False}, "RerunOnFailure", {"spec": {"running": None, "runStrategy": "RerunOnFailure"}}),
    ({}, "Always", {"spec": {"runStrategy": "Always"}}),
])
def test_run_strategy_patch(spec, strategy, patch):
    assert logic.run_strategy_patch({"spec": spec}, strategy) == patch


@pytest.mark.parametrize("after, previous, desired", [
    ("previous", "Always", "Always"),
    ("previous", "Halted", "Halted"),
    ("previous", "Manual", "Manual"),
    ("previous", None, "Halted"),
    ("running", "Halted", "Always"),
    ("running", "RerunOnFailure", "RerunOnFailure"),
    ("running", "Manual", "Always"),
    ("halted", "Always", "Halted"),
])
def test_desired_run_strategy(after, previous, desired):
    assert logic.desired_run_strategy(after, previous) == desired


def test_desired_run_strategy_rejects_unknown():
    with pytest.raises(GhostError) as err:
        logic.desired_run_strategy("paused", "Always")
    assert err.value.option == "run_after_restore"


# ---------------------------------------------------------------- builders

def test_snapshot_definition():
    definition = logic.snapshot_definition("cp-snap", "lab", "cp", labels={"golden": True, "n": 1},
                                           annotations={"note": "x"}, failure_deadline=600)
    assert definition == {
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineSnapshot",
        "metadata": {"name": "cp-snap", "namespace": "lab", "labels": {"golden": "true", "n": "1"},
                     "annotations": {"note": "x"}},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "cp"},
                 "failureDeadline": "10m0s"},
    }


def test_snapshot_definition_minimal_has_no_deadline_or_labels():
    definition = logic.snapshot_definition("s", "ns", "vm")
    assert "failureDeadline" not in definition["spec"]
    assert set(definition["metadata"]) == {"name", "namespace"}


def test_label_values_must_be_scalars():
    with pytest.raises(GhostError) as err:
        logic.snapshot_definition("s", "ns", "vm", labels={"a": {"b": 1}})
    assert err.value.option == "labels"


def test_restore_definition():
    definition = logic.restore_definition("cp-cp-snap", "lab", "cp", "cp-snap", "Always",
                                          target_readiness_policy="StopTarget", volume_restore_policy="InPlace")
    assert definition == {
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineRestore",
        "metadata": {"name": "cp-cp-snap", "namespace": "lab",
                     "annotations": {"ghost.infra/run-strategy-before-restore": "Always"}},
        "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "cp"},
                 "virtualMachineSnapshotName": "cp-snap",
                 "targetReadinessPolicy": "StopTarget",
                 "volumeRestorePolicy": "InPlace"},
    }
    assert "targetReadinessPolicy" not in logic.restore_definition("r", "ns", "vm", "s", "Halted")["spec"]


def test_metadata_patch_adds_only_what_differs():
    existing = {"metadata": {"labels": {"a": "1", "keep": "x"}, "annotations": {"n": "y"}}}
    assert logic.metadata_patch(existing, {"a": "1"}, {"n": "y"}) is None
    assert logic.metadata_patch(existing, None, None) is None
    assert logic.metadata_patch(existing, {"a": "2", "b": 3}, {"n": "y"}) == {"metadata": {"labels": {"a": "2", "b": "3"}}}
    assert logic.metadata_patch({"metadata": {}}, None, {"z": "1"}) == {"metadata": {"annotations": {"z": "1"}}}


def test_object_view_drops_status_and_server_fields():
    meta = {"name": "n", "namespace": "ns", "uid": "u", "resourceVersion": "1", "managedFields": [{}], "labels": {"a": "b"}}
    obj = {"apiVersion": "v", "kind": "K", "metadata": meta, "spec": {"x": 1}, "status": {"phase": "Succeeded"}}
    assert logic.object_view(obj) == {"apiVersion": "v", "kind": "K",
                                      "metadata": {"name": "n", "namespace": "ns", "labels": {"a": "b"}}, "spec": {"x": 1}}
    assert logic.object_view(None) == {}


# ---------------------------------------------------------------- results

def test_snapshot_summary():
    obj = snap({"phase": "Succeeded", "readyToUse": True, "creationTime": "2025-01-01T00:00:00Z",
                "indications": ["Online", "NoGuestAgent"], "conditions": [{"type": "Ready", "status": "True"}],
                "virtualMachineSnapshotContentName": "vmsnapshot-content-1"})
    assert logic.snapshot_summary(obj) == {
        "name": "s", "namespace": "ns", "vm_name": "cp", "phase": "Succeeded", "ready_to_use": True,
        "creation_time": "2025-01-01T00:00:00Z", "indications": ["Online", "NoGuestAgent"],
        "conditions": [{"type": "Ready", "status": "True"}], "content_name": "vmsnapshot-content-1",
    }
    fresh = logic.snapshot_summary(snap())
    assert fresh["phase"] is None and fresh["ready_to_use"] is False and fresh["indications"] == []
    assert logic.snapshot_summary(None) == {}


def test_restore_summary():
    obj = logic.restore_definition("r", "ns", "cp", "cp-snap", "Always")
    obj["status"] = {"complete": True, "restoreTime": "2025-01-01T00:00:00Z", "conditions": []}
    assert logic.restore_summary(obj, "Always") == {
        "name": "r", "namespace": "ns", "vm_name": "cp", "snapshot_name": "cp-snap", "complete": True,
        "restore_time": "2025-01-01T00:00:00Z", "conditions": [], "vm_run_strategy": "Always",
    }
    assert logic.restore_summary(None, "Always") == {}


def test_recorded_run_strategy():
    assert logic.recorded_run_strategy(logic.restore_definition("r", "ns", "vm", "s", "RerunOnFailure")) == "RerunOnFailure"
    assert logic.recorded_run_strategy({"metadata": {"annotations": None}}) is None
    assert logic.recorded_run_strategy({"metadata": {}}) is None
    assert logic.recorded_run_strategy(None) is None


def test_describe_restore_with_kubevirt_shaped_failure():
    # KubeVirt's newFailureCondition puts the text in ``reason`` and leaves ``message`` empty.
    obj = {"status": {"complete": False, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "Operation failed"},
        {"type": "Failure", "status": "True", "reason": "Restore target failed to be ready within 5m0s"},
        {"type": "Ready", "status": "False", "reason": "Operation failed"}]}}
    assert logic.restore_state(obj) == logic.FAILED
    assert logic.describe_restore(obj) == (
        "complete False; conditions: Progressing=False (Operation failed); "
        "Failure=True (Restore target failed to be ready within 5m0s); Ready=False (Operation failed)")
