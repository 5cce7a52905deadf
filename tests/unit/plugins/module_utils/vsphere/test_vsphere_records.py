# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""records.py: PropertyCollector values (soapxml's plain form) into inventory and placement records."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import records
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

# Subtypes as vSphere has them; records.py asks only through this predicate.
BASES = {"ClusterComputeResource": "ComputeResource", "DistributedVirtualPortgroup": "Network",
         "VmwareDistributedVirtualSwitch": "DistributedVirtualSwitch"}


def is_a(kind, base):
    return kind == base or BASES.get(kind) == base


def test_inventory_record_reads_datacenters_folders_networks_and_vms():
    found = [
        (MoRef("VirtualMachine", "vm-1"), {"name": "web1", "parent": MoRef("Folder", "group-3"),
                                           "config.template": "false"}),
        (MoRef("Datacenter", "datacenter-2"), {"name": "DC0", "parent": MoRef("Folder", "group-1"),
                                               "vmFolder": MoRef("Folder", "group-3")}),
        (MoRef("Folder", "group-3"), {"name": "vm", "parent": MoRef("Datacenter", "datacenter-2")}),
        (MoRef("Network", "network-7"), {"name": "VM Network"}),
        (MoRef("DistributedVirtualPortgroup", "dvportgroup-9"), {"name": "DVPG0", "key": "dvportgroup-9"}),
    ]
    out = records.inventory_record(found, full=False, is_a=is_a)
    assert out == {
        "datacenters": {"datacenter-2": {"name": "DC0", "parent": "group-1", "vm_folder": "group-3"}},
        "folders": {"group-3": {"name": "vm", "parent": "datacenter-2"}},
        "networks": {"network-7": "VM Network", "dvportgroup-9": "DVPG0", ("dvpg", "dvportgroup-9"): "DVPG0"},
        "vms": [{"moid": "vm-1", "name": "web1", "parent": "group-3", "template": False}],
    }
    full = records.inventory_record(found, full=True, is_a=is_a)
    assert full["vms"][0]["moid"] == "vm-1" and full["vms"][0]["disks"] == []


def test_placement_record_links_portgroups_to_their_switch():
    found = [
        (MoRef("ResourcePool", "resgroup-1"), {"name": "Resources", "parent": MoRef("ClusterComputeResource", "domain-c1"),
                                               "owner": MoRef("ClusterComputeResource", "domain-c1")}),
        (MoRef("ClusterComputeResource", "domain-c1"), {"name": "C0", "resourcePool": MoRef("ResourcePool", "resgroup-1"),
                                                        "host": [MoRef("HostSystem", "host-1")]}),
        (MoRef("HostSystem", "host-1"), {"name": "H0", "parent": MoRef("ClusterComputeResource", "domain-c1")}),
        (MoRef("Datastore", "datastore-1"), {"name": "ds1", "summary.accessible": "true"}),
        (MoRef("Datastore", "datastore-2"), {"name": "ds2"}),
        (MoRef("DistributedVirtualPortgroup", "dvportgroup-9"), {
            "name": "DVPG0", "key": "dvportgroup-9",
            "config.distributedVirtualSwitch": MoRef("VmwareDistributedVirtualSwitch", "dvs-5")}),
        (MoRef("VmwareDistributedVirtualSwitch", "dvs-5"), {"uuid": "50 1a"}),
        (MoRef("Network", "network-7"), {"name": "VM Network"}),
    ]
    out = records.placement_record(found, is_a=is_a)
    assert out["pools"] == {"resgroup-1": {"name": "Resources", "parent": "domain-c1", "owner": "domain-c1"}}
    assert out["compute"] == {"domain-c1": {"name": "C0", "resource_pool": "resgroup-1", "hosts": ["host-1"]}}
    assert out["hosts"] == {"host-1": {"name": "H0", "parent": "domain-c1"}}
    assert out["datastores"] == {"datastore-1": {"name": "ds1", "accessible": True},
                                 "datastore-2": {"name": "ds2", "accessible": None}}
    assert out["networks"] == {
        "dvportgroup-9": {"name": "DVPG0", "kind": "distributed", "key": "dvportgroup-9", "switch_uuid": "50 1a"},
        "network-7": {"name": "VM Network", "kind": "standard", "key": None},
    }


def test_moid_of():
    assert records.moid_of(MoRef("Folder", "group-3")) == "group-3"
    assert records.moid_of(MoRef("Folder", "")) is None
    assert records.moid_of("group-3") == "group-3"
    assert records.moid_of(None) is None


def test_fault_text():
    # As vcsim answers a failed power-on: the reason is in the cause, the message only names the type.
    cause = {"_type": None, "fault": {"_type": "SystemErrorFault", "reason": "docker failed"},
             "localizedMessage": "docker failed"}
    error = {"_type": "LocalizedMethodFault", "localizedMessage": "*types.MissingPowerOnConfiguration",
             "fault": {"_type": "MissingPowerOnConfiguration", "faultCause": cause}}
    assert records.fault_text(error) == "MissingPowerOnConfiguration: docker failed"
    # As vCenter answers: a message of its own.
    error = {"_type": "LocalizedMethodFault", "localizedMessage": "The operation is not allowed in the current state.",
             "fault": {"_type": "InvalidState"}}
    assert records.fault_text(error) == "InvalidState: The operation is not allowed in the current state."
    assert records.fault_text({"fault": {"_type": "InvalidState"}}) == "InvalidState"
    assert records.fault_text(None) == "the task failed"
