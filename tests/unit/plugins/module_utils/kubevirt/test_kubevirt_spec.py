# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt import spec
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import default_restore_name, validate_name

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("name", ["a", "cp", "cp-snap", "vm-01", "0abc", "a" * 63])
def test_valid_names_pass(name):
    assert validate_name(name, "name") == name


@pytest.mark.parametrize("name, why", [
    ("", "non-empty"),
    (None, "non-empty"),
    ("a" * 64, "64 characters long"),
    ("CP", "DNS-1123"),
    ("-cp", "DNS-1123"),
    ("cp-", "DNS-1123"),
    ("cp.snap", "DNS-1123"),
    ("cp_snap", "DNS-1123"),
    ("cp snap", "DNS-1123"),
])
def test_invalid_names_name_the_option(name, why):
    with pytest.raises(GhostError) as err:
        validate_name(name, "snapshot_name")
    assert err.value.option == "snapshot_name"
    assert why in str(err.value)
    assert str(err.value).startswith("snapshot_name: ")


def test_default_restore_name_is_readable_when_short():
    assert default_restore_name("cp", "cp-snap") == "cp-cp-snap"


def test_default_restore_name_at_exactly_63_is_kept():
    vm, snap = "v" * 31, "s" * 31
    assert default_restore_name(vm, snap) == "%s-%s" % (vm, snap)


@pytest.mark.parametrize("vm, snap", [
    ("v" * 63, "s" * 63),
    ("vm-" * 20 + "x", "golden-snapshot-of-the-control-plane"),
    ("a" * 40, "-".join(["b"] * 20)),   # truncation lands on a '-'
])
def test_long_default_restore_names_fit_and_are_valid(vm, snap):
    name = default_restore_name(vm, snap)
    assert len(name) <= 63
    assert LABEL.match(name)
    assert validate_name(name, "name") == name
    assert default_restore_name(vm, snap) == name  # stable


def test_long_default_restore_names_differ_when_only_the_tail_differs():
    vm = "control-plane-" * 4
    vm = vm.rstrip("-")
    one = default_restore_name(vm, "golden-snapshot-one")
    two = default_restore_name(vm, "golden-snapshot-two")
    assert one != two
    assert one[:40] == two[:40]


def test_long_default_restore_name_separates_vm_and_snapshot():
    # Same joined text, different split: the hash must tell them apart.
    left = default_restore_name("a" * 40 + "-b", "c" * 30)
    right = default_restore_name("a" * 40, "b-" + "c" * 30)
    assert left != right


# ---------------------------------------------------------------- durations

@pytest.mark.parametrize("value, seconds", [
    (300, 300), ("300", 300), ("5m", 300), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400),
    ("500ms", 0.5), ("0", 0), ("0s", 0), ("2m30s", 150), (" 10m ", 600), (1.5, 1.5), ("1m0.5s", 60.5),
])
def test_parse_duration(value, seconds):
    assert spec.parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "m", "5x", "-5m", "5m-", "1d", "five minutes", True, None, -1, "1h30"])
def test_parse_duration_rejects(value):
    with pytest.raises(GhostError) as err:
        spec.parse_duration(value)
    assert err.value.option == "failure_deadline"


@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (0.5, "500ms"), (1, "1s"), (1.5, "1.5s"), (90, "1m30s"), (300, "5m0s"),
    (3600, "1h0m0s"), (5400, "1h30m0s"), (3661.25, "1h1m1.25s"),
])
def test_format_duration_is_go_canonical(seconds, text):
    assert spec.format_duration(seconds) == text
    assert spec.parse_duration(text) == pytest.approx(seconds)


# ---------------------------------------------------------------- state

def snap(status=None, vm="cp"):
    obj = {"metadata": {"name": "s", "namespace": "ns"},
           "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize("status, state", [
    (None, spec.PENDING),
    ({}, spec.PENDING),
    ({"phase": "InProgress", "readyToUse": False}, spec.PENDING),
    ({"phase": "Succeeded", "readyToUse": True}, spec.READY),
    ({"phase": "Failed", "readyToUse": False}, spec.FAILED),
    ({"phase": "InProgress", "conditions": [{"type": "Failure", "status": "True", "message": "x"}]}, spec.FAILED),
    ({"phase": "InProgress", "conditions": [{"type": "Failure", "status": "False"}]}, spec.PENDING),
])
def test_snapshot_state(status, state):
    assert spec.snapshot_state(snap(status)) == state


def test_describe_snapshot_quotes_conditions_and_error_once():
    obj = snap({"phase": "Failed", "readyToUse": False, "error": {"message": "disk on fire"},
                "conditions": [{"type": "Progressing", "status": "False", "reason": "Operation failed"},
                               {"type": "Failure", "status": "True", "reason": "disk on fire", "message": "disk on fire"}]})
    text = spec.describe_snapshot(obj)
    assert text.startswith("phase Failed, readyToUse False; conditions: ")
    assert "Progressing=False (Operation failed)" in text
    assert "Failure=True: disk on fire" in text
    assert text.count("disk on fire") == 1


def test_describe_snapshot_adds_error_missing_from_conditions():
    text = spec.describe_snapshot(snap({"phase": "Failed", "error": {"message": "quiesce failed"}}))
    assert "error: quiesce failed" in text
    assert "no conditions reported" in text


def test_describe_missing_objects():
    assert spec.describe_snapshot(None) == "the snapshot does not exist"
    assert spec.describe_restore(None) == "the restore does not exist"


@pytest.mark.parametrize("status, state", [
    (None, spec.PENDING),
    ({"complete": False}, spec.PENDING),
    ({"complete": True}, spec.READY),
    ({"complete": False, "conditions": [{"type": "Failure", "status": "True", "message": "Restore target not ready"}]}, spec.FAILED),
    ({"complete": False, "conditions": [{"type": "Ready", "status": "False", "message": "VMSnapshot ns/s not ready"}]}, spec.PENDING),
])
def test_restore_state(status, state):
    obj = {"metadata": {"name": "r"}, "spec": {}}
    if status is not None:
        obj["status"] = status
    assert spec.restore_state(obj) == state


def test_snapshot_source_and_restore_target():
    assert spec.snapshot_source(snap(vm="wk")) == "wk"
    other = snap()
    other["spec"]["source"]["kind"] = "VirtualMachinePool"
    assert spec.snapshot_source(other) is None
    restore = spec.restore_definition("r", "ns", "cp", snapshot_name="cp-snap")
    assert spec.restore_target(restore) == ("cp", "cp-snap")


# ---------------------------------------------------------------- run strategy

@pytest.mark.parametrize("vm_spec, strategy", [
    ({"runStrategy": "Always"}, "Always"),
    ({"runStrategy": "Manual"}, "Manual"),
    ({"running": True}, "Always"),
    ({"running": False}, "Halted"),
    ({}, "Halted"),
])
def test_run_strategy(vm_spec, strategy):
    assert spec.run_strategy({"spec": vm_spec}) == strategy


@pytest.mark.parametrize("vm_spec, strategy, patch", [
    ({"runStrategy": "Always"}, "Halted", {"spec": {"runStrategy": "Halted"}}),
    ({"running": True}, "Halted", {"spec": {"running": False}}),
    ({"running": False}, "Always", {"spec": {"running": True}}),
    ({"running": False}, "RerunOnFailure", {"spec": {"running": None, "runStrategy": "RerunOnFailure"}}),
    ({}, "Always", {"spec": {"runStrategy": "Always"}}),
])
def test_run_strategy_patch(vm_spec, strategy, patch):
    assert spec.run_strategy_patch({"spec": vm_spec}, strategy) == patch


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
    assert spec.desired_run_strategy(after, previous) == desired


def test_desired_run_strategy_rejects_unknown():
    with pytest.raises(GhostError) as err:
        spec.desired_run_strategy("paused", "Always")
    assert err.value.option == "run_after_restore"


# ---------------------------------------------------------------- builders

def test_snapshot_definition():
    definition = spec.snapshot_definition("cp-snap", "lab", "cp", labels={"golden": True, "n": 1},
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
    definition = spec.snapshot_definition("s", "ns", "vm")
    assert "failureDeadline" not in definition["spec"]
    assert set(definition["metadata"]) == {"name", "namespace"}


def test_label_values_must_be_scalars():
    with pytest.raises(GhostError) as err:
        spec.snapshot_definition("s", "ns", "vm", labels={"a": {"b": 1}})
    assert err.value.option == "labels"


def test_restore_definition():
    definition = spec.restore_definition("cp-cp-snap", "lab", "cp", snapshot_name="cp-snap",
                                         target_readiness_policy="StopTarget", volume_restore_policy="InPlace")
    assert definition == {
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineRestore",
        "metadata": {"name": "cp-cp-snap", "namespace": "lab"},
        "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "cp"},
                 "virtualMachineSnapshotName": "cp-snap",
                 "targetReadinessPolicy": "StopTarget",
                 "volumeRestorePolicy": "InPlace"},
    }
    assert "targetReadinessPolicy" not in spec.restore_definition("r", "ns", "vm", snapshot_name="s")["spec"]


def test_metadata_patch_adds_only_what_differs():
    existing = {"metadata": {"labels": {"a": "1", "keep": "x"}, "annotations": {"n": "y"}}}
    assert spec.metadata_patch(existing, {"a": "1"}, {"n": "y"}) is None
    assert spec.metadata_patch(existing, None, None) is None
    assert spec.metadata_patch(existing, {"a": "2", "b": 3}, {"n": "y"}) == {"metadata": {"labels": {"a": "2", "b": "3"}}}
    assert spec.metadata_patch({"metadata": {}}, None, {"z": "1"}) == {"metadata": {"annotations": {"z": "1"}}}


def test_object_view_drops_status_and_server_fields():
    meta = {"name": "n", "namespace": "ns", "uid": "u", "resourceVersion": "1", "managedFields": [{}], "labels": {"a": "b"}}
    obj = {"apiVersion": "v", "kind": "K", "metadata": meta, "spec": {"x": 1}, "status": {"phase": "Succeeded"}}
    assert spec.object_view(obj) == {"apiVersion": "v", "kind": "K",
                                     "metadata": {"name": "n", "namespace": "ns", "labels": {"a": "b"}}, "spec": {"x": 1}}
    assert spec.object_view(None) == {}


# ---------------------------------------------------------------- results

def test_snapshot_summary():
    obj = snap({"phase": "Succeeded", "readyToUse": True, "creationTime": "2025-01-01T00:00:00Z",
                "indications": ["Online", "NoGuestAgent"], "conditions": [{"type": "Ready", "status": "True"}],
                "virtualMachineSnapshotContentName": "vmsnapshot-content-1"})
    assert spec.snapshot_summary(obj) == {
        "name": "s", "namespace": "ns", "vm_name": "cp", "phase": "Succeeded", "ready_to_use": True,
        "creation_time": "2025-01-01T00:00:00Z", "indications": ["Online", "NoGuestAgent"],
        "conditions": [{"type": "Ready", "status": "True"}], "content_name": "vmsnapshot-content-1",
    }
    fresh = spec.snapshot_summary(snap())
    assert fresh["phase"] is None and fresh["ready_to_use"] is False and fresh["indications"] == []
    assert spec.snapshot_summary(None) == {}


def test_restore_summary():
    obj = spec.restore_definition("r", "ns", "cp", snapshot_name="cp-snap")
    obj["status"] = {"complete": True, "restoreTime": "2025-01-01T00:00:00Z", "conditions": []}
    assert spec.restore_summary(obj, "Always") == {
        "name": "r", "namespace": "ns", "vm_name": "cp", "snapshot_name": "cp-snap", "complete": True,
        "restore_time": "2025-01-01T00:00:00Z", "conditions": [], "vm_run_strategy": "Always",
    }
    assert spec.restore_summary(None, "Always") == {}


RECORD = "ghost.infra/run-strategy-before-restore"


def recorded_vm(strategy="Always", recorded=None, legacy=False):
    vm = {"metadata": {"name": "cp"}, "spec": {"running": strategy == "Always"} if legacy else {"runStrategy": strategy}}
    if recorded:
        vm["metadata"]["annotations"] = {RECORD: recorded, "other": "kept"}
    return vm


def test_recorded_run_strategy_is_read_from_the_vm():
    assert spec.recorded_run_strategy(recorded_vm("Halted", recorded="RerunOnFailure")) == "RerunOnFailure"
    assert spec.recorded_run_strategy(recorded_vm()) is None
    assert spec.recorded_run_strategy({"metadata": {"annotations": None}}) is None
    assert spec.recorded_run_strategy({"metadata": {}}) is None
    assert spec.recorded_run_strategy(None) is None


@pytest.mark.parametrize("vm, halt, patch", [
    # the first change of a reset: the record and the stop in one patch
    (recorded_vm("Always"), True, {"spec": {"runStrategy": "Halted"}, "metadata": {"annotations": {RECORD: "Always"}}}),
    (recorded_vm("Always", legacy=True), True, {"spec": {"running": False}, "metadata": {"annotations": {RECORD: "Always"}}}),
    # nothing to stop (Halted already, or left to KubeVirt's policy): the record alone
    (recorded_vm("Halted"), True, {"metadata": {"annotations": {RECORD: "Always"}}}),
    (recorded_vm("Always"), False, {"metadata": {"annotations": {RECORD: "Always"}}}),
    # an earlier run recorded it: that record stays as it is
    (recorded_vm("Halted", recorded="Manual"), True, None),
    (recorded_vm("Manual", recorded="Always"), True, {"spec": {"runStrategy": "Halted"}}),
])
def test_record_patch(vm, halt, patch):
    assert spec.record_patch(vm, "Always", halt=halt) == patch


@pytest.mark.parametrize("vm, strategy, patch", [
    (recorded_vm("Halted", recorded="Always"), "Always",
     {"spec": {"runStrategy": "Always"}, "metadata": {"annotations": {RECORD: None}}}),
    (recorded_vm("Halted", recorded="Always", legacy=True), "Always",
     {"spec": {"running": True}, "metadata": {"annotations": {RECORD: None}}}),
    (recorded_vm("Halted", recorded="Halted"), "Halted", {"metadata": {"annotations": {RECORD: None}}}),
    (recorded_vm("Halted"), "Manual", {"spec": {"runStrategy": "Manual"}}),
    (recorded_vm("Always"), "Always", None),
])
def test_settle_patch(vm, strategy, patch):
    assert spec.settle_patch(vm, strategy) == patch


@pytest.mark.parametrize("value", [0, -1, -0.5, True, None, "600"])
def test_wait_timeout_must_be_positive(value):
    with pytest.raises(GhostError) as err:
        spec.validate_wait_timeout(value)
    assert err.value.option == "wait_timeout"
    assert str(err.value).startswith("wait_timeout: must be a positive number of seconds, got ")


def test_wait_timeout_positive_is_kept():
    assert spec.validate_wait_timeout(1) == 1


def test_describe_restore_with_kubevirt_shaped_failure():
    # KubeVirt's newFailureCondition puts the text in ``reason`` and leaves ``message`` empty.
    obj = {"status": {"complete": False, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "Operation failed"},
        {"type": "Failure", "status": "True", "reason": "Restore target failed to be ready within 5m0s"},
        {"type": "Ready", "status": "False", "reason": "Operation failed"}]}}
    assert spec.restore_state(obj) == spec.FAILED
    assert spec.describe_restore(obj) == (
        "complete False; conditions: Progressing=False (Operation failed); "
        "Failure=True (Restore target failed to be ready within 5m0s); Ready=False (Operation failed)")
