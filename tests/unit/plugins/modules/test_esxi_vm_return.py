# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""esxi_vm's RETURN ``vm`` and esxi_vm_info's RETURN ``vms`` against every builder of that view:
a read VM (views.vm_view), a VM about to be cloned (spec.clone_request), a VM after planned
changes (views.predict) and a VM seen through the SSH fallback (ssh.ensure_power)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import records, spec, ssh, views

INVENTORY = {
    "datacenters": {"datacenter-2": {"name": "DC0", "parent": "group-1", "vm_folder": "group-3"}},
    "folders": {"group-1": {"name": "Datacenters", "parent": None}, "group-3": {"name": "vm", "parent": "datacenter-2"}},
    "networks": {"network-7": "VM Network"},
    "vms": [],
}
PLACEMENT = {
    "pools": {"resgroup-1": {"name": "Resources", "parent": "domain-c1", "owner": "domain-c1"}},
    "compute": {"domain-c1": {"name": "C0", "resource_pool": "resgroup-1", "hosts": ["host-1"]}},
    "hosts": {"host-1": {"name": "H0", "parent": "domain-c1"}},
    "datastores": {"datastore-1": {"name": "ds1", "accessible": True}},
    "networks": {"network-7": {"name": "VM Network", "kind": "standard", "key": None}},
}


def record(**overrides):
    """A full VM record (records.py) with a disk, a NIC, guestinfo and an address."""
    base = {
        "moid": "vm-42", "name": "web1", "parent": "group-3", "template": False, "uuid": "u-1",
        "instance_uuid": "i-1", "cpu": 2, "memory_mb": 2048, "cpu_hot_add": False, "cpu_hot_remove": False,
        "memory_hot_add": False, "power_state": records.POWERED_ON, "tools_running": True,
        "guest_ip": "192.0.2.10", "guest_net_ips": ["192.0.2.10"],
        "extra_config": {records.MANAGED_KEY: "true", "guestinfo.metadata": "H4sI"},
        "disks": [{"key": 2000, "label": "Hard disk 1", "capacity_kb": 10 * records.KB_PER_GB,
                   "file": "[ds1] web1/web1.vmdk", "thin": True, "linked": False}],
        "nics": [{"key": 4000, "label": "Network adapter 1", "mac": "00:50:56:00:00:01", "network": "VM Network"}],
        "datastores": ["datastore-1"], "resource_pool": "resgroup-1", "host": "host-1", "current_snapshot": None,
    }
    base.update(overrides)
    return base


def read_vm():
    return views.vm_view(record(), INVENTORY)


def cloned_vm():
    template = record(moid="vm-1", name="tmpl", template=True, power_state=records.POWERED_OFF)
    params = {"folder": None, "resource_pool": None, "datastore": None, "network": "VM Network", "cpu": 4,
              "memory_mb": None, "disk_gb": 20, "linked_clone": False}
    extra = spec.clone_extra_config(None, {"guestinfo.role": "web"}, template["extra_config"], ())
    request, predicted = spec.clone_request(name="web2", template=template, placement=PLACEMENT,
                                            inventory=INVENTORY, datacenter="datacenter-2", params=params,
                                            extra_config=extra, power_on=True)
    return predicted


def changed_vm():
    changes, dummy = spec.compute_changes(record(power_state=records.POWERED_OFF), cpu=4, disk_gb=20,
                                          extra_config={"guestinfo.role": "web"})
    return views.predict(read_vm(), changes, power_state=records.POWERED_OFF)


class _VimCmd:
    def list_vms(self):
        return [{"vmid": "7", "name": "web1"}]

    def power_state(self, vmid):
        return records.POWERED_OFF


def fallback_vm():
    return ssh.ensure_power(_VimCmd(), name="web1", state="poweredoff")["vm"]


BUILDERS = [read_vm, cloned_vm, changed_vm, fallback_vm]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_esxi_vm_returns_what_it_documents(build, return_schema):
    vm = build()
    assert vm["disks"] or build is fallback_vm  # nested keys are checked too
    return_schema.assert_matches(vm, return_schema.doc("esxi_vm")["vm"]["contains"])


def test_esxi_vm_info_returns_what_it_documents(return_schema):
    return_schema.assert_matches([read_vm()], return_schema.doc("esxi_vm_info")["vms"]["contains"])


def test_the_view_fields_are_the_documented_ones(return_schema):
    assert sorted(views.VM_FIELDS) == sorted(return_schema.doc("esxi_vm")["vm"]["contains"])
    assert sorted(views.blank_vm()) == sorted(views.VM_FIELDS)
