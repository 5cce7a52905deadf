# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import lookup, records, spec, views

GB = records.KB_PER_GB

# A vCenter laid out as the testbed's simulator: datacenter DC0 inside folder F0, a VM folder
# "lab" and a second datacenter.
INVENTORY = {
    "datacenters": {
        "datacenter-2": {"name": "DC0", "parent": "group-1", "vm_folder": "group-3"},
        "datacenter-9": {"name": "DC1", "parent": "group-d1", "vm_folder": "group-90"},
    },
    "folders": {
        "group-1": {"name": "F0", "parent": "group-d1"},
        "group-3": {"name": "vm", "parent": "datacenter-2"},
        "group-11": {"name": "lab", "parent": "group-3"},
        "group-12": {"name": "web", "parent": "group-11"},
        "group-90": {"name": "vm", "parent": "datacenter-9"},
    },
    "networks": {},
    "vms": [
        {"moid": "vm-1", "name": "web1", "parent": "group-11", "template": False},
        {"moid": "vm-2", "name": "web1", "parent": "group-90", "template": False},
        {"moid": "vm-3", "name": "tmpl", "parent": "group-3", "template": True},
        {"moid": "vm-4", "name": "web2", "parent": "group-12", "template": False},
        {"moid": "vm-5", "name": "db1", "parent": "group-3", "template": False},
    ],
}


def record(**overrides):
    base = {
        "moid": "vm-1", "name": "web1", "parent": "group-11", "template": False, "uuid": "u-1",
        "instance_uuid": "i-1", "cpu": 2, "memory_mb": 2048, "cpu_hot_add": False,
        "cpu_hot_remove": False, "memory_hot_add": False, "power_state": records.POWERED_ON,
        "tools_running": True, "guest_ip": None, "guest_net_ips": [],
        "extra_config": {records.MANAGED_KEY: "true", "guestinfo.metadata": "H4sIsecret",
                         "guestinfo.metadata.encoding": "gzip+base64", "other": "x"},
        "disks": [{"key": 2000, "label": "Hard disk 1", "capacity_kb": 10 * GB,
                   "file": "[ds1] web1/web1.vmdk", "thin": True, "linked": False}],
        "nics": [{"key": 4000, "label": "Network adapter 1", "mac": "00:50:56:00:00:01",
                  "network": "VM Network"}],
        "datastores": ["datastore-1"], "resource_pool": "resgroup-1", "host": "host-1",
        "current_snapshot": None,
    }
    base.update(overrides)
    return base


# -- paths and lookups ------------------------------------------------------------------------

def test_folder_path_includes_folders_above_the_datacenter():
    assert lookup.folder_path("group-12", INVENTORY) == "/F0/DC0/vm/lab/web"
    assert lookup.folder_path("group-90", INVENTORY) == "/DC1/vm"
    assert lookup.folder_datacenter("group-12", INVENTORY) == "datacenter-2"
    assert lookup.folder_path("nowhere", INVENTORY) is None


def test_folder_path_survives_a_parent_loop():
    looped = {"datacenters": {}, "folders": {"a": {"name": "a", "parent": "b"}, "b": {"name": "b", "parent": "a"}}}
    assert lookup.folder_path("a", looped) is None


@pytest.mark.parametrize("given, expected", [
    (None, "/F0/DC0/vm"),
    ("", "/F0/DC0/vm"),
    ("lab", "/F0/DC0/vm/lab"),
    ("/lab/web/", "/F0/DC0/vm/lab/web"),
    ("vm/lab", "/F0/DC0/vm/lab"),
    ("/F0/DC0/vm/lab", "/F0/DC0/vm/lab"),
    ("/F0/DC0/vm", "/F0/DC0/vm"),
])
def test_normalize_folder(given, expected):
    assert lookup.normalize_folder(given, "/F0/DC0") == expected


def test_find_datacenter():
    assert lookup.find_datacenter(INVENTORY, "DC1") == "datacenter-9"
    assert lookup.find_datacenter(INVENTORY, "F0/DC0") == "datacenter-2"
    assert lookup.find_datacenter(INVENTORY, None) is None  # two of them: no default
    single = dict(INVENTORY, datacenters={"ha-datacenter": {"name": "ha-datacenter", "parent": "root", "vm_folder": "f"}})
    assert lookup.find_datacenter(single, None) == "ha-datacenter"
    with pytest.raises(GhostError) as err:
        lookup.find_datacenter(INVENTORY, "nope")
    assert err.value.option == "datacenter"
    assert "DC0, DC1" in str(err.value)


def test_find_vms_by_datacenter_folder_and_path():
    assert [r["moid"] for r in lookup.find_vms(INVENTORY, "web1")] == ["vm-1", "vm-2"]
    assert [r["moid"] for r in lookup.find_vms(INVENTORY, "web1", datacenter="datacenter-9")] == ["vm-2"]
    assert [r["moid"] for r in lookup.find_vms(INVENTORY, "web1", datacenter="datacenter-2", folder="lab")] == ["vm-1"]
    assert lookup.find_vms(INVENTORY, "web1", datacenter="datacenter-2", folder="lab/web") == []
    assert [r["moid"] for r in lookup.find_vms(INVENTORY, "lab/web/web2", datacenter="datacenter-2")] == ["vm-4"]


def test_only_one_names_the_candidates():
    assert lookup.only_one([], "VM", "x") is None
    with pytest.raises(GhostError) as err:
        lookup.only_one(lookup.find_vms(INVENTORY, "web1"), "VM", "web1")
    assert "2 VMs are named 'web1'" in str(err.value)
    assert "vm-1, vm-2" in str(err.value)


def test_match_vms_glob_and_folder_subtree():
    names = [r["moid"] for r in lookup.match_vms(INVENTORY, pattern="web*")]
    assert names == ["vm-1", "vm-2", "vm-4"]
    assert [r["moid"] for r in lookup.match_vms(INVENTORY, folder="lab")] == ["vm-1", "vm-4"]
    assert [r["moid"] for r in lookup.match_vms(INVENTORY, folder="/F0/DC0/vm/lab/web")] == ["vm-4"]
    assert [r["moid"] for r in lookup.match_vms(INVENTORY, pattern="web?", folder="/DC1/vm")] == ["vm-2"]
    # "lab" must not match a sibling folder called "lab2" by prefix.
    inv = copy.deepcopy(INVENTORY)
    inv["folders"]["group-13"] = {"name": "lab2", "parent": "group-3"}
    inv["vms"].append({"moid": "vm-6", "name": "x", "parent": "group-13"})
    assert "vm-6" not in [r["moid"] for r in lookup.match_vms(inv, folder="lab")]
    assert [r["moid"] for r in lookup.match_vms(INVENTORY, pattern="WEB*")] == []


# -- the returned shape -----------------------------------------------------------------------

def test_vm_view_masks_guestinfo_and_reports_ownership():
    view = views.vm_view(record(guest_ip="192.0.2.10"), INVENTORY)
    assert view["guestinfo"] == {"guestinfo.metadata": MASK, "guestinfo.metadata.encoding": MASK}
    assert "H4sIsecret" not in repr(view)
    assert view["managed"] is True
    assert view["folder"] == "/F0/DC0/vm/lab"
    assert view["datacenter"] == "DC0"
    assert view["ip_address"] == "192.0.2.10"
    assert view["disks"] == [{"label": "Hard disk 1", "capacity_gb": 10.0, "file": "[ds1] web1/web1.vmdk",
                              "thin": True, "linked": False}]
    assert view["networks"] == ["VM Network"]
    assert sorted(view) == sorted(["name", "uuid", "instance_uuid", "moid", "power_state", "ip_address", "cpu",
                                   "memory_mb", "disks", "networks", "folder", "datacenter", "template",
                                   "guestinfo", "managed", "expires_at", "expired", "ttl"])


@pytest.mark.parametrize("value, managed", [("true", True), ("TRUE ", True), ("false", False), (None, False)])
def test_managed_marker(value, managed):
    extra = {} if value is None else {records.MANAGED_KEY: value}
    assert records.is_managed({"extra_config": extra}) is managed


@pytest.mark.parametrize("guest_ip, net, expected", [
    ("192.0.2.10", [], "192.0.2.10"),
    ("169.254.3.4", ["169.254.3.4", "192.0.2.11"], "192.0.2.11"),
    ("fe80::1", ["fe80::1", "10.0.0.5/24"], "10.0.0.5"),
    (None, ["127.0.0.1", "0.0.0.0", "2001:db8::1"], None),
    ("not an ip", [], None),
    (None, [], None),
])
def test_pick_ip_ignores_link_local(guest_ip, net, expected):
    assert records.pick_ip({"guest_ip": guest_ip, "guest_net_ips": net}) == expected


# -- desired state ----------------------------------------------------------------------------

def test_raw_guestinfo_prefixes_and_stringifies():
    out = spec.raw_guestinfo({"role": "web", "guestinfo.count": 3, "flag": True})
    assert out == {"guestinfo.role": "web", "guestinfo.count": "3", "guestinfo.flag": "true"}
    assert spec.raw_guestinfo(None) == {}


@pytest.mark.parametrize("guestinfo, message", [
    ({"metadata": "x"}, "written by cloud_init"),
    ({"bad key": "x"}, "not a valid guestinfo key"),
    ({"x": None}, "has no value"),
    ({"x": {"a": 1}}, "must be a string"),
])
def test_raw_guestinfo_rejects(guestinfo, message):
    with pytest.raises(GhostError) as err:
        spec.raw_guestinfo(guestinfo, ("guestinfo.metadata",))
    assert message in str(err.value)
    assert err.value.option == "guestinfo"


def test_desired_extra_config_only_differences_and_clears_stale_cloud_init_keys():
    current = {"guestinfo.metadata": "A", "guestinfo.vendordata": "V", "guestinfo.vendordata.encoding": "gzip+base64",
               "guestinfo.role": "web"}
    all_keys = ("guestinfo.metadata", "guestinfo.vendordata", "guestinfo.vendordata.encoding")
    out = spec.desired_extra_config({"guestinfo.metadata": "A"}, {"guestinfo.role": "db"}, current, all_keys)
    assert out == {"guestinfo.vendordata": "", "guestinfo.vendordata.encoding": "", "guestinfo.role": "db"}
    # Without cloud_init the VM's cloud-init keys are left alone.
    assert spec.desired_extra_config(None, {}, current, all_keys) == {}


def test_no_changes_when_equal():
    changes, reconfig = spec.compute_changes(record(), cpu=2, memory_mb=2048, disk_gb=10, extra_config={})
    assert (changes, reconfig) == ([], None)


def test_cpu_and_memory_are_cold_on_a_running_vm_without_hot_add():
    changes, reconfig = spec.compute_changes(record(), cpu=4, memory_mb=4096)
    assert [(c.field, c.before, c.after, c.cold) for c in changes] == [
        ("cpu", 2, 4, True), ("memory_mb", 2048, 4096, True)]
    assert reconfig == {"cpu": 4, "memory_mb": 4096}


def test_hot_add_makes_growth_hot_but_not_shrinking():
    running = record(cpu_hot_add=True, memory_hot_add=True)
    changes, dummy = spec.compute_changes(running, cpu=4, memory_mb=4096)
    assert [c.cold for c in changes] == [False, False]
    changes, dummy = spec.compute_changes(running, cpu=1, memory_mb=1024)
    assert [c.cold for c in changes] == [True, True]
    changes, dummy = spec.compute_changes(record(cpu_hot_remove=True), cpu=1)
    assert [c.cold for c in changes] == [False]


def test_nothing_is_cold_on_a_powered_off_vm():
    changes, dummy = spec.compute_changes(record(power_state=records.POWERED_OFF), cpu=8,
                                          extra_config={"guestinfo.metadata": "B"},
                                          cloud_init_keys={"guestinfo.metadata"})
    assert [c.cold for c in changes] == [False, False]


def test_guestinfo_changes_are_masked_and_cloud_init_is_cold():
    changes, reconfig = spec.compute_changes(
        record(), extra_config={"guestinfo.metadata": "NEWSECRET", "guestinfo.role": "web", "guestinfo.old": ""},
        cloud_init_keys={"guestinfo.metadata"})
    shown = {c.field: (c.before, c.after, c.cold) for c in changes}
    assert shown == {
        "guestinfo.metadata": ("%s (old)" % MASK, "%s (new)" % MASK, True),
        "guestinfo.role": (None, MASK, False),
        "guestinfo.old": (None, None, False),
    }
    assert "SECRET" not in " ".join(c.text() for c in changes)
    assert reconfig == {"extra_config": {"guestinfo.metadata": "NEWSECRET", "guestinfo.role": "web", "guestinfo.old": ""}}


def test_disk_grows_only():
    changes, reconfig = spec.compute_changes(record(), disk_gb=20)
    assert [(c.field, c.before, c.after, c.cold) for c in changes] == [("disk_gb", 10.0, 20, False)]
    assert reconfig == {"disk": {"key": 2000, "capacity_kb": 20 * GB}}
    with pytest.raises(GhostError) as err:
        spec.compute_changes(record(), disk_gb=5)
    assert "disks only grow" in str(err.value)
    assert err.value.option == "disk_gb"


def test_linked_disk_cannot_grow():
    linked = record(disks=[dict(record()["disks"][0], linked=True)])
    with pytest.raises(GhostError) as err:
        spec.disk_change(linked, 20)
    assert "linked clone" in str(err.value)
    assert spec.disk_change(linked, 10) is None
    with pytest.raises(GhostError):
        spec.disk_change(record(disks=[]), 10)


# -- power plans ------------------------------------------------------------------------------

COLD = [spec.Change("cpu", 2, 4, cold=True)]


@pytest.mark.parametrize("power, state, cold, force, steps", [
    (records.POWERED_ON, "poweredon", [], False, ["reconfigure"]),
    (records.POWERED_OFF, "poweredon", [], False, ["reconfigure", "power_on"]),
    (records.SUSPENDED, "poweredon", [], False, ["reconfigure", "power_on"]),
    (records.POWERED_ON, "poweredoff", [], False, ["shutdown", "reconfigure"]),
    (records.POWERED_ON, "poweredoff", COLD, False, ["shutdown", "reconfigure"]),
    (records.SUSPENDED, "poweredoff", [], False, ["power_off", "reconfigure"]),
    (records.POWERED_OFF, "poweredoff", [], False, ["reconfigure"]),
    (records.POWERED_ON, "restarted", [], False, ["shutdown", "reconfigure", "power_on"]),
    (records.POWERED_ON, "restarted", COLD, False, ["shutdown", "reconfigure", "power_on"]),
    (records.POWERED_OFF, "restarted", [], False, ["reconfigure", "power_on"]),
    (records.POWERED_ON, "present", [], False, ["reconfigure"]),
    (records.POWERED_OFF, "present", [], False, ["reconfigure"]),
    (records.POWERED_ON, "present", COLD, True, ["shutdown", "reconfigure", "power_on"]),
    (records.POWERED_ON, "poweredon", COLD, True, ["shutdown", "reconfigure", "power_on"]),
    (records.SUSPENDED, "present", COLD, True, ["power_off", "reconfigure"]),
])
def test_power_plan(*, power, state, cold, force, steps):
    assert spec.power_plan(power, state, cold_changes=cold, force=force) == steps


@pytest.mark.parametrize("state", ["present", "poweredon"])
def test_cold_changes_on_a_running_vm_need_force(state):
    with pytest.raises(GhostError) as err:
        spec.power_plan(records.POWERED_ON, state, cold_changes=COLD, force=False)
    assert "cpu: 2 -> 4" in str(err.value)
    assert "force: true" in str(err.value)
    assert err.value.details == {"changes": ["cpu: 2 -> 4"]}


def test_final_power_state():
    assert spec.final_power_state(records.POWERED_ON, ["shutdown", "reconfigure"]) == records.POWERED_OFF
    assert spec.final_power_state(records.POWERED_ON, ["shutdown", "reconfigure", "power_on"]) == records.POWERED_ON
    assert spec.final_power_state(records.SUSPENDED, ["reconfigure"]) == records.SUSPENDED


def test_absent_refusals():
    assert spec.absent_refusals(record(power_state=records.POWERED_OFF), force=False) == []
    reasons = spec.absent_refusals(record(extra_config={}), force=False)
    assert len(reasons) == 2
    assert "not created by ghost.infra" in reasons[0]
    assert "powered on" in reasons[1]
    assert spec.absent_refusals(record(power_state=records.SUSPENDED), force=False) == ["it is suspended"]
    assert spec.absent_refusals(record(extra_config={}), force=True) == []


# -- creation ---------------------------------------------------------------------------------

PLACEMENT = {
    "pools": {
        "resgroup-30": {"name": "Resources", "parent": "domain-s31", "owner": "domain-s31"},
        "resgroup-34": {"name": "Resources", "parent": "domain-c35", "owner": "domain-c35"},
        "resgroup-46": {"name": "lab", "parent": "resgroup-34", "owner": "domain-c35"},
    },
    "compute": {
        "domain-s31": {"name": "H0", "resource_pool": "resgroup-30", "hosts": ["host-28"]},
        "domain-c35": {"name": "C0", "resource_pool": "resgroup-34", "hosts": ["host-44"]},
    },
    "hosts": {"host-28": {"name": "H0", "parent": "domain-s31"}, "host-44": {"name": "C0_H0", "parent": "domain-c35"}},
    "datastores": {"datastore-1": {"name": "ds1", "accessible": True}, "datastore-2": {"name": "ds2", "accessible": False}},
    "networks": {
        "network-7": {"name": "VM Network", "kind": "standard", "key": None},
        "dvportgroup-17": {"name": "DVPG0", "kind": "distributed", "key": "dvportgroup-17", "switch_uuid": "50 1a"},
    },
}

TEMPLATE = record(moid="vm-3", name="tmpl", parent="group-3", template=True, power_state=records.POWERED_OFF,
                  host="host-44", extra_config={}, current_snapshot="snapshot-9")


def params(**overrides):
    base = {"folder": None, "resource_pool": None, "datastore": None, "network": None, "cpu": None,
            "memory_mb": None, "disk_gb": None, "linked_clone": False}
    base.update(overrides)
    return base


def clone(**overrides):
    extra = {records.MANAGED_KEY: "true", "guestinfo.metadata": "SECRET"}
    return spec.clone_request(name="web9", template=TEMPLATE, placement=PLACEMENT, inventory=INVENTORY,
                              datacenter="datacenter-2", params=params(**overrides), extra_config=extra,
                              power_on=True)


def test_clone_request_defaults_follow_the_template():
    request, predicted = clone()
    assert request == {
        "template": "vm-3", "name": "web9", "folder": "group-3", "pool": "resgroup-34",
        "datastore": "datastore-1", "linked_clone": False, "snapshot": None,
        "cpu": None, "memory_mb": None, "disk": None, "nic": None,
        "extra_config": {records.MANAGED_KEY: "true", "guestinfo.metadata": "SECRET"},
        "disk_format": None, "disk_keys": [2000],
    }
    assert predicted["folder"] == "/F0/DC0/vm"
    assert predicted["power_state"] == records.POWERED_ON
    assert predicted["cpu"] == 2 and predicted["memory_mb"] == 2048
    assert predicted["managed"] is True
    assert predicted["guestinfo"] == {"guestinfo.metadata": MASK}
    assert "SECRET" not in repr(predicted)


def test_clone_request_with_everything():
    request, predicted = clone(folder="lab", resource_pool="C0/Resources/lab", datastore="ds1", network="DVPG0",
                               cpu=4, memory_mb=8192, disk_gb=40)
    assert request["folder"] == "group-11"
    assert request["pool"] == "resgroup-46"
    assert request["disk"] == {"key": 2000, "capacity_kb": 40 * GB}
    assert request["nic"]["key"] == 4000
    assert request["nic"]["network"]["moid"] == "dvportgroup-17"
    assert request["nic"]["network"]["kind"] == "distributed"
    assert predicted["networks"] == ["DVPG0"]
    assert predicted["disks"][0]["capacity_gb"] == 40.0
    assert (predicted["cpu"], predicted["memory_mb"]) == (4, 8192)


def test_linked_clone_uses_the_current_snapshot():
    request, predicted = clone(linked_clone=True)
    assert request["snapshot"] == "snapshot-9"
    assert predicted["disks"][0]["linked"] is True
    no_snapshot = dict(TEMPLATE, current_snapshot=None)
    with pytest.raises(GhostError) as err:
        spec.clone_request(name="x", template=no_snapshot, placement=PLACEMENT, inventory=INVENTORY,
                           datacenter="datacenter-2", params=params(linked_clone=True), extra_config={},
                           power_on=False)
    assert "no snapshot" in str(err.value)
    with pytest.raises(GhostError) as err:
        clone(linked_clone=True, disk_gb=20)
    assert "linked clone" in str(err.value)


@pytest.mark.parametrize("overrides, option, text", [
    ({"datastore": "nope"}, "datastore", "found: ds1, ds2"),
    ({"datastore": "ds2"}, "datastore", "not accessible"),
    ({"resource_pool": "Resources"}, "resource_pool", "ambiguous"),
    ({"resource_pool": "nope"}, "resource_pool", "C0/Resources/lab"),
    ({"network": "nope"}, "network", "DVPG0, VM Network"),
    ({"folder": "nope"}, "folder", "/F0/DC0/vm/nope"),
    ({"disk_gb": 1}, "disk_gb", "only grow"),
])
def test_clone_request_errors_name_the_option(overrides, option, text):
    with pytest.raises(GhostError) as err:
        clone(**overrides)
    assert err.value.option == option
    assert text in str(err.value)


def test_standalone_host_discovery():
    placement = {
        "pools": {"ha-root-pool": {"name": "Resources", "parent": "ha-compute-res", "owner": "ha-compute-res"}},
        "compute": {"ha-compute-res": {"name": "localhost", "resource_pool": "ha-root-pool", "hosts": ["ha-host"]}},
        "hosts": {"ha-host": {"name": "localhost", "parent": "ha-compute-res"}},
        "datastores": {"ds": {"name": "datastore1", "accessible": True}},
        "networks": {},
    }
    template = dict(TEMPLATE, host=None, datastores=[])
    assert lookup.resolve_pool(None, template, placement) == "ha-root-pool"
    assert lookup.resolve_datastore(None, template, placement) == "ds"
    assert lookup.resolve_pool("Resources", template, placement) == "ha-root-pool"


def test_predict_and_diff_side():
    view = views.vm_view(record(), INVENTORY)
    changes, dummy = spec.compute_changes(record(), cpu=4, disk_gb=20,
                                          extra_config={"guestinfo.metadata": "", "guestinfo.role": "x"})
    after = views.predict(view, changes, power_state=records.POWERED_OFF)
    assert after["cpu"] == 4
    assert after["disks"][0]["capacity_gb"] == 20.0
    assert after["guestinfo"] == {"guestinfo.metadata.encoding": MASK, "guestinfo.role": MASK}
    assert after["power_state"] == records.POWERED_OFF
    assert view["cpu"] == 2  # the input is not modified
    side = views.diff_side(after)
    assert sorted(side) == sorted(("name",) + views.DIFF_FIELDS)
    assert views.diff_side(None) == {}


@pytest.mark.parametrize("overrides, option", [
    ({"cpu": 0}, "cpu"),
    ({"memory_mb": 1023}, "memory_mb"),
    ({"disk_gb": 0}, "disk_gb"),
    ({"wait_timeout": -1}, "wait_timeout"),
    ({"name": "/"}, "name"),
    ({"name": "lab/web1", "folder": "lab"}, "name"),
])
def test_check_params(overrides, option):
    with pytest.raises(GhostError) as err:
        spec.check_params(dict({"name": "web1"}, **overrides))
    assert err.value.option == option


def test_split_name_moves_a_path_to_folder():
    original = {"name": "lab/web/web1", "folder": None}
    assert spec.split_name(original) == {"name": "web1", "folder": "lab/web"}
    assert original["name"] == "lab/web/web1"
    assert spec.split_name({"name": "web1", "folder": "x"}) == {"name": "web1", "folder": "x"}


def test_clone_extra_config_clears_the_templates_stale_cloud_init_keys():
    all_keys = ("guestinfo.metadata", "guestinfo.vendordata")
    template_extra = {"guestinfo.vendordata": "OLD", "guestinfo.other": "kept by vSphere"}
    out = spec.clone_extra_config({"guestinfo.metadata": "M"}, {"guestinfo.role": "web"}, template_extra, all_keys)
    assert out == {"guestinfo.metadata": "M", "guestinfo.role": "web", "guestinfo.vendordata": "",
                   records.MANAGED_KEY: "true"}
    assert spec.clone_extra_config(None, {}, {}, all_keys) == {records.MANAGED_KEY: "true"}


def test_change_texts_end_with_the_power_state():
    changes = [spec.Change("cpu", 2, 4, cold=True)]
    on, off = records.POWERED_ON, records.POWERED_OFF
    assert spec.change_texts(changes, state="present", before=on, after=on) == ["cpu: 2 -> 4"]
    assert spec.change_texts(changes, state="poweredoff", before=on, after=off) == [
        "cpu: 2 -> 4", "power_state: poweredOn -> poweredOff"]
    assert spec.change_texts([], state="restarted", before=on, after=on) == ["power_state: restarted"]
    assert spec.change_texts([], state="restarted", before=off, after=on) == ["power_state: poweredOff -> poweredOn"]


@pytest.mark.parametrize("option, value, message", [
    ("cpu", 769, "must be at most 768, got 769"),
    ("memory_mb", 2 ** 40, "must be at most 25165824"),
    ("disk_gb", 62 * 1024 + 1, "must be at most 63488"),
    ("port", 70000, "must be at most 65535, got 70000"),
    ("ssh_port", 0, "must be at least 1"),
    ("name", "x" * 81, "must be at most 80 characters"),
    ("name", "lab/" + "x" * 81, "must be at most 80 characters"),
])
def test_check_params_refuses_what_esxi_refuses(option, value, message):
    with pytest.raises(GhostError, match=message) as raised:
        spec.check_params({"name": "web1", option: value})
    assert raised.value.option == option


def test_check_params_takes_the_maximums():
    spec.check_params({"name": "lab/" + "x" * 80, "cpu": 768, "memory_mb": 24 * 1024 * 1024, "disk_gb": 63488,
                       "port": 65535})
