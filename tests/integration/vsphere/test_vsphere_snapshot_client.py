# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The snapshot client and runner against the testbed's simulators, counting SOAP calls.

An esxi_vm_snapshot run that changes nothing reads twice (the inventory, the VM's snapshot
tree), a change is one task and one read after it, and the fast XML reader gives the same tree
as pyVmomi's deserializer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner as vm_runner
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import snapshot_runner, snapshot_spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.snapshot_client import SnapshotClient

SIMULATORS = ["vcenter", "esxi"]
VM = "ghost-it-snap-calls"
READS = ["RetrievePropertiesEx", "RetrievePropertiesEx"]


def vm_params(env, state):
    return {"name": VM, "state": state, "template": env.get("GHOST_VSPHERE_TEMPLATE") or "ubuntu-22.04-template",
            "datacenter": None, "folder": None, "resource_pool": None, "datastore": None, "network": None,
            "cpu": None, "memory_mb": None, "disk_gb": None, "linked_clone": False, "cloud_init": None,
            "guestinfo": None, "wait_for_ip": False, "wait_timeout": 30, "shutdown_timeout": 0, "force": True,
            "fallback": "none"}


def task(**overrides):
    base = {"vm_name": VM, "datacenter": None, "folder": None, "state": "present", "name": "golden",
            "description": None, "memory": False, "quiesce": False, "remove_children": False, "all": False,
            "power_on": False}
    base.update(overrides)
    return base


@pytest.fixture(params=SIMULATORS)
def session(request, testbed, call_recorder):
    port = testbed["VMWARE_PORT"] if request.param == "vcenter" else testbed["GHOST_ESXI_PORT"]
    host = testbed["VMWARE_HOST"] if request.param == "vcenter" else testbed["GHOST_ESXI_HOST"]
    client = SnapshotClient.connect(hostname=host, username=testbed["VMWARE_USER"],
                                    password=testbed["VMWARE_PASSWORD"], port=int(port), validate_certs=False)
    vm_runner.ensure_vm(client, vm_params(testbed, "poweredon"))
    yield client, call_recorder(client)
    vm_runner.ensure_vm(client, vm_params(testbed, "absent"))
    client.close()


def test_noop_reads_twice_and_a_change_is_one_task(session):
    client, calls = session
    assert snapshot_runner.ensure_snapshot(client, task())["changed"] is True
    assert calls.writes() == ["CreateSnapshot_Task"]
    assert calls.names[:len(READS)] == READS and calls.names[-1] == "RetrievePropertiesEx"
    calls.names[:] = []
    again = snapshot_runner.ensure_snapshot(client, task())
    assert again["changed"] is False
    assert calls.names == READS  # plus Login and Logout: 4 SOAP calls a run
    calls.names[:] = []
    assert snapshot_runner.ensure_snapshot(client, task(name="other"), check_mode=True)["changed"] is True
    assert calls.names == READS


def test_raw_reads_equal_pyvmomi_reads(session):
    client, calls = session
    for name, memory in (("golden", False), ("running", True), ("third", False)):
        snapshot_runner.ensure_snapshot(client, task(name=name, memory=memory))
    moid = snapshot_runner.ensure_snapshot(client, task())["vm"]["moid"]
    raw = snapshot_spec.flatten(client.read_snapshots(moid)["snapshot"])
    client._raw_reads = False
    try:
        typed = snapshot_spec.flatten(client.read_snapshots(moid)["snapshot"])
    finally:
        client._raw_reads = True
    assert raw == typed
    assert [(e["name"], e["power_state"], e["current"]) for e in raw] == [
        ("golden", "poweredOff", False), ("running", "poweredOn", False), ("third", "poweredOff", True)]
    assert raw[1]["parent_id"] == raw[0]["id"] and raw[2]["parent_id"] == raw[1]["id"]


def test_revert_reaches_the_recorded_power_state(session):
    client, calls = session
    snapshot_runner.ensure_snapshot(client, task())
    calls.names[:] = []
    result = snapshot_runner.ensure_snapshot(client, task(state="reverted"))
    assert calls.writes()[0] == "RevertToSnapshot_Task"
    # vSphere powers the VM off for a snapshot without memory; the simulator leaves it running,
    # so the runner powers it off: either way, it ends as the snapshot recorded it.
    assert set(calls.writes()[1:]) <= {"PowerOffVM_Task"}
    assert result["vm"]["power_state"] == "poweredOff"
    assert client.read_snapshots(result["vm"]["moid"])["power_state"] == "poweredOff"
    result = snapshot_runner.ensure_snapshot(client, task(state="reverted", power_on=True))
    assert client.read_snapshots(result["vm"]["moid"])["power_state"] == "poweredOn"


def test_removal_is_one_task(session):
    client, calls = session
    for name in ("golden", "patched"):
        snapshot_runner.ensure_snapshot(client, task(name=name))
    calls.names[:] = []
    snapshot_runner.ensure_snapshot(client, task(state="absent", name="patched"))
    assert calls.writes() == ["RemoveSnapshot_Task"]
    calls.names[:] = []
    result = snapshot_runner.ensure_snapshot(client, task(state="absent", name=None, all=True))
    assert calls.writes() == ["RemoveAllSnapshots_Task"] and result["snapshots"] == []
