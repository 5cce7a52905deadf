# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.vsphere inventory plugin on a stand-in vSphere client that counts its calls:
options and environment, constructed, the cache (zero calls on a fresh cache), a down API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys
import types

import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import vsphere_client
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import ApiUnreachableError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

SECRET = "s3cr3t-userdata-token"
PASSWORD = "hunter2-vsphere"


def vm(moid, name, *, power="poweredOn", ip=None, extra=None, template=False):
    """A VM as the PropertyCollector answers (soapxml's plain form)."""
    return (MoRef("VirtualMachine", moid), {
        "name": name, "parent": MoRef("Folder", "group-v3"), "config.template": "true" if template else "false",
        "config.uuid": "u-" + moid, "config.instanceUuid": "i-" + moid, "config.hardware.numCPU": "1",
        "config.hardware.memoryMB": "1024", "runtime.powerState": power, "guest.ipAddress": ip,
        "config.extraConfig": [{"key": k, "value": v} for k, v in sorted((extra or {}).items())],
        "network": [MoRef("Network", "network-7")],
        "config.hardware.device": [
            {"_type": "VirtualDisk", "key": "2000", "capacityInKB": "10485760", "deviceInfo": {"label": "Hard disk 1"},
             "backing": {"_type": "VirtualDiskFlatVer2BackingInfo", "fileName": "[ds] %s/%s.vmdk" % (name, name),
                         "thinProvisioned": "true"}},
            {"_type": "VirtualVmxnet3", "key": "4000", "macAddress": "00:50:56:00:00:01", "deviceInfo": {"label": "nic"},
             "backing": {"_type": "VirtualEthernetCardNetworkBackingInfo", "deviceName": "VM Network"}}],
    })


FOUND = [
    (MoRef("Datacenter", "datacenter-2"), {"name": "DC0", "parent": MoRef("Folder", "group-d1"),
                                           "vmFolder": MoRef("Folder", "group-v3")}),
    (MoRef("Folder", "group-v3"), {"name": "vm", "parent": MoRef("Datacenter", "datacenter-2")}),
    (MoRef("Network", "network-7"), {"name": "VM Network"}),
    vm("vm-1", "web1", ip="192.0.2.11", extra={"guestinfo.userdata": SECRET, "ghost.infra.managed": "true"}),
    vm("vm-2", "web2", power="poweredOff", extra={"guestinfo.ip": "192.0.2.12"}),
    vm("vm-3", "tpl", power="poweredOff", template=True),
]


class FakeClient:
    """What read_inventory uses of a VsphereClient: its one view read, and logout."""

    content = types.SimpleNamespace(rootFolder="root-folder")

    def __init__(self, api):
        self.api = api

    def _collect_view(self, what, root, properties):
        self.api.calls.append("read")
        self.api.properties.append(properties["VirtualMachine"])
        if self.api.down:
            raise GhostError("%s: the vSphere API connection failed: refused" % what)
        wanted = set(properties["VirtualMachine"]) | {"name"}
        return [(ref, {k: v for k, v in props.items() if ref.type != "VirtualMachine" or k in wanted})
                for ref, props in FOUND]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.api.calls.append("logout")
        return False


class FakeApi:
    """Stands in for VsphereClient.connect; records every call made to the API."""

    def __init__(self):
        self.calls = []
        self.properties = []
        self.connections = []
        self.down = False
        self.unreachable = False

    def connect(self, *, hostname, username, password, port=443, validate_certs=True, timeout=60):
        self.connections.append({"hostname": hostname, "username": username, "password": password, "port": port,
                                 "validate_certs": validate_certs, "timeout": timeout})
        if not hostname:
            raise GhostError("is required: set the option or the environment variable VMWARE_HOST", option="hostname")
        self.calls.append("login")
        if self.unreachable:
            raise ApiUnreachableError("Failed to connect to the vSphere API at %s:%s: Connection refused" % (hostname, port))
        return FakeClient(self)


@pytest.fixture
def api(monkeypatch):
    fake = FakeApi()
    original = vsphere_client.read_inventory

    def read_inventory(options, *, timeout, disks=False, connect=None):
        return original(options, timeout=timeout, disks=disks, connect=fake.connect)

    monkeypatch.setattr(vsphere_client, "read_inventory", read_inventory)
    for name, value in (("VMWARE_HOST", "vc.lab.example.com"), ("VMWARE_USER", "administrator@vsphere.local"),
                        ("VMWARE_PASSWORD", PASSWORD), ("VMWARE_PORT", "8443"), ("VMWARE_VALIDATE_CERTS", "false")):
        monkeypatch.setenv(name, value)
    return fake


BASIC = """\
plugin: ghost.infra.vsphere
"""


def test_one_read_per_refresh_with_the_environment_awx_injects(api, inventory_run):
    out = inventory_run("ghost.infra.vsphere", BASIC)
    assert api.calls == ["login", "read", "logout"]
    assert api.connections == [{"hostname": "vc.lab.example.com", "username": "administrator@vsphere.local",
                                "password": PASSWORD, "port": 8443, "validate_certs": False, "timeout": 60}]
    assert sorted(out.hosts) == ["tpl", "web1", "web2"]
    assert out.hosts["web1"]["ansible_host"] == "192.0.2.11"
    assert "ansible_host" not in out.hosts["web2"]
    assert out.groups == {"vsphere_poweredon": ["web1"], "vsphere_poweredoff": ["tpl", "web2"],
                          "vsphere_templates": ["tpl"], "vsphere_managed": ["web1"]}
    text = json.dumps(out.hosts)
    assert SECRET not in text and "192.0.2.12" not in text and PASSWORD not in text
    assert out.hosts["web1"]["vsphere_guestinfo"] == {"guestinfo.userdata": "********"}
    # Devices are not read by default: no disks, the networks from the VM's network list.
    assert "config.hardware.device" not in api.properties[0]
    assert "vsphere_disks" not in out.hosts["web1"] and out.hosts["web1"]["vsphere_networks"] == ["VM Network"]
    assert out.hosts["web1"]["vsphere_cpu"] == 1 and out.hosts["web1"]["vsphere_folder"] == "/DC0/vm"


def test_disks_read_the_devices(api, inventory_run):
    out = inventory_run("ghost.infra.vsphere", BASIC + "disks: true\n")
    assert "config.hardware.device" in api.properties[0]
    assert out.hosts["web1"]["vsphere_disks"] == [{"label": "Hard disk 1", "capacity_gb": 10.0, "file": "[ds] web1/web1.vmdk",
                                                   "thin": True, "linked": False}]
    assert out.hosts["web1"]["vsphere_networks"] == ["VM Network"]


def test_options_override_the_environment_and_filters_apply(api, inventory_run):
    out = inventory_run("ghost.infra.vsphere", """\
        plugin: ghost.infra.vsphere
        hostname: other.lab.example.com
        port: 443
        names: ["web*"]
        ansible_host_sources: [guest_ip, guestinfo.ip]
        """)
    assert api.connections[0]["hostname"] == "other.lab.example.com" and api.connections[0]["port"] == 443
    assert sorted(out.hosts) == ["web1", "web2"]
    assert out.hosts["web2"]["ansible_host"] == "192.0.2.12"
    assert out.hosts["web2"]["vsphere_address_source"] == "guestinfo.ip"


def test_constructed_compose_groups_and_keyed_groups(api, inventory_run):
    out = inventory_run("ghost.infra.vsphere", """\
        plugin: ghost.infra.vsphere
        templates: false
        compose:
          ansible_user: "'ubuntu'"
          big: vsphere_memory_mb >= 1024
        groups:
          managed_on: vsphere_managed and vsphere_power_state == 'poweredOn'
        keyed_groups:
          - key: vsphere_datacenter
            prefix: dc
          - key: vsphere_power_state
            separator: ""
        """)
    assert out.hosts["web1"]["ansible_user"] == "ubuntu" and out.hosts["web1"]["big"] is True
    assert out.groups["managed_on"] == ["web1"]
    assert out.groups["dc_DC0"] == ["web1", "web2"]
    assert out.groups["poweredOn"] == ["web1"] and out.groups["poweredOff"] == ["web2"]


CACHED = """\
plugin: ghost.infra.vsphere
cache: true
cache_plugin: jsonfile
cache_connection: {dir}
cache_timeout: 600
keyed_groups:
  - key: vsphere_power_state
    prefix: power
"""


def test_second_run_within_cache_timeout_makes_no_call(api, inventory_run, tmp_path):
    text = CACHED.format(dir=tmp_path / "cache")
    first = inventory_run("ghost.infra.vsphere", text)
    assert api.calls == ["login", "read", "logout"]
    del api.calls[:]
    second = inventory_run("ghost.infra.vsphere", text)
    assert api.calls == [] and api.connections[1:] == []
    assert second.hosts == first.hosts and second.groups == first.groups
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert "web1" in cached and SECRET not in cached and PASSWORD not in cached
    # constructed options are applied to cached hosts; they do not cause a read.
    third = inventory_run("ghost.infra.vsphere", text + "compose:\n  ansible_user: \"'admin'\"\n")
    assert api.calls == [] and third.hosts["web1"]["ansible_user"] == "admin"
    # --flush-cache (cache=False from ansible-inventory) reads again and refreshes the cache.
    inventory_run("ghost.infra.vsphere", text, cache=False)
    assert api.calls == ["login", "read", "logout"]
    # A changed filter is another source: it reads again.
    del api.calls[:]
    other = inventory_run("ghost.infra.vsphere", text + "names: [web1]\n")
    assert api.calls == ["login", "read", "logout"] and sorted(other.hosts) == ["web1"]


def test_down_api_warns_and_is_not_cached(api, inventory_run, tmp_path):
    text = CACHED.format(dir=tmp_path / "cache")
    api.unreachable = True
    out = inventory_run("ghost.infra.vsphere", text)
    assert out.hosts == {}
    assert out.warnings == [
        "ghost.infra.vsphere: cannot read the VMs of vc.lab.example.com:8443: Failed to connect to the vSphere API "
        "at vc.lab.example.com:8443: Connection refused; the inventory lacks its hosts (strict: true makes this an error)"]
    api.unreachable = False
    out = inventory_run("ghost.infra.vsphere", text)
    assert sorted(out.hosts) == ["tpl", "web1", "web2"] and api.calls.count("read") == 1


def test_down_api_with_strict_is_an_error_naming_it(api, inventory_run):
    api.down = True
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.vsphere", BASIC + "strict: true\n")
    assert str(err.value).startswith(
        "ghost.infra.vsphere: cannot read the VMs of vc.lab.example.com:8443: Failed to read the vSphere inventory")
    assert PASSWORD not in str(err.value)


@pytest.mark.parametrize("extra, message", [
    ("ansible_host_sources: [ip]\n",
     "ghost.infra.vsphere: ansible_host_sources: unknown source 'ip' (choices: guest_ip, name, guestinfo.<key>)"),
    ("name_format: '{vm}'\n", "ghost.infra.vsphere: name_format: unknown field '{vm}'"),
])
def test_bad_options_fail_before_any_call_even_without_strict(api, inventory_run, extra, message):
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.vsphere", BASIC + extra)
    assert str(err.value).startswith(message)
    assert api.calls == []


def test_missing_hostname_names_the_option_and_its_variable(api, inventory_run, monkeypatch):
    monkeypatch.delenv("VMWARE_HOST")
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.vsphere", BASIC)
    assert str(err.value) == ("ghost.infra.vsphere: hostname: is required: set the option or the environment "
                              "variable VMWARE_HOST")


@pytest.mark.parametrize("filename, ok", [
    ("lab.ghost.infra.vsphere.yml", True),
    ("ghost.infra.vsphere.yaml", True),
    ("lab.vsphere.yml", False),
    ("lab.ghost.infra.vsphere.json", False),
])
def test_verify_file_wants_the_plugin_name_in_the_file_name(api, inventory_run, filename, ok):
    assert inventory_run("ghost.infra.vsphere", BASIC, filename=filename).verified is ok


def test_expired_vms_are_in_group_expired_read_in_the_same_call(api, inventory_run, monkeypatch):
    expiry = {"ghost.infra.managed": "true", "ghost.infra.expires-at": "2020-01-01T00:00:00Z", "ghost.infra.ttl": "1s"}
    found = FOUND + [vm("vm-4", "gone", power="poweredOff", extra=expiry),
                     vm("vm-5", "kept", extra=dict(expiry, **{"ghost.infra.expires-at": "2999-01-01T00:00:00Z"}))]
    monkeypatch.setattr(sys.modules[__name__], "FOUND", found)
    out = inventory_run("ghost.infra.vsphere", BASIC)
    assert api.calls == ["login", "read", "logout"]
    assert "config.extraConfig" in api.properties[0]
    assert out.groups["expired"] == ["gone"]
    gone, kept = out.hosts["gone"], out.hosts["kept"]
    assert (gone["vsphere_expires_at"], gone["vsphere_expired"], gone["vsphere_ttl"]) == ("2020-01-01T00:00:00Z", True, "1s")
    assert (kept["vsphere_expired"], kept["vsphere_expires_at"]) == (False, "2999-01-01T00:00:00Z")
    assert out.hosts["web1"]["vsphere_expired"] is False and out.hosts["web1"]["vsphere_expires_at"] is None
