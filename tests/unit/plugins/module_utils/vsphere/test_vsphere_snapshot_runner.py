# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""snapshot_runner against a fake client that keeps a snapshot tree the way vSphere does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import snapshot_runner as runner
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

ON, OFF = "poweredOn", "poweredOff"
READS = ["inventory", "read_snapshots"]


class FakeSnapshotClient:
    """Plays vSphere for the runner: VMs with a power state and a snapshot tree (plain form).

    ``revert_sets_power`` is what vSphere does (a revert leaves the VM as the snapshot recorded
    it); False is what the simulator does (the power state is left alone)."""

    def __init__(self, *, revert_sets_power=True):
        self.calls = []
        self.closed = False
        self.revert_sets_power = revert_sets_power
        self.next_id = 1
        self.inv = {
            "datacenters": {"datacenter-2": {"name": "DC0", "parent": "group-1", "vm_folder": "group-3"}},
            # The root folder is not in a ContainerView of itself, so not in the inventory.
            "folders": {"group-3": {"name": "vm", "parent": "datacenter-2"},
                        "group-4": {"name": "lab", "parent": "group-3"}},
            "networks": {},
            "vms": [{"moid": "vm-1", "name": "web1", "parent": "group-3", "template": False},
                    {"moid": "vm-2", "name": "tmpl", "parent": "group-3", "template": True},
                    {"moid": "vm-3", "name": "twin", "parent": "group-3", "template": False},
                    {"moid": "vm-4", "name": "twin", "parent": "group-4", "template": False}],
        }
        self.power = {"vm-1": ON, "vm-3": OFF, "vm-4": OFF}
        self.roots = {"vm-1": [], "vm-3": [], "vm-4": []}
        self.current = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True
        return False

    # -- helpers --------------------------------------------------------------------------------

    def _nodes(self, moid):
        stack, out = list(self.roots[moid]), []
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node["childSnapshotList"])
        return out

    def _node(self, snapshot_moid):
        for vm in self.roots:
            for node in self._nodes(vm):
                if node["snapshot"].value == snapshot_moid:
                    return vm, node
        raise GhostError("ManagedObjectNotFound: %s" % snapshot_moid)

    def _parent_list(self, vm, node):
        for candidate in self._nodes(vm):
            if node in candidate["childSnapshotList"]:
                return candidate, candidate["childSnapshotList"]
        return None, self.roots[vm]

    def add(self, vm, name, *, state=OFF, description="", quiesced=False):
        """A snapshot below the current one, as CreateSnapshot_Task makes it; its moid."""
        moid = "snapshot-%d" % self.next_id
        node = {"_type": "VirtualMachineSnapshotTree", "snapshot": MoRef("VirtualMachineSnapshot", moid),
                "name": name, "id": str(self.next_id), "description": description, "state": state,
                "quiesced": "true" if quiesced else "false",
                "createTime": "2025-01-01T12:00:%02d.5Z" % self.next_id, "childSnapshotList": []}
        self.next_id += 1
        if self.current.get(vm):
            self._node(self.current[vm])[1]["childSnapshotList"].append(node)
        else:
            self.roots[vm].append(node)
        self.current[vm] = moid
        return moid

    # -- the client's interface -----------------------------------------------------------------

    def inventory(self):
        self.calls.append("inventory")
        return copy.deepcopy(self.inv)

    def read_snapshots(self, moid):
        self.calls.append("read_snapshots")
        if moid not in self.power:
            return None
        info = None
        if self.roots[moid]:
            info = {"_type": "VirtualMachineSnapshotInfo", "rootSnapshotList": copy.deepcopy(self.roots[moid]),
                    "currentSnapshot": MoRef("VirtualMachineSnapshot", self.current[moid])}
        name = next(v["name"] for v in self.inv["vms"] if v["moid"] == moid)
        return {"name": name, "power_state": self.power[moid], "snapshot": info}

    def create_snapshot(self, moid, *, vm_name, name, description, memory, quiesce):
        self.calls.append(("create_snapshot", moid, name, description, memory, quiesce))
        self.add(moid, name, state=self.power[moid] if memory else OFF, description=description or "",
                 quiesced=quiesce)

    def remove_snapshot(self, snapshot_moid, *, vm_name, name, remove_children):
        self.calls.append(("remove_snapshot", snapshot_moid, remove_children))
        vm, node = self._node(snapshot_moid)
        parent, siblings = self._parent_list(vm, node)
        index = siblings.index(node)
        siblings[index:index + 1] = [] if remove_children else node["childSnapshotList"]
        if self.current.get(vm) == snapshot_moid or (remove_children and self.current.get(vm) not in
                                                     [n["snapshot"].value for n in self._nodes(vm)]):
            self.current[vm] = parent["snapshot"].value if parent else None

    def remove_all_snapshots(self, moid, vm_name):
        self.calls.append(("remove_all_snapshots", moid))
        self.roots[moid], self.current[moid] = [], None

    def revert_to_snapshot(self, snapshot_moid, *, vm_name, name):
        self.calls.append(("revert_to_snapshot", snapshot_moid))
        vm, node = self._node(snapshot_moid)
        self.current[vm] = snapshot_moid
        if self.revert_sets_power:
            self.power[vm] = node["state"]

    def power_on(self, moid, name):
        self.calls.append(("power_on", moid))
        self.power[moid] = ON

    def power_off(self, moid, name):
        self.calls.append(("power_off", moid))
        self.power[moid] = OFF

    def suspend(self, moid, name):
        self.calls.append(("suspend", moid))
        self.power[moid] = "suspended"


def params(**overrides):
    base = {"hostname": "vc", "username": "u", "password": "p", "port": 443, "validate_certs": False,
            "vm_name": "web1", "datacenter": None, "folder": None, "state": "present", "name": "golden",
            "description": None, "memory": False, "quiesce": False, "remove_children": False, "all": False,
            "power_on": False}
    base.update(overrides)
    return base


def writes(client):
    return [c for c in client.calls if isinstance(c, tuple)]


def test_check_mode_changes_nothing_and_predicts():
    client = FakeSnapshotClient()
    result = runner.ensure_snapshot(client, params(description="d"), check_mode=True, diff=True)
    assert result["changed"] is True and result["changes"] == ["create snapshot 'golden'"]
    assert client.calls == READS
    assert result["snapshot"]["name"] == "golden" and result["snapshot"]["id"] is None
    assert result["snapshot"]["description"] == "d" and result["snapshot"]["current"] is True
    assert result["diff"] == {"before": {"snapshots": [], "current": None, "power_state": ON},
                              "after": {"snapshots": ["golden"], "current": "golden", "power_state": ON}}


def test_create_then_rerun_is_unchanged():
    client = FakeSnapshotClient()
    created = runner.ensure_snapshot(client, params(description="d", memory=True, quiesce=True))
    assert writes(client) == [("create_snapshot", "vm-1", "golden", "d", True, True)]
    assert client.calls[-1] == "read_snapshots"  # the tree is read again after the change
    assert created["changed"] is True
    assert created["snapshot"] == {"name": "golden", "id": 1, "moid": "snapshot-1", "description": "d",
                                   "created": "2025-01-01T12:00:01Z", "power_state": ON, "quiesced": True,
                                   "current": True, "parent_id": None}
    assert created["vm"] == {"name": "web1", "moid": "vm-1", "power_state": ON}
    assert "diff" not in created
    client.calls[:] = []
    again = runner.ensure_snapshot(client, params(), diff=True)
    assert again["changed"] is False and again["changes"] == []
    assert client.calls == READS
    assert again["snapshots"] == created["snapshots"]
    assert again["diff"]["before"] == again["diff"]["after"]


def test_a_second_snapshot_goes_below_the_current_one():
    client = FakeSnapshotClient()
    runner.ensure_snapshot(client, params())
    result = runner.ensure_snapshot(client, params(name="patched"))
    assert [(e["name"], e["parent_id"], e["current"]) for e in result["snapshots"]] == [
        ("golden", None, False), ("patched", 1, True)]


@pytest.mark.parametrize("revert_sets_power", [True, False], ids=["vsphere", "simulator"])
def test_revert_ends_in_the_recorded_power_state(revert_sets_power):
    client = FakeSnapshotClient(revert_sets_power=revert_sets_power)
    golden = client.add("vm-1", "golden", state=OFF)
    client.add("vm-1", "later", state=ON)
    result = runner.ensure_snapshot(client, params(state="reverted"), diff=True)
    assert result["changed"] is True
    assert result["changes"] == ["revert to snapshot 'golden'", "power_state: poweredOn -> poweredOff"]
    expected = [("revert_to_snapshot", golden)] + ([] if revert_sets_power else [("power_off", "vm-1")])
    assert writes(client) == expected
    assert client.power["vm-1"] == OFF and result["vm"]["power_state"] == OFF
    assert result["snapshot"]["current"] is True and result["snapshot"]["name"] == "golden"
    assert result["diff"]["before"]["current"] == "later" and result["diff"]["after"]["current"] == "golden"


@pytest.mark.parametrize("revert_sets_power", [True, False], ids=["vsphere", "simulator"])
def test_revert_with_power_on(revert_sets_power):
    client = FakeSnapshotClient(revert_sets_power=revert_sets_power)
    client.add("vm-1", "golden", state=OFF)
    result = runner.ensure_snapshot(client, params(state="reverted", power_on=True))
    assert client.power["vm-1"] == ON and result["vm"]["power_state"] == ON
    # vSphere powered it off for the revert, so it is powered on again; the simulator left it on.
    assert (("power_on", "vm-1") in writes(client)) is revert_sets_power
    assert result["changes"] == ["revert to snapshot 'golden'"]  # it was on before and is on after


def test_revert_in_check_mode_touches_nothing():
    client = FakeSnapshotClient()
    client.add("vm-1", "golden", state=OFF)
    client.add("vm-1", "later", state=OFF)
    result = runner.ensure_snapshot(client, params(state="reverted", power_on=True), check_mode=True)
    assert result["changed"] is True and client.calls == READS
    assert client.current["vm-1"] == "snapshot-2" and result["vm"]["power_state"] == ON
    assert [e["name"] for e in result["snapshots"] if e["current"]] == ["golden"]


def test_absent_by_name_then_all_then_rerun():
    client = FakeSnapshotClient()
    for name in ("golden", "patched", "test"):
        client.add("vm-1", name)
    removed = runner.ensure_snapshot(client, params(state="absent", name="patched"))
    assert writes(client) == [("remove_snapshot", "snapshot-2", False)]
    assert removed["changed"] is True and removed["snapshot"] == {}
    assert [(e["name"], e["parent_id"]) for e in removed["snapshots"]] == [("golden", None), ("test", 1)]
    client.calls[:] = []
    assert runner.ensure_snapshot(client, params(state="absent", name="patched"))["changed"] is False
    assert client.calls == READS
    everything = runner.ensure_snapshot(client, params(state="absent", name=None, all=True))
    assert everything["changed"] is True and everything["snapshots"] == []
    assert writes(client) == [("remove_all_snapshots", "vm-1")]
    client.calls[:] = []
    again = runner.ensure_snapshot(client, params(state="absent", name=None, all=True))
    assert again["changed"] is False and client.calls == READS


def test_absent_with_children():
    client = FakeSnapshotClient()
    for name in ("golden", "patched", "test"):
        client.add("vm-1", name)
    result = runner.ensure_snapshot(client, params(state="absent", name="patched", remove_children=True))
    assert writes(client) == [("remove_snapshot", "snapshot-2", True)]
    assert [(e["name"], e["current"]) for e in result["snapshots"]] == [("golden", True)]


def test_description_of_an_existing_snapshot_warns():
    client = FakeSnapshotClient()
    client.add("vm-1", "golden")
    result = runner.ensure_snapshot(client, params(description="other"))
    assert result["changed"] is False and "only set when a snapshot is created" in result["warnings"][0]


@pytest.mark.parametrize("overrides, message", [
    ({"vm_name": "nope"}, "Failed to create snapshot 'golden' of VM 'nope': vm_name: no VM is named 'nope' in "
                          "datacenter 'DC0'"),
    ({"vm_name": "nope", "folder": "lab", "state": "reverted"},
     "Failed to revert VM 'nope' to snapshot 'golden': vm_name: no VM is named 'nope' in datacenter 'DC0' and "
     "folder 'lab'"),
    ({"vm_name": "twin"}, "vm_name: 2 VMs are named 'twin'; set datacenter and folder to pick one"),
    ({"vm_name": "tmpl"}, "vm_name: 'tmpl' is a template, which has no snapshots"),
    ({"datacenter": "DC9"}, "datacenter: datacenter 'DC9' does not exist (found: DC0)"),
    ({"state": "reverted", "name": "nope"}, "Failed to revert VM 'web1' to snapshot 'nope': name: no snapshot "
                                            "is named 'nope' (found: none)"),
])
def test_errors_name_the_option_and_change_nothing(overrides, message):
    client = FakeSnapshotClient()
    with pytest.raises(GhostError) as err:
        runner.ensure_snapshot(client, params(**overrides))
    assert message in str(err.value)
    assert writes(client) == []


def test_twins_are_found_by_folder_or_path():
    client = FakeSnapshotClient()
    assert runner.ensure_snapshot(client, params(vm_name="twin", folder="lab"))["vm"]["moid"] == "vm-4"
    assert runner.ensure_snapshot(client, params(vm_name="lab/twin", name="b"))["vm"]["moid"] == "vm-4"
    assert runner.ensure_snapshot(client, params(vm_name="twin", folder="/DC0/vm", name="c"))["vm"]["moid"] == "vm-3"


def test_duplicate_snapshot_names_fail_for_every_state():
    client = FakeSnapshotClient()
    client.add("vm-1", "golden")
    client.add("vm-1", "golden")
    for state in ("present", "absent", "reverted"):
        with pytest.raises(GhostError) as err:
            runner.ensure_snapshot(client, params(state=state))
        assert "name: 2 snapshots are named 'golden' (ids 1, 2)" in str(err.value)
    assert writes(client) == []


def test_vm_gone_after_the_inventory_read():
    client = FakeSnapshotClient()
    del client.power["vm-1"]
    with pytest.raises(GhostError) as err:
        runner.ensure_snapshot(client, params())
    assert "VM 'web1' disappeared" in str(err.value)


def test_bad_options_fail_before_connecting():
    connected = []

    def connect(**kwargs):
        connected.append(kwargs)
        return FakeSnapshotClient()

    with pytest.raises(GhostError) as err:
        runner.esxi_vm_snapshot(params(state="absent", name=None), connect=connect)
    assert str(err.value) == "name: is required with state: absent, unless all: true removes every snapshot"
    assert connected == []


def test_connects_with_the_connection_options_and_logs_out():
    clients = []

    def connect(**kwargs):
        assert kwargs == {"hostname": "vc", "username": "u", "password": "p", "port": 443, "validate_certs": False}
        clients.append(FakeSnapshotClient())
        return clients[0]

    result = runner.esxi_vm_snapshot(params(), check_mode=True, connect=connect)
    assert result["changed"] is True and clients[0].closed
