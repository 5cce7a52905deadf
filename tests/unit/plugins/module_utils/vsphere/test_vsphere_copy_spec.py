# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""copy_spec: the plan that makes a VM on a standalone host without CloneVM_Task."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import copy_spec, records

GB = records.KB_PER_GB

TEMPLATE = {
    "moid": "vm-1", "name": "tmpl", "template": True, "power_state": records.POWERED_OFF,
    "disks": [{"key": 2001, "label": "Hard disk 2", "capacity_kb": 2 * GB, "file": "[ds1] tmpl/tmpl_1.vmdk"},
              {"key": 2000, "label": "Hard disk 1", "capacity_kb": 10 * GB, "file": "[ds1] tmpl/tmpl-000001.vmdk"}],
    "extra_config": {"guestinfo.role": "db", "disk.EnableUUID": "TRUE", "nvram": "tmpl.nvram",
                     "sched.swap.derivedName": "/vmfs/volumes/x/tmpl/tmpl-1.vswp", "ethernet0.generatedAddress": "x",
                     "guestinfo.metadata": "OLD"},
}


def request(**overrides):
    base = {"name": "web1", "template": "vm-1", "linked_clone": False, "disk": None,
            "extra_config": {"guestinfo.metadata": "NEW", "ghost.infra.managed": "true", "guestinfo.userdata": ""}}
    base.update(overrides)
    return base


def test_plan_copies_every_disk_into_the_new_folder_in_key_order():
    plan = copy_spec.copy_plan(request(), TEMPLATE, datastore_name="ds2")
    assert plan["directory"] == "[ds2] web1"
    assert plan["vmx_path"] == "[ds2] web1/web1.vmx"
    assert [(d["key"], d["source"], d["dest"]) for d in plan["disks"]] == [
        (2000, "[ds1] tmpl/tmpl-000001.vmdk", "[ds2] web1/web1.vmdk"),
        (2001, "[ds1] tmpl/tmpl_1.vmdk", "[ds2] web1/web1_1.vmdk")]
    assert (plan["disk_type"], plan["thin"], plan["eagerly_scrub"]) == ("thin", True, False)
    assert [d["grow_kb"] for d in plan["disks"]] == [None, None]


def test_plan_grows_the_requested_disk_only():
    plan = copy_spec.copy_plan(request(disk={"key": 2000, "capacity_kb": 40 * GB}), TEMPLATE, datastore_name="ds1")
    assert [(d["capacity_kb"], d["grow_kb"]) for d in plan["disks"]] == [(40 * GB, 40 * GB), (2 * GB, None)]


@pytest.mark.parametrize("fmt, expected", [("thick", ("preallocated", False, False)),
                                           ("eager_zeroed_thick", ("eagerZeroedThick", False, True))])
def test_plan_disk_format(fmt, expected):
    plan = copy_spec.copy_plan(request(), TEMPLATE, datastore_name="ds1", disk_format=fmt)
    assert (plan["disk_type"], plan["thin"], plan["eagerly_scrub"]) == expected


def test_extra_config_keeps_the_template_keys_less_host_generated_ones():
    extra = copy_spec.copy_plan(request(), TEMPLATE, datastore_name="ds1")["extra_config"]
    assert extra == {"guestinfo.role": "db", "disk.EnableUUID": "TRUE", "guestinfo.metadata": "NEW",
                     "ghost.infra.managed": "true"}


def test_a_vm_source_gives_none_of_its_guestinfo():
    source = dict(copy.deepcopy(TEMPLATE), template=False)
    extra = copy_spec.copy_plan(request(), source, datastore_name="ds1")["extra_config"]
    assert extra == {"disk.EnableUUID": "TRUE", "guestinfo.metadata": "NEW", "ghost.infra.managed": "true"}


def test_identity_clears_for_a_vcenter_clone_of_a_vm():
    clears = copy_spec.identity_clears({"guestinfo.role": "db", "guestinfo.metadata": "OLD", "other": "1"},
                                       {"guestinfo.metadata": "NEW"})
    assert clears == {"guestinfo.role": ""}


def test_refusals_name_the_option():
    with pytest.raises(GhostError) as err:
        copy_spec.copy_plan(request(linked_clone=True), TEMPLATE, datastore_name="ds1")
    assert err.value.option == "linked_clone" and "needs vCenter" in err.value.msg
    running = dict(TEMPLATE, template=False, power_state=records.POWERED_ON)
    with pytest.raises(GhostError) as err:
        copy_spec.copy_plan(request(), running, datastore_name="ds1")
    assert err.value.option == "template"
    assert "cannot copy the disks of a running VM" in err.value.msg and "Power it off" in err.value.msg
    with pytest.raises(GhostError) as err:
        copy_spec.copy_plan(request(), dict(TEMPLATE, disks=[]), datastore_name="ds1")
    assert "no virtual disk" in err.value.msg
    rdm = dict(TEMPLATE, disks=[{"key": 2000, "label": "Hard disk 1", "capacity_kb": 1, "file": None}])
    with pytest.raises(GhostError) as err:
        copy_spec.copy_plan(request(), rdm, datastore_name="ds1")
    assert "without a file" in err.value.msg


def test_default_devices_and_keys():
    assert "VirtualIDEController" in copy_spec.DEFAULT_DEVICE_TYPES
    assert "ParaVirtualSCSIController" not in copy_spec.DEFAULT_DEVICE_TYPES
    assert len({copy_spec.new_key(i) for i in range(10)}) == 10
    assert all(copy_spec.new_key(i) < 0 for i in range(10))


def test_leftover_of_an_interrupted_copy_is_its_disks_only():
    plan = copy_spec.copy_plan(request(), TEMPLATE, datastore_name="ds2")
    assert copy_spec.leftover_files(plan) == {"web1.vmdk", "web1-flat.vmdk", "web1_1.vmdk", "web1_1-flat.vmdk"}
    assert copy_spec.foreign_files(plan, []) == []
    assert copy_spec.foreign_files(plan, ["web1.vmdk", "web1-flat.vmdk"]) == []


def test_a_vmx_or_any_other_file_is_foreign():
    plan = copy_spec.copy_plan(request(), TEMPLATE, datastore_name="ds2")
    assert copy_spec.foreign_files(plan, ["web1.vmdk", "web1.vmx", "vmware.log", "web1_2.vmdk"]) == [
        "vmware.log", "web1.vmx", "web1_2.vmdk"]
