# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.vsphere through ansible-inventory against vSphere simulators.

The testbed's vCenter and ESXi simulators for what they hold (VMs and the template); a
simulator of this module's own with -trace for the SOAP requests one refresh makes (one
paged RetrievePropertiesEx) and a cached one makes (none at all); a port nobody listens on for
a down API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

import pytest
from pyVmomi import vim

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import client as client_mod
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner
from ansible_collections.ghost.infra.plugins.module_utils._inventory import vsphere_client
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import VsphereClient
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.copy_client import VmClient

from inventory_helpers import TEMPLATE, USER, free_port

SECRET = "it-userdata-s3cr3t-9f2c"


def env_of(env, which):
    out = {k: env[k] for k in ("VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS")}
    out["VMWARE_PORT"] = env["VMWARE_PORT"] if which == "vcenter" else env["GHOST_ESXI_PORT"]
    return out


@pytest.mark.parametrize("which", ["vcenter", "esxi"])
def test_lists_every_vm_and_the_template_of_the_testbed(testbed, ansible_inventory, source_file, helpers, which):
    source = source_file("vsphere", """\
plugin: ghost.infra.vsphere
keyed_groups:
  - key: vsphere_datacenter
    prefix: dc
  - key: vsphere_power_state
    prefix: power
compose:
  vm_cpus: vsphere_cpu
""")
    env = env_of(testbed, which)
    listed = ansible_inventory(source, "--list", env=env)
    assert listed.returncode == 0, listed.stderr
    groups = helpers.tree(listed.json)
    hostvars = listed.json["_meta"]["hostvars"]
    # What the simulator holds, read independently through the client the module uses.
    with VsphereClient.connect(hostname=env["VMWARE_HOST"], username=env["VMWARE_USER"], password=env["VMWARE_PASSWORD"],
                               port=int(env["VMWARE_PORT"]), validate_certs=False) as client:
        expected = sorted(vm["name"] for vm in client.inventory()["vms"])
    assert sorted(hostvars) == expected and TEMPLATE in expected and len(expected) >= 3
    assert groups["vsphere_templates"] == [TEMPLATE]
    datacenter = "ha-datacenter" if which == "esxi" else "DC0"
    assert groups["dc_" + datacenter.replace("-", "_")] == expected
    assert sorted(groups["power_poweredOn"] + groups.get("power_poweredOff", [])) == expected
    assert hostvars[TEMPLATE]["vsphere_template"] is True
    assert all(hv["vm_cpus"] == hv["vsphere_cpu"] for hv in hostvars.values())
    graph = ansible_inventory(source, "--graph", env=env)
    assert graph.returncode == 0 and "@vsphere_templates:" in graph.stdout and TEMPLATE in graph.stdout
    assert env["VMWARE_PASSWORD"] not in listed.stdout + listed.stderr + graph.stdout + graph.stderr


class Counter:
    """Counts the API methods a VsphereClient calls (pyVmomi's stub and its own raw reads)."""

    def __init__(self):
        self.names = []
        self.logins = 0

    def connect(self, **kwargs):
        client = VsphereClient.connect(**kwargs)
        self.logins += 1
        invoke, post = client._stub.InvokeMethod, client._post

        def counted_invoke(mo, info, args, *rest):
            self.names.append(info.wsdlName)
            return invoke(mo, info, args, *rest)

        def counted_post(method, args):
            self.names.append(method)
            return post(method, args)

        client._stub.InvokeMethod = counted_invoke
        client._post = counted_post
        return client


def test_one_paged_read_per_refresh_whatever_the_page_size(testbed, monkeypatch):
    """With pages of 2 objects the same single read pages through ContinueRetrievePropertiesEx;
    nothing is read per VM."""
    options = {"hostname": testbed["VMWARE_HOST"], "username": testbed["VMWARE_USER"],
               "password": testbed["VMWARE_PASSWORD"], "port": int(testbed["VMWARE_PORT"]), "validate_certs": False}
    counter = Counter()
    whole = vsphere_client.read_inventory(options, timeout=30, connect=counter.connect)
    assert counter.logins == 1
    # The client walks the inventory with TraversalSpecs from the root folder: no view to create.
    assert counter.names == ["RetrievePropertiesEx", "Logout"]
    monkeypatch.setattr(client_mod, "PAGE_SIZE", 2)
    counter = Counter()
    paged = vsphere_client.read_inventory(options, timeout=30, connect=counter.connect)
    assert counter.names[:1] == ["RetrievePropertiesEx"] and counter.names[-1:] == ["Logout"]
    assert set(counter.names[1:-1]) == {"ContinueRetrievePropertiesEx"}
    assert sorted(v["moid"] for v in paged["vms"]) == sorted(v["moid"] for v in whole["vms"])


def _reconfigure(sim, name, extra):
    with VsphereClient.connect(hostname="127.0.0.1", username=USER, password=sim.password, port=sim.port,
                               validate_certs=False) as client:
        moid = [v["moid"] for v in client.inventory()["vms"] if v["name"] == name][0]
        client.reconfigure(moid, {"extra_config": extra}, name)


def test_soap_calls_per_refresh_and_none_from_a_fresh_cache(traced_vcsim, ansible_inventory, source_file, tmp_path):
    sim = traced_vcsim
    _reconfigure(sim, "DC0_H0_VM0", {"SET.guest.ipAddress": "198.51.100.40", "guestinfo.userdata": SECRET,
                                     "guestinfo.ip": "198.51.100.41"})
    source = source_file("vsphere", """\
plugin: ghost.infra.vsphere
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %s
cache_timeout: 600
ansible_host_sources: [guestinfo.ip, guest_ip]
""" % (tmp_path / "cache"))
    mark = sim.mark()
    first = ansible_inventory(source, "--list", env=sim.env())
    assert first.returncode == 0, first.stderr
    calls = sim.calls_since(mark)
    # Login (service content, login), the one walk of the inventory, logout: no call per VM.
    assert calls.count("RetrievePropertiesEx") == 1 and "ContinueRetrievePropertiesEx" not in calls
    allowed = {"RetrieveServiceContent", "Login", "RetrievePropertiesEx", "Logout"}
    assert {"Login", "RetrievePropertiesEx", "Logout"} <= set(calls) <= allowed
    assert len(calls) <= 8, calls
    hostvars = first.json["_meta"]["hostvars"]
    assert hostvars["DC0_H0_VM0"]["ansible_host"] == "198.51.100.41"
    assert hostvars["DC0_H0_VM0"]["vsphere_ip_address"] == "198.51.100.40"
    assert hostvars["DC0_H0_VM0"]["vsphere_guestinfo"] == {"guestinfo.ip": "********", "guestinfo.userdata": "********"}
    cache_text = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    for text in (first.stdout, first.stderr, cache_text):
        assert SECRET not in text and sim.password not in text

    mark = sim.mark()
    second = ansible_inventory(source, "--list", env=sim.env())
    assert second.returncode == 0, second.stderr
    assert sim.calls_since(mark) == []
    assert second.json == first.json

    mark = sim.mark()
    flushed = ansible_inventory(source, "--list", "--flush-cache", env=sim.env())
    assert flushed.returncode == 0 and sim.calls_since(mark).count("RetrievePropertiesEx") == 1


def test_down_api_is_a_warning_or_with_strict_an_error(testbed, ansible_inventory, source_file):
    env = dict(env_of(testbed, "vcenter"), VMWARE_PORT=str(free_port()))
    source = source_file("vsphere", "plugin: ghost.infra.vsphere\ntimeout: 5\n")
    lenient = ansible_inventory(source, "--list", env=env)
    assert lenient.returncode == 0
    assert "ghost.infra.vsphere: cannot read the VMs of 127.0.0.1:%s" % env["VMWARE_PORT"] in lenient.stderr
    assert "strict: true makes this an error" in lenient.stderr
    assert list(lenient.json["_meta"]["hostvars"]) == []
    strict = source_file("vsphere", "plugin: ghost.infra.vsphere\ntimeout: 5\nstrict: true\n", name="strict")
    failed = ansible_inventory(strict, "--list", env=dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    assert failed.returncode != 0
    assert ("ghost.infra.vsphere: cannot read the VMs of 127.0.0.1:%s: Failed to connect to the vSphere API"
            % env["VMWARE_PORT"]) in failed.stderr
    assert env["VMWARE_PASSWORD"] not in failed.stderr + lenient.stderr
    assert "Traceback" not in failed.stderr + lenient.stderr


def test_json_of_hosts_has_no_guestinfo_value(testbed, ansible_inventory, source_file):
    """Whatever guestinfo the testbed's VMs hold (esxi_vm's tests seed cloud-init there), none
    of it is in the inventory: only keys with masked values."""
    env = env_of(testbed, "esxi")
    listed = ansible_inventory(source_file("vsphere", "plugin: ghost.infra.vsphere\n"), "--list", env=env)
    assert listed.returncode == 0, listed.stderr
    with VsphereClient.connect(hostname=env["VMWARE_HOST"], username=env["VMWARE_USER"], password=env["VMWARE_PASSWORD"],
                               port=int(env["VMWARE_PORT"]), validate_certs=False) as client:
        values = [v for vm in client.inventory(full=True)["vms"] for k, v in vm["extra_config"].items()
                  if k.startswith("guestinfo.") and len(v) > 8]
    text = json.dumps(listed.json)
    assert not [v for v in values if v in text]


def test_with_disks_the_hostvars_are_esxi_vm_info_fields(testbed, ansible_inventory, source_file):
    env = env_of(testbed, "vcenter")
    listed = ansible_inventory(source_file("vsphere", "plugin: ghost.infra.vsphere\ndisks: true\n"), "--list", env=env)
    assert listed.returncode == 0, listed.stderr
    hostvars = listed.json["_meta"]["hostvars"]
    with VsphereClient.connect(hostname=env["VMWARE_HOST"], username=env["VMWARE_USER"], password=env["VMWARE_PASSWORD"],
                               port=int(env["VMWARE_PORT"]), validate_certs=False) as client:
        info = {vm["name"]: vm for vm in runner.vm_info(client, {"name": None, "folder": None})["vms"]}
    common = set(info) & set(hostvars)
    assert TEMPLATE in common
    for name in common:
        shown = {k[len("vsphere_"):]: v for k, v in hostvars[name].items() if k.startswith("vsphere_")}
        shown.pop("address_source")
        assert set(shown) == set(info[name]), name
    template = {k[len("vsphere_"):]: v for k, v in hostvars[TEMPLATE].items() if k.startswith("vsphere_")}
    template.pop("address_source")
    assert template == info[TEMPLATE]
    assert info[TEMPLATE]["disks"] and info[TEMPLATE]["networks"]


def _ttl_task(env, name, **overrides):
    base = {"hostname": env["VMWARE_HOST"], "username": env["VMWARE_USER"], "password": env["VMWARE_PASSWORD"],
            "port": int(env["VMWARE_PORT"]), "validate_certs": False, "name": name, "state": "present",
            "template": TEMPLATE, "datacenter": None, "folder": None, "resource_pool": None, "datastore": None,
            "network": None, "cpu": None, "memory_mb": None, "disk_gb": None, "linked_clone": False,
            "disk_format": None, "cloud_init": None, "guestinfo": None, "wait_for_ip": False, "wait_timeout": 30,
            "shutdown_timeout": 0, "force": True, "fallback": "none", "ttl": None, "expires_at": None,
            "max_ttl": None}
    base.update(overrides)
    return base


@pytest.mark.parametrize("which", ["vcenter", "esxi"])
def test_an_expired_vm_is_in_group_expired_until_renewed(testbed, ansible_inventory, source_file, which):
    """A VM made with ttl: 1s carries the expiry in extraConfig (read with plain pyVmomi); 2 s
    later the plugin puts it in the group ``expired`` with its expiry host variables; renewed
    with a longer TTL it is not expired any more."""
    env = env_of(testbed, which)
    name = "ghost-it-inv-ttl-%s" % which
    source = source_file("vsphere", "plugin: ghost.infra.vsphere\nnames: ['ghost-it-inv-ttl-*', '%s']\n" % TEMPLATE)

    def ensure(**overrides):
        # The module's client (VmClient): on the standalone host a create copies disks (no CloneVM).
        with VmClient.connect(**{k: _ttl_task(env, name)[k] for k in runner.CONNECTION_OPTIONS}) as client:
            result = runner.ensure_vm(client, _ttl_task(env, name, **overrides))
            if result["vm"]:
                vm = vim.VirtualMachine(result["vm"]["moid"], client._stub)
                result["held"] = {o.key: o.value for o in vm.config.extraConfig if o.key.startswith("ghost.infra.")}
            return result

    ensure(state="absent")
    try:
        created = ensure(ttl="1s")
        assert created["held"]["ghost.infra.ttl"] == "1s" and created["held"]["ghost.infra.managed"] == "true"
        expires = created["held"]["ghost.infra.expires-at"]
        time.sleep(2)
        listed = ansible_inventory(source, "--list", env=env)
        assert listed.returncode == 0, listed.stderr
        hostvars = listed.json["_meta"]["hostvars"][name]
        assert (hostvars["vsphere_expires_at"], hostvars["vsphere_expired"], hostvars["vsphere_ttl"]) == (expires, True, "1s")
        assert listed.json["expired"]["hosts"] == [name]  # the template has no expiry
        assert listed.json["_meta"]["hostvars"][TEMPLATE]["vsphere_expired"] is False

        renewed = ensure(ttl="1h")
        assert renewed["changed"] is True and renewed["held"]["ghost.infra.ttl"] == "1h"
        listed = ansible_inventory(source, "--list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert "expired" not in listed.json or name not in listed.json["expired"].get("hosts", [])
        assert listed.json["_meta"]["hostvars"][name]["vsphere_expired"] is False
    finally:
        ensure(state="absent")
