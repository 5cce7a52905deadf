# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/spec.py: options, names, MACs, wanted fields, comparison, power-state plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import spec


def params(**over):
    base = {"name": "vm1", "state": "running", "vcpus": None, "memory_mb": None, "domain_type": None,
            "firmware": None, "autostart": None, "base_image": None, "pool": "default", "disk_gb": None,
            "cloud_init": None, "interfaces": None, "kernel": None, "initrd": None, "cmdline": None,
            "console_log": None, "wait_for_ip": False, "wait_timeout": 300, "shutdown_timeout": 120,
            "force": False}
    base.update(over)
    return base


def existing(**over):
    fields = {
        "type": "kvm", "vcpus": 2, "memory_mb": 2048, "firmware": "bios", "kernel": None,
        "initrd": None, "cmdline": None, "console_log": None,
        "disks": [spec.overlay_disk("/p/vm1.qcow2", "/p/base.qcow2", "qcow2"),
                  spec.seed_disk("/p/vm1-cidata-aaaaaaaaaaaa.iso")],
        "interfaces": [{"type": "network", "source": "default", "mac": "52:54:00:00:00:01",
                        "model": "virtio"}],
        "metadata": {"base": "/p/base.qcow2", "volumes": [
            {"role": "overlay", "pool": "default", "name": "vm1.qcow2", "path": "/p/vm1.qcow2"},
            {"role": "seed", "pool": "default", "name": "vm1-cidata-aaaaaaaaaaaa.iso",
             "path": "/p/vm1-cidata-aaaaaaaaaaaa.iso", "sha256": "a" * 64, "instance_id": "iid-1"}]},
    }
    fields.update(over)
    return fields


@pytest.mark.parametrize("name", ["vm1", "web-01.lab", "A_b", "x" * 64])
def test_valid_names(name):
    assert spec.check_name(name) == name


@pytest.mark.parametrize("name", ["", "-vm", ".vm", "vm/1", "vm 1", "x" * 65, "vm;rm", None])
def test_invalid_names_name_the_option(name):
    with pytest.raises(GhostError) as err:
        spec.check_name(name)
    assert err.value.option == "name"
    assert "not a valid domain name" in str(err.value)


def test_stable_mac_is_deterministic_unicast_and_per_index():
    first = spec.stable_mac("vm1", 0)
    assert first == spec.stable_mac("vm1", 0)
    assert first.startswith("52:54:00:")
    assert first != spec.stable_mac("vm1", 1)
    assert first != spec.stable_mac("vm2", 0)
    assert int(first.split(":")[0], 16) & 1 == 0
    assert len(first.split(":")) == 6


def test_interfaces_get_derived_macs_and_defaults():
    nics = spec.normalize_interfaces("vm1", [{"network": "default"}, {"bridge": "br0", "mac": "52-54-00-AA-BB-CC", "model": "e1000e"}])
    assert nics == [
        {"type": "network", "source": "default", "mac": spec.stable_mac("vm1", 0), "model": "virtio"},
        {"type": "bridge", "source": "br0", "mac": "52:54:00:aa:bb:cc", "model": "e1000e"},
    ]
    assert spec.normalize_interfaces("vm1", None) is None
    assert spec.normalize_interfaces("vm1", []) == []


@pytest.mark.parametrize("nics, option, text", [
    ([{"network": "a", "bridge": "b"}], "interfaces[0]", "exactly one"),
    ([{}], "interfaces[0]", "exactly one"),
    ([{"network": "a", "mac": "zz"}], "interfaces[0].mac", "not a MAC"),
    ([{"network": "a", "mac": "01:00:5e:00:00:01"}], "interfaces[0].mac", "multicast"),
    ([{"network": "a", "mac": "52:54:00:00:00:01"}, {"network": "b", "mac": "52:54:00:00:00:01"}],
     "interfaces[1].mac", "used twice"),
    ([{"network": "bad name"}], "interfaces[0].network", "not a valid network"),
])
def test_bad_interfaces(nics, option, text):
    with pytest.raises(GhostError) as err:
        spec.normalize_interfaces("vm1", nics)
    assert err.value.option == option
    assert text in str(err.value)


@pytest.mark.parametrize("over, option, text", [
    ({"memory_mb": 0}, "memory_mb", "at least 1 (MiB), got 0"),
    ({"vcpus": 0}, "vcpus", "at least 1"),
    ({"disk_gb": -1}, "disk_gb", "at least 1"),
    ({"shutdown_timeout": -1}, "shutdown_timeout", "at least 0"),
    ({"name": "bad/name"}, "name", "not a valid domain name"),
    ({"wait_for_ip": True, "state": "stopped"}, "wait_for_ip", "needs state=running"),
    ({"kernel": "vmlinuz"}, "kernel", "absolute path"),
    ({"console_log": "console.log"}, "console_log", "absolute path"),
    ({"kernel": "", "cmdline": "quiet"}, "cmdline", "needs a kernel"),
    ({"pool": "a b"}, "pool", "not a valid storage pool"),
])
def test_validate_refuses_bad_options(over, option, text):
    with pytest.raises(GhostError) as err:
        spec.validate(params(**over))
    assert err.value.option == option
    assert text in str(err.value)


def test_validate_returns_interfaces():
    assert spec.validate(params(interfaces=[{"network": "n"}]))[0]["mac"] == spec.stable_mac("vm1", 0)


@pytest.mark.parametrize("value, expected", [
    ("/var/lib/libvirt/images/base.qcow2", {"path": "/var/lib/libvirt/images/base.qcow2"}),
    ("images/base.qcow2", {"pool": "images", "volume": "base.qcow2"}),
    ("base.qcow2", {"pool": "default", "volume": "base.qcow2"}),
])
def test_parse_base_image(value, expected):
    assert spec.parse_base_image(value, "default") == expected


@pytest.mark.parametrize("value", ["", "  ", "pool/", "x/a/b"])
def test_parse_base_image_refuses(value):
    with pytest.raises(GhostError) as err:
        spec.parse_base_image(value, "default")
    assert err.value.option == "base_image"


def test_desired_fields_for_a_new_domain_use_create_defaults():
    overlay = {"disk": spec.overlay_disk("/p/vm1.qcow2", "/p/base.qcow2", "qcow2"),
               "volume": {"role": "overlay", "pool": "default", "name": "vm1.qcow2", "path": "/p/vm1.qcow2"}}
    want = spec.desired_fields(None, params(), domain_type="qemu", interfaces=None, overlay=overlay)
    assert want["type"] == "qemu"
    assert want["vcpus"] == 1 and want["memory_mb"] == 1024 and want["firmware"] == "bios"
    assert want["disks"] == [overlay["disk"]]
    assert want["interfaces"] == []
    assert want["metadata"] == {"base": "/p/base.qcow2", "volumes": [overlay["volume"]], "reset": None, "lifetime": {}}


def test_desired_fields_keep_what_is_not_set():
    current = existing()
    want = spec.desired_fields(current, params(), domain_type=None, interfaces=None)
    assert spec.changed_fields(current, want) == []


def test_desired_fields_override_only_what_is_set():
    current = existing()
    want = spec.desired_fields(current, params(memory_mb=4096, console_log="/log"), domain_type=None,
                               interfaces=None)
    assert spec.changed_fields(current, want) == ["memory_mb", "console_log"]
    assert want["vcpus"] == 2


def test_empty_string_removes_kernel_boot():
    current = existing(kernel="/k", initrd="/i", cmdline="root=/dev/vda")
    want = spec.desired_fields(current, params(kernel="", initrd="", cmdline=""), domain_type=None,
                               interfaces=None)
    assert (want["kernel"], want["initrd"], want["cmdline"]) == (None, None, None)
    with pytest.raises(GhostError) as err:
        spec.desired_fields(current, params(kernel=""), domain_type=None, interfaces=None)
    assert err.value.option == "initrd"


def test_a_new_seed_replaces_the_old_one_and_other_disks_stay():
    extra = {"device": "disk", "type": "file", "path": "/p/data.qcow2", "format": "qcow2", "bus": "virtio",
             "target": "vdb", "backing": None, "backing_format": None, "readonly": False}
    current = existing()
    current["disks"].append(extra)
    seed = {"disk": spec.seed_disk("/p/vm1-cidata-bbbbbbbbbbbb.iso"),
            "volume": {"role": "seed", "pool": "default", "name": "vm1-cidata-bbbbbbbbbbbb.iso",
                       "path": "/p/vm1-cidata-bbbbbbbbbbbb.iso", "sha256": "b" * 64, "instance_id": "iid-2"}}
    want = spec.desired_fields(current, params(), domain_type=None, interfaces=None, seed=seed)
    assert [d["path"] for d in want["disks"]] == ["/p/vm1.qcow2", "/p/data.qcow2", "/p/vm1-cidata-bbbbbbbbbbbb.iso"]
    roles = {v["role"]: v["name"] for v in want["metadata"]["volumes"]}
    assert roles == {"overlay": "vm1.qcow2", "seed": "vm1-cidata-bbbbbbbbbbbb.iso"}
    assert spec.changed_fields(current, want) == ["disks", "metadata"]


def test_interfaces_list_replaces_nics():
    current = existing()
    want = spec.desired_fields(current, params(), domain_type=None, interfaces=[])
    assert want["interfaces"] == []
    assert spec.changed_fields(current, want) == ["interfaces"]


def test_restart_comparison_ignores_backing_and_bookkeeping_but_not_the_seed():
    persistent = existing()
    live = existing()
    live["disks"] = [dict(d, backing=None) for d in live["disks"]]
    live["metadata"] = {"base": None, "volumes": [dict(v) for v in persistent["metadata"]["volumes"]]}
    assert spec.changed_fields(live, persistent, for_restart=True) == []
    assert spec.changed_fields(live, persistent) == ["disks", "metadata"]
    live["metadata"]["volumes"][1]["sha256"] = "c" * 64
    assert spec.changed_fields(live, persistent, for_restart=True) == ["metadata"]


def test_changed_fields_of_nothing_is_everything():
    assert spec.changed_fields(None, existing()) == list(spec.FIELDS)


def test_capacity_plan():
    gib = spec.GIB
    assert spec.capacity_plan(disk_gb=None, current_bytes=5 * gib, base_bytes=None) is None
    assert spec.capacity_plan(disk_gb=5, current_bytes=5 * gib, base_bytes=None) is None
    assert spec.capacity_plan(disk_gb=8, current_bytes=5 * gib, base_bytes=None) == 8 * gib
    assert spec.capacity_plan(disk_gb=8, current_bytes=None, base_bytes=3 * gib) == 8 * gib
    with pytest.raises(GhostError) as err:
        spec.capacity_plan(disk_gb=2, current_bytes=int(2.5 * gib), base_bytes=None)
    assert err.value.option == "disk_gb"
    assert "it is 2.5 GiB (disks only grow)" in str(err.value)


def test_resolve_domain_type():
    assert spec.resolve_domain_type("auto", host_has_kvm=True) == "kvm"
    assert spec.resolve_domain_type("auto", host_has_kvm=False) == "qemu"
    assert spec.resolve_domain_type("qemu", host_has_kvm=True) == "qemu"
    with pytest.raises(GhostError) as err:
        spec.resolve_domain_type("kvm", host_has_kvm=False)
    assert err.value.option == "domain_type"


@pytest.mark.parametrize("current, wanted, actions", [
    ("stopped", "running", ["start"]),
    ("stopped", "paused", ["start_paused"]),
    ("running", "paused", ["suspend"]),
    ("running", "stopped", ["shutdown"]),
    ("paused", "running", ["resume"]),
    ("paused", "stopped", ["resume", "shutdown"]),
    ("crashed", "running", ["destroy", "start"]),
    ("pmsuspended", "running", ["wakeup"]),
    ("running", "running", []),
    ("running", "present", []),
    ("unknown", "present", []),
])
def test_state_actions(current, wanted, actions):
    assert spec.state_actions(current, wanted) == actions


def test_state_actions_refuse_unknown_state():
    with pytest.raises(GhostError):
        spec.state_actions("unknown", "running")


def test_state_names():
    assert [spec.state_name(n) for n in range(9)] == [
        "unknown", "running", "running", "paused", "running", "stopped", "crashed", "pmsuspended", "unknown"]


def test_domain_view():
    view = spec.domain_view(existing(), name="vm1", uuid="u", state="running", autostart=True,
                            addresses={"52:54:00:00:00:01": ["192.0.2.5"]})
    assert view["disks"][0] == {"path": "/p/vm1.qcow2", "format": "qcow2", "backing": "/p/base.qcow2",
                                "device": "disk", "target": "vda", "bus": "virtio"}
    assert view["interfaces"] == [{"mac": "52:54:00:00:00:01", "type": "network", "network": "default",
                                   "bridge": None, "model": "virtio", "addresses": ["192.0.2.5"]}]
    assert view["cloud_init_instance_id"] == "iid-1"
    assert view["restart_required"] is False
    assert (view["memory_mb"], view["vcpus"], view["autostart"]) == (2048, 2, True)


def test_volume_names():
    assert spec.overlay_volume_name("vm1") == "vm1.qcow2"
    assert spec.seed_volume_name("vm1", "0123456789abcdef" * 4) == "vm1-cidata-0123456789ab.iso"


# -- golden reset ------------------------------------------------------------------------


def test_reset_record_rules():
    assert spec.reset_record(existing(), None) == (False, None)
    assert spec.reset_record(None, "t1") == (False, {"token": "t1", "count": 0})  # created golden
    recorded = existing(metadata=dict(existing()["metadata"], reset={"token": "t1", "count": 2}))
    assert spec.reset_record(recorded, "t1") == (False, None)
    assert spec.reset_record(recorded, "t2") == (True, {"token": "t2", "count": 3})
    assert spec.reset_record(existing(), "t1") == (True, {"token": "t1", "count": 1})  # none recorded


def test_reset_token_changes_the_metadata_only():
    recorded = existing(metadata=dict(existing()["metadata"], reset={"token": "t1", "count": 0}))
    want = spec.desired_fields(recorded, params(), domain_type=None, interfaces=None,
                               reset={"token": "t2", "count": 1})
    assert spec.changed_fields(recorded, want) == ["metadata"]
    assert spec.changed_fields(recorded, want, for_restart=True) == []
    kept = spec.desired_fields(recorded, params(), domain_type=None, interfaces=None)
    assert kept["metadata"]["reset"] == {"token": "t1", "count": 0} and spec.changed_fields(recorded, kept) == []


@pytest.mark.parametrize("token", ["", " t", "t ", "x" * 129, "caf\u00e9", "a\nb"])
def test_bad_reset_tokens_name_the_option(token):
    with pytest.raises(GhostError) as err:
        spec.validate(params(reset_token=token))
    assert err.value.option == "reset_token"


@pytest.mark.parametrize("token", ["1", "build 42", "2024-06-01T10:00:00", "x" * 128])
def test_good_reset_tokens(token):
    spec.validate(params(reset_token=token))


def test_wanted_state_keeps_the_current_one_for_present():
    assert spec.wanted_state("running", "stopped", exists=True) == "running"
    assert spec.wanted_state("present", "paused", exists=True) == "paused"
    assert spec.wanted_state("present", "stopped", exists=False) == "stopped"
    assert spec.state_actions("crashed", "crashed") == []


def test_reset_view():
    fields = existing(metadata=dict(existing()["metadata"], reset={"token": "t2", "count": 1}))
    assert spec.reset_view(fields, performed=True) == {"token": "t2", "count": 1, "performed": True}
    assert spec.reset_view(existing(), performed=False) == {"token": None, "count": 0, "performed": False}


def test_kernel_and_initrd_are_checked_on_a_local_hypervisor(tmp_path):
    kernel = tmp_path / "vmlinuz"
    kernel.write_text("k")
    local = {"uri": "qemu:///system", "state": "running", "kernel": str(kernel), "initrd": None}
    spec.check_local_files(local)
    with pytest.raises(GhostError, match="does not exist on the hypervisor") as raised:
        spec.check_local_files(dict(local, kernel=str(tmp_path / "none")))
    assert raised.value.option == "kernel"
    with pytest.raises(GhostError, match="is not a regular file") as raised:
        spec.check_local_files(dict(local, initrd=str(tmp_path)))
    assert raised.value.option == "initrd"
    # A remote hypervisor has its own files; removing needs none.
    spec.check_local_files(dict(local, uri="qemu+ssh://root@kvm1/system", kernel="/nowhere"))
    spec.check_local_files(dict(local, state="absent", kernel="/nowhere"))
