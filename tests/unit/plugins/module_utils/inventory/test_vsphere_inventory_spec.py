# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/vsphere_spec.py: the ghost.infra.vsphere inventory's filters, names, addresses
and groups, from the inventory the vSphere client reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import vsphere_spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import views

SECRET = "s3cr3t-cloud-init-password"


def vm(moid, name, *, folder="group-v3", power="poweredOn", ip=None, net_ips=(), template=False, extra=None):
    return {"moid": moid, "name": name, "parent": folder, "template": template, "uuid": "uuid-" + moid,
            "instance_uuid": "iuuid-" + moid, "cpu": 2, "memory_mb": 2048, "power_state": power,
            "guest_ip": ip, "guest_net_ips": list(net_ips), "extra_config": dict(extra or {}),
            "disks": [{"key": 2000, "label": "Hard disk 1", "capacity_kb": 10485760, "file": "[ds] x.vmdk",
                       "thin": True, "linked": False}],
            "nics": [{"key": 4000, "label": "nic", "mac": "00:50:56:00:00:01", "network": "VM Network"}],
            "datastores": [], "resource_pool": None, "host": None, "current_snapshot": None}


def inventory(*vms):
    return {
        # The root folder is not in a ContainerView's answer, so datacenter-2's parent is unknown.
        "datacenters": {"datacenter-2": {"name": "DC0", "parent": "group-d1", "vm_folder": "group-v3"}},
        "folders": {"group-v3": {"name": "vm", "parent": "datacenter-2"},
                    "group-v4": {"name": "lab", "parent": "group-v3"},
                    "group-v5": {"name": "web", "parent": "group-v4"}},
        "networks": {},
        "vms": list(vms),
    }


def options(**overrides):
    base = {"folder": None, "names": [], "exclude_names": [], "power_states": [], "managed_only": False,
            "templates": True, "ansible_host_sources": ["guest_ip"], "name_format": "{name}",
            "hostvars_prefix": "vsphere_"}
    base.update(overrides)
    return base


def names(hosts):
    return [h["name"] for h in hosts]


def test_hostvars_are_esxi_vm_info_fields_with_guestinfo_masked():
    record = vm("vm-1", "web1", ip="192.0.2.10",
                extra={"guestinfo.userdata": SECRET, "guestinfo.ip": "192.0.2.99", "ghost.infra.managed": "true"})
    hosts, warnings = vsphere_spec.hosts(inventory(record), options())
    assert warnings == []
    (host,) = hosts
    assert host["name"] == "web1"
    expected = views.vm_view(record, inventory(record))
    assert {k[len("vsphere_"):]: v for k, v in host["vars"].items() if k.startswith("vsphere_") and k != "vsphere_address_source"} == expected
    assert set(expected) == set(views.VM_FIELDS)
    assert host["vars"]["vsphere_guestinfo"] == {"guestinfo.ip": "********", "guestinfo.userdata": "********"}
    assert host["vars"]["ansible_host"] == "192.0.2.10"
    assert host["vars"]["vsphere_address_source"] == "guest_ip"
    assert host["groups"] == ["vsphere_managed", "vsphere_poweredon"]
    # No guestinfo value anywhere: not the secret, not even the unnamed address key.
    assert SECRET not in json.dumps(hosts) and "192.0.2.99" not in json.dumps(hosts)


def test_ansible_host_sources_in_order_guestinfo_only_when_named():
    record = vm("vm-1", "web1", extra={"guestinfo.ip": "192.0.2.99", "guestinfo.userdata": SECRET})
    hosts, _warnings = vsphere_spec.hosts(inventory(record), options(ansible_host_sources=["guest_ip", "guestinfo.ip"]))
    assert hosts[0]["vars"]["ansible_host"] == "192.0.2.99"
    assert hosts[0]["vars"]["vsphere_address_source"] == "guestinfo.ip"
    hosts, _warnings = vsphere_spec.hosts(inventory(record), options(ansible_host_sources=["guest_ip", "name"]))
    assert hosts[0]["vars"]["ansible_host"] == "web1"
    hosts, _warnings = vsphere_spec.hosts(inventory(record), options())
    assert "ansible_host" not in hosts[0]["vars"] and hosts[0]["vars"]["vsphere_address_source"] is None


def test_a_named_guestinfo_key_holding_no_address_is_never_used_nor_shown():
    record = vm("vm-1", "web1", extra={"guestinfo.userdata": SECRET + " with spaces"})
    hosts, warnings = vsphere_spec.hosts(inventory(record), options(ansible_host_sources=["guestinfo.userdata", "name"]))
    assert hosts[0]["vars"]["ansible_host"] == "web1"
    assert warnings == ["VM 'web1': guestinfo.userdata holds no address or DNS name, so it is not used as "
                        "ansible_host (its value is not shown)"]
    assert SECRET not in json.dumps([hosts, warnings])


def test_guest_ip_skips_link_local_addresses():
    record = vm("vm-1", "web1", ip="169.254.3.4", net_ips=["fe80::1", "198.51.100.20"])
    hosts, _warnings = vsphere_spec.hosts(inventory(record), options())
    assert hosts[0]["vars"]["ansible_host"] == "198.51.100.20"


def test_filters():
    inv = inventory(
        vm("vm-1", "web1", folder="group-v5"),
        vm("vm-2", "web2", folder="group-v4", power="poweredOff"),
        vm("vm-3", "db1", folder="group-v3", extra={"ghost.infra.managed": "true"}),
        vm("vm-4", "tpl", template=True, power="poweredOff"),
        vm("vm-5", "web-old", power="suspended"),
    )
    assert names(vsphere_spec.hosts(inv, options())[0]) == ["db1", "tpl", "web-old", "web1", "web2"]
    assert names(vsphere_spec.hosts(inv, options(folder="lab"))[0]) == ["web1", "web2"]
    assert names(vsphere_spec.hosts(inv, options(folder="/DC0/vm/lab/web"))[0]) == ["web1"]
    assert names(vsphere_spec.hosts(inv, options(names=["web*"], exclude_names=["*-old"]))[0]) == ["web1", "web2"]
    assert names(vsphere_spec.hosts(inv, options(power_states=["poweredOff", "suspended"]))[0]) == ["tpl", "web-old", "web2"]
    assert names(vsphere_spec.hosts(inv, options(managed_only=True))[0]) == ["db1"]
    assert names(vsphere_spec.hosts(inv, options(templates=False))[0]) == ["db1", "web-old", "web1", "web2"]
    tpl = [h for h in vsphere_spec.hosts(inv, options())[0] if h["name"] == "tpl"][0]
    assert tpl["groups"] == ["vsphere_poweredoff", "vsphere_templates"]


def test_shared_names_get_the_moid_and_a_warning():
    inv = inventory(vm("vm-1", "web", folder="group-v4"), vm("vm-2", "web", folder="group-v5"))
    hosts, warnings = vsphere_spec.hosts(inv, options())
    assert names(hosts) == ["web_vm-1", "web_vm-2"]
    assert warnings == ["several VMs are named 'web'; their hosts are named 'web_<moid>'"]
    hosts, warnings = vsphere_spec.hosts(inv, options(name_format="{datacenter}-{moid}"))
    assert names(hosts) == ["DC0-vm-1", "DC0-vm-2"] and warnings == []


def test_hostvars_prefix_can_be_empty():
    hosts, _warnings = vsphere_spec.hosts(inventory(vm("vm-1", "web1")), options(hostvars_prefix=""))
    assert hosts[0]["vars"]["power_state"] == "poweredOn" and hosts[0]["vars"]["address_source"] is None


@pytest.mark.parametrize("overrides, message", [
    ({"ansible_host_sources": ["guest_ip", "ip"]},
     "ansible_host_sources: unknown source 'ip' (choices: guest_ip, name, guestinfo.<key>)"),
    ({"power_states": ["on"]}, "power_states: unknown power state 'on' (choices: poweredOn, poweredOff, suspended)"),
    ({"name_format": "{hostname}"},
     "name_format: unknown field '{hostname}' in '{hostname}' (fields: {name}, {moid}, {uuid}, {instance_uuid}, {datacenter})"),
])
def test_bad_options_name_the_option(overrides, message):
    with pytest.raises(GhostError) as err:
        vsphere_spec.hosts(inventory(), options(**overrides))
    assert str(err.value) == message


def test_a_record_read_without_devices_has_no_disks_and_its_networks_from_the_vm():
    record = vm("vm-1", "web1")
    record.update(disks=[], nics=[], devices_read=False, network_names=["lab-net", "VM Network"])
    hosts, _warnings = vsphere_spec.hosts(inventory(record), options())
    hv = hosts[0]["vars"]
    assert "vsphere_disks" not in hv and hv["vsphere_networks"] == ["lab-net", "VM Network"]
    record = vm("vm-1", "web1")
    record.update(devices_read=True, network_names=["ignored"])
    hv = vsphere_spec.hosts(inventory(record), options())[0][0]["vars"]
    assert hv["vsphere_networks"] == ["VM Network"] and hv["vsphere_disks"][0]["capacity_gb"] == 10.0


def test_expired_vms_have_the_expiry_hostvars_and_are_in_group_expired():
    now = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    past = vm("vm-1", "old", extra={"ghost.infra.managed": "true", "ghost.infra.expires-at": "2026-12-01T12:00:00Z",
                                    "ghost.infra.ttl": "1s", "ghost.infra.renewed-at": "2026-12-01T11:59:59Z"})
    later = vm("vm-2", "new", extra={"ghost.infra.managed": "true", "ghost.infra.expires-at": "2026-12-01T12:00:01Z"})
    never = vm("vm-3", "pet")
    hosts, _warnings = vsphere_spec.hosts(inventory(past, later, never), options(), now=now)
    by_name = {h["name"]: h for h in hosts}
    old = by_name["old"]["vars"]
    assert (old["vsphere_expires_at"], old["vsphere_expired"], old["vsphere_ttl"]) == ("2026-12-01T12:00:00Z", True, "1s")
    assert "expired" in by_name["old"]["groups"]  # exactly "expired", not prefixed
    assert by_name["new"]["vars"]["vsphere_expired"] is False and "expired" not in by_name["new"]["groups"]
    pet = by_name["pet"]["vars"]
    assert (pet["vsphere_expires_at"], pet["vsphere_expired"], pet["vsphere_ttl"]) == (None, False, None)
    hosts, _warnings = vsphere_spec.hosts(inventory(past), options(hostvars_prefix=""), now=now)
    assert hosts[0]["vars"]["expired"] is True and hosts[0]["vars"]["expires_at"] == "2026-12-01T12:00:00Z"
