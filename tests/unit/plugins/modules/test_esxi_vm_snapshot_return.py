# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""esxi_vm_snapshot's RETURN against what the runner returns: snapshots read from the tree
(snapshot_spec.flatten), a snapshot about to be created (snapshot_spec.plan), a revert and the
removal of every snapshot, in check mode against a client that can only read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import snapshot_runner, snapshot_spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

# Result keys that are not the runner's: ``changed`` and ``diff`` (Ansible's own) and
# ``duration``, documented but added by _common/module.run().
COMMON = {"changed", "diff", "duration"}
TREE = {
    "_type": "VirtualMachineSnapshotInfo", "currentSnapshot": MoRef("VirtualMachineSnapshot", "snapshot-2"),
    "rootSnapshotList": {
        "snapshot": MoRef("VirtualMachineSnapshot", "snapshot-1"), "name": "golden", "id": "1", "description": "",
        "createTime": "2025-01-01T12:00:00.5Z", "state": "poweredOff", "quiesced": "false",
        "childSnapshotList": {"snapshot": MoRef("VirtualMachineSnapshot", "snapshot-2"), "name": "later", "id": "2",
                              "description": "d", "createTime": "2025-01-01T13:00:00Z", "state": "poweredOn",
                              "quiesced": "true"}},
}


class ReadingClient:
    """Answers the two reads of a run; check mode makes no other call."""

    def inventory(self):
        return {"datacenters": {"ha-datacenter": {"name": "ha-datacenter", "parent": None, "vm_folder": "ha-folder-vm"}},
                "folders": {"ha-folder-vm": {"name": "vm", "parent": "ha-datacenter"}}, "networks": {},
                "vms": [{"moid": "1", "name": "web1", "parent": "ha-folder-vm", "template": False}]}

    def read_snapshots(self, moid):
        return {"name": "web1", "power_state": "poweredOn", "snapshot": TREE}


def run(**overrides):
    params = {"vm_name": "web1", "datacenter": None, "folder": None, "state": "present", "name": "golden",
              "description": None, "memory": False, "quiesce": False, "remove_children": False, "all": False,
              "power_on": False}
    params.update(overrides)
    return snapshot_runner.ensure_snapshot(ReadingClient(), params, check_mode=True, diff=True)


CASES = {
    "read": {},
    "created": {"name": "new", "memory": True},
    "reverted": {"state": "reverted", "power_on": True},
    "removed_all": {"state": "absent", "name": None, "all": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_esxi_vm_snapshot_returns_what_it_documents(case, return_schema):
    doc = return_schema.doc("esxi_vm_snapshot")
    result = run(**CASES[case])
    assert sorted(set(result) - COMMON) == sorted(set(doc) - COMMON)
    return_schema.assert_matches(result["vm"], doc["vm"]["contains"])
    return_schema.assert_matches(result["snapshots"], doc["snapshots"]["contains"])
    if case == "removed_all":
        assert result["snapshot"] == {} and result["snapshots"] == []
    else:
        return_schema.assert_matches(result["snapshot"], doc["snapshot"]["contains"])
        assert len(result["snapshots"]) >= 2


def test_snapshot_and_snapshots_document_the_same_fields(return_schema):
    doc = return_schema.doc("esxi_vm_snapshot")
    assert sorted(doc["snapshot"]["contains"]) == sorted(snapshot_spec.ENTRY_FIELDS)
    assert sorted(doc["snapshots"]["contains"]) == sorted(snapshot_spec.ENTRY_FIELDS)
    assert sorted(doc["vm"]["contains"]) == sorted(snapshot_spec.VM_FIELDS)
    for field in snapshot_spec.ENTRY_FIELDS:
        assert doc["snapshot"]["contains"][field]["type"] == doc["snapshots"]["contains"][field]["type"], field
