# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/libvirt_spec.py: host names across URIs, the address sources in order, groups
by state and host, filters and option checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import libvirt_spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.spec import domain_view

LOCAL = "qemu:///system"
KVM1 = "qemu+ssh://virt@kvm1.lab.example.com:2222/system?no_tty=1"


def domain(name, *, state="running", uuid=None, macs=("52:54:00:00:00:01",), addresses=None):
    fields = {"name": name, "uuid": uuid or "uuid-" + name, "type": "kvm", "vcpus": 1, "memory_mb": 512,
              "firmware": "bios", "kernel": None, "initrd": None, "cmdline": None, "console_log": None,
              "disks": [], "metadata": {"base": None, "volumes": [], "reset": None}, "restart_flag": False,
              "interfaces": [{"type": "network", "source": "default", "mac": m, "model": "virtio"} for m in macs]}
    return {"name": name, "state": state, "autostart": False, "fields": fields, "addresses": addresses or {}}


def options(**overrides):
    base = {"uris": [LOCAL, KVM1], "aliases": {}, "address_sources": ["lease", "agent", "arp"], "names": [],
            "exclude_names": [], "states": [], "name_format": "{host}_{domain}", "hostvars_prefix": "libvirt_"}
    base.update(overrides)
    return base


def by_name(hosts):
    return {h["name"]: h for h in hosts}


@pytest.mark.parametrize("uri, aliases, expected", [
    (LOCAL, {}, "localhost"),
    ("qemu:///session", {}, "localhost"),
    (KVM1, {}, "kvm1.lab.example.com"),
    (KVM1, {KVM1: "kvm1"}, "kvm1"),
    ("qemu+tcp://[2001:db8::7]/system", {}, "2001:db8::7"),
])
def test_uri_host(uri, aliases, expected):
    assert libvirt_spec.uri_host(uri, aliases) == expected


def test_same_domain_name_on_two_hypervisors_gives_two_hosts_and_groups():
    reads = [(LOCAL, [domain("web", addresses={"lease": {"52:54:00:00:00:01": ["192.0.2.10"]}})]),
             (KVM1, [domain("web", state="stopped", uuid="other")])]
    hosts, warnings = libvirt_spec.hosts(reads, options(aliases={KVM1: "kvm1"}))
    assert warnings == []
    found = by_name(hosts)
    assert sorted(found) == ["kvm1_web", "localhost_web"]
    assert found["localhost_web"]["groups"] == ["libvirt_host_localhost", "libvirt_state_running"]
    assert found["kvm1_web"]["groups"] == ["libvirt_host_kvm1", "libvirt_state_stopped"]
    local = found["localhost_web"]["vars"]
    assert local["ansible_host"] == "192.0.2.10" and local["libvirt_address_source"] == "lease"
    assert local["libvirt_uri"] == LOCAL and local["libvirt_host"] == "localhost"
    assert local["libvirt_interfaces"][0]["addresses"] == ["192.0.2.10"]
    assert "ansible_host" not in found["kvm1_web"]["vars"]


def test_hostvars_are_libvirt_domain_info_fields():
    dom = domain("db")
    hosts, _warnings = libvirt_spec.hosts([(LOCAL, [dom])], options())
    view = domain_view(dom["fields"], name="db", uuid="uuid-db", state="running", autostart=False, addresses={})
    expected = {"libvirt_" + k: v for k, v in view.items()}
    expected.update(libvirt_uri=LOCAL, libvirt_host="localhost", libvirt_address_source=None)
    assert hosts[0]["vars"] == expected


@pytest.mark.parametrize("order, address, source", [
    (["lease", "agent", "arp"], "192.0.2.10", "lease"),
    (["agent", "lease"], "198.51.100.5", "agent"),
    (["arp"], "203.0.113.9", "arp"),
    (["arp", "agent"], "203.0.113.9", "arp"),
])
def test_address_sources_in_the_order_given(order, address, source):
    dom = domain("web", macs=("52:54:00:00:00:01", "52:54:00:00:00:02"), addresses={
        "lease": {"52:54:00:00:00:01": ["192.0.2.10"]},
        "agent": {"52:54:00:00:00:01": ["fe80::5054:ff:fe00:1", "192.0.2.10"],
                  "52:54:00:00:00:02": ["198.51.100.5"]},
        "arp": {"52:54:00:00:00:02": ["203.0.113.9"]},
    })
    # The agent lists the lease's address again on the first NIC: it is not taken twice.
    if order == ["agent", "lease"]:
        dom["addresses"]["agent"] = {"52:54:00:00:00:02": ["198.51.100.5"], "52:54:00:00:00:01": ["fe80::1"]}
    hosts, _warnings = libvirt_spec.hosts([(LOCAL, [dom])], options(address_sources=order))
    assert (hosts[0]["vars"].get("ansible_host"), hosts[0]["vars"]["libvirt_address_source"]) == (address, source)


def test_a_source_with_only_link_local_addresses_is_passed_over():
    dom = domain("web", addresses={"agent": {"52:54:00:00:00:01": ["fe80::1", "169.254.1.1"]},
                                   "arp": {"52:54:00:00:00:01": ["203.0.113.9"]}})
    hosts, _warnings = libvirt_spec.hosts([(LOCAL, [dom])], options(address_sources=["agent", "arp"]))
    assert hosts[0]["vars"]["ansible_host"] == "203.0.113.9"
    assert hosts[0]["vars"]["libvirt_interfaces"][0]["addresses"] == ["fe80::1", "169.254.1.1", "203.0.113.9"]


def test_name_format_collisions_are_resolved_with_a_warning():
    reads = [(LOCAL, [domain("web", uuid="u1")]), (KVM1, [domain("web", uuid="u2")])]
    hosts, warnings = libvirt_spec.hosts(reads, options(name_format="{domain}"))
    assert sorted(by_name(hosts)) == ["web_u1", "web_u2"]
    assert warnings == ["several domains would be named 'web' (set name_format or aliases); their hosts are named "
                        "'web_<uuid>'"]


def test_one_hypervisor_through_two_uris_still_gives_unique_names():
    other = "qemu+unix:///system"
    reads = [(LOCAL, [domain("web", uuid="u1")]), (other, [domain("web", uuid="u1")])]
    hosts, _warnings = libvirt_spec.hosts(reads, options(uris=[LOCAL, other]))
    assert sorted(by_name(hosts)) == ["localhost_web_u1_0", "localhost_web_u1_1"]


def test_filters():
    reads = [(LOCAL, [domain("web1"), domain("web-old"), domain("db1", state="stopped"), domain("x", state="paused")])]
    assert sorted(by_name(libvirt_spec.hosts(reads, options(names=["web*"], exclude_names=["*-old"]))[0])) == [
        "localhost_web1"]
    assert sorted(by_name(libvirt_spec.hosts(reads, options(states=["stopped", "paused"]))[0])) == [
        "localhost_db1", "localhost_x"]


@pytest.mark.parametrize("overrides, message", [
    ({"uris": []}, "uris: must list at least one libvirt URI, such as qemu:///system"),
    ({"uris": ["kvm1"]}, "uris: 'kvm1' is not a libvirt URI (such as qemu:///system or qemu+ssh://user@host/system)"),
    ({"uris": [LOCAL, LOCAL]}, "uris: lists a URI twice"),
    ({"aliases": {"qemu:///session": "s"}}, "aliases: 'qemu:///session' is not one of uris"),
    ({"states": ["shutoff"]}, "states: unknown state 'shutoff' (choices: running, paused, stopped, crashed, pmsuspended, unknown)"),
    ({"address_sources": ["dhcp"]}, "address_sources: unknown source 'dhcp' (choices: lease, agent, arp)"),
    ({"name_format": "{name}"}, "name_format: unknown field '{name}' in '{name}' (fields: {host}, {domain}, {uuid}, {uri})"),
])
def test_bad_options_name_the_option(overrides, message):
    with pytest.raises(GhostError) as err:
        libvirt_spec.hosts([], options(**overrides))
    assert str(err.value) == message
