# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""snapshot_spec: the snapshot tree as entries, finding by name, the plan of each state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import snapshot_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

ON, OFF, SUSPENDED = "poweredOn", "poweredOff", "suspended"


def node(moid, name, sid, children=(), state=OFF, created="2025-01-01T12:00:00.123456789Z", description=""):
    """A VirtualMachineSnapshotTree as the raw reader gives it (text leaves)."""
    out = {"_type": "VirtualMachineSnapshotTree", "snapshot": MoRef("VirtualMachineSnapshot", moid),
           "vm": MoRef("VirtualMachine", "vm-1"), "name": name, "id": str(sid), "description": description,
           "createTime": created, "state": state, "quiesced": "false", "replaySupported": "false"}
    if children:
        out["childSnapshotList"] = list(children) if len(children) > 1 else children[0]
    return out


def tree(current="snapshot-3"):
    """golden (1) -> [patched (2) -> [test (3)], other (4)], and a second root spare (5)."""
    golden = node("snapshot-1", "golden", 1, children=[
        node("snapshot-2", "patched", 2, children=[node("snapshot-3", "test", 3, state=ON)]),
        node("snapshot-4", "other", 4)])
    return {"_type": "VirtualMachineSnapshotInfo", "currentSnapshot": MoRef("VirtualMachineSnapshot", current),
            "rootSnapshotList": [golden, node("snapshot-5", "spare", 5)]}


def params(**overrides):
    base = {"vm_name": "web1", "state": "present", "name": "golden", "description": None, "memory": False,
            "quiesce": False, "remove_children": False, "all": False, "power_on": False}
    base.update(overrides)
    return base


# -- the tree --------------------------------------------------------------------------------

def test_flatten_depth_first_with_parents_and_current():
    entries = spec.flatten(tree())
    assert [(e["name"], e["id"], e["parent_id"], e["current"]) for e in entries] == [
        ("golden", 1, None, False), ("patched", 2, 1, False), ("test", 3, 2, True), ("other", 4, 1, False),
        ("spare", 5, None, False)]
    assert entries[2] == {"name": "test", "id": 3, "moid": "snapshot-3", "description": "",
                          "created": "2025-01-01T12:00:00Z", "power_state": ON, "quiesced": False,
                          "current": True, "parent_id": 2}
    assert all(sorted(e) == sorted(spec.ENTRY_FIELDS) for e in entries)


def test_flatten_reads_the_typed_form_pyvmomi_gives_the_same():
    utc = datetime.timezone.utc
    typed = {"_type": "VirtualMachineSnapshotInfo", "currentSnapshot": MoRef("VirtualMachineSnapshot", "snapshot-2"),
             "rootSnapshotList": [{"snapshot": MoRef("VirtualMachineSnapshot", "snapshot-1"), "name": "a", "id": 1,
                                   "createTime": datetime.datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=utc),
                                   "state": OFF, "quiesced": False, "childSnapshotList": [
                                       {"snapshot": MoRef("VirtualMachineSnapshot", "snapshot-2"), "name": "b",
                                        "id": 2, "description": "x", "quiesced": True, "state": ON,
                                        "createTime": datetime.datetime(2025, 1, 1, 13, 0, tzinfo=utc),
                                        "childSnapshotList": []}]}]}
    raw = {"_type": "VirtualMachineSnapshotInfo", "currentSnapshot": MoRef("VirtualMachineSnapshot", "snapshot-2"),
           "rootSnapshotList": {"_type": None, "snapshot": MoRef("VirtualMachineSnapshot", "snapshot-1"),
                                "name": "a", "id": "1", "createTime": "2025-01-01T12:00:00.123456789Z",
                                "description": "", "state": OFF, "quiesced": "false",
                                "childSnapshotList": {"_type": None, "snapshot": MoRef("VirtualMachineSnapshot",
                                                                                       "snapshot-2"),
                                                      "name": "b", "id": "2", "description": "x", "quiesced": "true",
                                                      "state": ON, "createTime": "2025-01-01T13:00:00Z"}}}
    assert spec.flatten(typed) == spec.flatten(raw)
    assert [e["quiesced"] for e in spec.flatten(raw)] == [False, True]


def test_no_snapshots_is_an_empty_tree():
    assert spec.flatten(None) == []
    assert spec.flatten({"_type": "VirtualMachineSnapshotInfo"}) == []


@pytest.mark.parametrize("value, expected", [
    ("2025-01-01T12:00:00Z", "2025-01-01T12:00:00Z"),
    ("2025-01-01T12:00:00.31542006Z", "2025-01-01T12:00:00Z"),
    ("2025-01-01T14:00:00+02:00", "2025-01-01T12:00:00Z"),
    ("2025-01-01T12:00:00", "2025-01-01T12:00:00Z"),
    (datetime.datetime(2025, 1, 1, 7, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
     "2025-01-01T12:00:00Z"),
    ("yesterday", None),
    (None, None),
])
def test_created_is_utc_to_the_second(value, expected):
    assert spec.iso_utc(value) == expected


def test_paths_and_current_name():
    entries = spec.flatten(tree())
    assert spec.paths(entries) == ["golden", "golden/patched", "golden/patched/test", "golden/other", "spare"]
    assert spec.current_name(entries) == "test"
    assert spec.descendants(entries, 1) == {2, 3, 4}


def test_duplicate_names_are_an_error_naming_the_option():
    info = {"rootSnapshotList": [node("snapshot-1", "golden", 1, children=[node("snapshot-2", "golden", 2)])]}
    with pytest.raises(GhostError) as err:
        spec.find(spec.flatten(info), "golden")
    assert err.value.option == "name"
    assert "2 snapshots are named 'golden' (ids 1, 2)" in str(err.value)
    assert spec.find(spec.flatten(info), "missing") is None


# -- options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, option, text", [
    ({"state": "absent", "name": None}, "name", "required with state: absent, unless all: true"),
    ({"state": "present", "name": None}, "name", "required with state: present"),
    ({"state": "reverted", "name": None}, "name", "required with state: reverted"),
    ({"state": "absent", "all": True}, "all", "mutually exclusive"),
    ({"state": "present", "all": True}, "all", "only for state: absent"),
    ({"name": "  "}, "name", "must not be empty"),
    ({"vm_name": ""}, "vm_name", "must not be empty"),
    ({"vm_name": "lab/web1", "folder": "lab"}, "vm_name", "folder is set too"),
])
def test_bad_options_name_the_option(overrides, option, text):
    with pytest.raises(GhostError) as err:
        spec.check_params(params(**overrides))
    assert err.value.option == option
    assert text in str(err.value)
    assert str(err.value).startswith(option + ": ")


def test_good_options_pass():
    spec.check_params(params())
    spec.check_params(params(state="absent", name=None, all=True))
    spec.check_params(params(state="reverted", power_on=True))


# -- plans -----------------------------------------------------------------------------------

def test_present_creates_below_the_current_snapshot():
    entries = spec.flatten(tree())
    plan = spec.plan(entries, params(name="new", description="d", memory=True), power_state=ON)
    assert plan["action"] == "create" and plan["changes"] == ["create snapshot 'new'"]
    new = [e for e in plan["after"] if e["name"] == "new"][0]
    assert new == {"name": "new", "id": None, "moid": None, "description": "d", "created": None,
                   "power_state": ON, "quiesced": False, "current": True, "parent_id": 3}
    assert [e["name"] for e in plan["after"]] == ["golden", "patched", "test", "new", "other", "spare"]
    assert [e["name"] for e in plan["after"] if e["current"]] == ["new"]
    assert spec.paths(plan["after"])[3] == "golden/patched/test/new"


def test_present_without_memory_records_powered_off():
    plan = spec.plan([], params(memory=False), power_state=ON)
    assert plan["after"][0]["power_state"] == OFF and plan["after"][0]["parent_id"] is None
    plan = spec.plan([], params(memory=True), power_state=OFF)
    assert plan["after"][0]["power_state"] == OFF


def test_present_after_a_middle_snapshot_goes_after_its_subtree():
    entries = spec.flatten(tree(current="snapshot-1"))
    plan = spec.plan(entries, params(name="new"), power_state=OFF)
    assert [e["name"] for e in plan["after"]] == ["golden", "patched", "test", "other", "new", "spare"]
    assert plan["after"][4]["parent_id"] == 1


def test_present_when_it_exists_is_no_change():
    entries = spec.flatten(tree())
    plan = spec.plan(entries, params(name="other"), power_state=ON)
    assert plan["action"] is None and plan["changes"] == [] and plan["after"] == entries
    assert plan["target"]["id"] == 4 and plan["warnings"] == []


def test_present_with_another_description_warns_and_changes_nothing():
    plan = spec.plan(spec.flatten(tree()), params(name="other", description="new text"), power_state=ON)
    assert plan["action"] is None
    assert "only set when a snapshot is created" in plan["warnings"][0]


def test_absent_moves_children_up_and_current_to_the_parent():
    entries = spec.flatten(tree())
    plan = spec.plan(entries, params(state="absent", name="patched"), power_state=ON)
    assert plan["action"] == "remove" and plan["target"]["moid"] == "snapshot-2"
    assert [(e["name"], e["parent_id"], e["current"]) for e in plan["after"]] == [
        ("golden", None, False), ("test", 1, True), ("other", 1, False), ("spare", None, False)]
    plan = spec.plan(entries, params(state="absent", name="test"), power_state=ON)
    assert [e["name"] for e in plan["after"] if e["current"]] == ["patched"]


def test_absent_with_children_removes_the_subtree():
    entries = spec.flatten(tree())
    plan = spec.plan(entries, params(state="absent", name="golden", remove_children=True), power_state=ON)
    assert [e["name"] for e in plan["after"]] == ["spare"]
    assert plan["changes"] == ["remove snapshot 'golden' and the 3 below it"]
    assert not any(e["current"] for e in plan["after"])


def test_absent_when_missing_and_all_when_none_are_no_change():
    entries = spec.flatten(tree())
    assert spec.plan(entries, params(state="absent", name="gone"), power_state=ON)["action"] is None
    assert spec.plan([], params(state="absent", name=None, all=True), power_state=ON)["action"] is None
    plan = spec.plan(entries, params(state="absent", name=None, all=True), power_state=ON)
    assert plan["action"] == "remove_all" and plan["after"] == [] and plan["changes"] == [
        "remove every snapshot (golden, patched, test, other, spare)"]


def test_absent_with_duplicate_names_is_an_error():
    info = {"rootSnapshotList": [node("snapshot-1", "x", 1), node("snapshot-2", "x", 2)]}
    with pytest.raises(GhostError) as err:
        spec.plan(spec.flatten(info), params(state="absent", name="x"), power_state=OFF)
    assert err.value.option == "name"


def test_reverted_goes_to_the_recorded_power_state():
    entries = spec.flatten(tree())
    plan = spec.plan(entries, params(state="reverted", name="golden"), power_state=ON)
    assert plan["action"] == "revert" and plan["power_state"] == OFF
    assert plan["changes"] == ["revert to snapshot 'golden'", "power_state: poweredOn -> poweredOff"]
    assert [e["name"] for e in plan["after"] if e["current"]] == ["golden"]
    plan = spec.plan(entries, params(state="reverted", name="test"), power_state=ON)
    assert plan["power_state"] == ON and plan["changes"] == ["revert to snapshot 'test'"]


def test_reverted_with_power_on():
    plan = spec.plan(spec.flatten(tree()), params(state="reverted", name="golden", power_on=True), power_state=OFF)
    assert plan["power_state"] == ON
    assert plan["changes"] == ["revert to snapshot 'golden'", "power_state: poweredOff -> poweredOn"]


def test_reverted_to_a_missing_snapshot_lists_the_names():
    with pytest.raises(GhostError) as err:
        spec.plan(spec.flatten(tree()), params(state="reverted", name="nope"), power_state=ON)
    assert err.value.option == "name"
    assert "found: golden, other, patched, spare, test" in str(err.value)
    with pytest.raises(GhostError) as err:
        spec.plan([], params(state="reverted", name="nope"), power_state=ON)
    assert "(found: none)" in str(err.value)


@pytest.mark.parametrize("current, wanted, steps", [
    (ON, ON, ()), (OFF, ON, ("power_on",)), (ON, OFF, ("power_off",)), (OFF, SUSPENDED, ("power_on", "suspend")),
    (ON, SUSPENDED, ("suspend",)), (SUSPENDED, ON, ("power_on",)), (SUSPENDED, OFF, ("power_off",)), (ON, None, ()),
])
def test_power_steps(current, wanted, steps):
    assert spec.power_steps(current, wanted) == steps


def test_views():
    entries = spec.flatten(tree())
    assert spec.diff_side(entries, ON) == {"snapshots": spec.paths(entries), "current": "test", "power_state": ON}
    assert spec.vm_view({"name": "web1", "moid": "vm-1", "parent": "x"}, OFF) == {
        "name": "web1", "moid": "vm-1", "power_state": OFF}
