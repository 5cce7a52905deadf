# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/libvirt_client.py with a stand-in libvirt module that counts calls: leases read
once per network, sources asked in order only until one gives an address, agent and ARP
failures meaning "no address", the connection closed whatever happens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import OptionalImport
from ansible_collections.ghost.infra.plugins.module_utils._inventory import libvirt_client
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import connection

AGENT, ARP = 1, 2


class LibvirtError(Exception):
    def __init__(self, msg, code=1):
        super(LibvirtError, self).__init__(msg)
        self.code = code

    def get_error_code(self):
        return self.code

    def get_error_domain(self):
        return 10

    def get_int1(self):
        return -1

    def get_error_message(self):
        return str(self)


def xml(name, *macs):
    nics = "".join("<interface type='network'><source network='net%d'/><mac address='%s'/></interface>" % (i % 2, m)
                   for i, m in enumerate(macs))
    return "<domain type='kvm'><name>%s</name><uuid>u-%s</uuid><memory unit='KiB'>524288</memory><vcpu>1</vcpu>" \
           "<os><type>hvm</type></os><devices>%s</devices></domain>" % (name, name, nics)


class Dom:
    def __init__(self, hv, name, state, macs):
        self.hv, self._name, self.state, self.macs = hv, name, state, macs

    def name(self):
        return self._name

    def UUIDString(self):
        return "u-" + self._name

    def XMLDesc(self, flags):
        self.hv.calls.append("XMLDesc(%s)" % self._name)
        return xml(self._name, *self.macs)

    def interfaceAddresses(self, source, flags):
        what = {AGENT: "agent", ARP: "arp"}[source]
        self.hv.calls.append("%s(%s)" % (what, self._name))
        found = self.hv.guest.get((what, self._name))
        if isinstance(found, Exception):
            raise found
        return found or {}


class Net:
    def __init__(self, hv, name):
        self.hv, self.name = hv, name

    def isActive(self):
        return 1

    def DHCPLeases(self):
        self.hv.calls.append("leases(%s)" % self.name)
        return self.hv.leases.get(self.name, [])


class Hypervisor:
    def __init__(self):
        self.calls, self.closed, self.leases, self.guest = [], 0, {}, {}
        self.domains = {}

    def add(self, name, state, *macs):
        self.domains[name] = Dom(self, name, state, list(macs))

    # -- the connection
    def getAllDomainStats(self, stats, flags):
        self.calls.append("getAllDomainStats")
        return [(d, {"state.state": d.state}) for d in self.domains.values()]

    def listAllDomains(self, flags):
        return []

    def lookupByName(self, name):
        return self.domains[name]

    def networkLookupByName(self, name):
        return Net(self, name)

    def isAlive(self):
        return 1

    def close(self):
        self.closed += 1

    def module(self):
        hv = self

        def open_(uri):
            if uri.endswith("down"):
                raise LibvirtError("Failed to connect socket to '/x': Permission denied", 38)
            return hv

        return type("libvirt", (), {
            "open": staticmethod(open_), "libvirtError": LibvirtError,
            "registerErrorHandler": staticmethod(lambda f, c: None), "VIR_DOMAIN_STATS_STATE": 1,
            "VIR_CONNECT_LIST_DOMAINS_AUTOSTART": 2, "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT": AGENT,
            "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP": ARP})


@pytest.fixture
def hv(monkeypatch):
    hypervisor = Hypervisor()
    monkeypatch.setattr(connection, "LIBVIRT", OptionalImport("libvirt", "libvirt-python", module=hypervisor.module()))
    return hypervisor


def read(sources, uri="qemu:///system"):
    return {d["name"]: d for d in libvirt_client.read_uri(uri, sources=sources, connect_timeout=0)}


def test_leases_once_per_network_and_no_guest_call_when_they_answer(hv):
    hv.add("a", 1, "52:54:00:00:00:01", "52:54:00:00:00:02")
    hv.add("b", 1, "52:54:00:00:00:03")
    hv.add("off", 5, "52:54:00:00:00:04")
    hv.leases = {"net0": [{"mac": "52:54:00:00:00:01", "ipaddr": "192.0.2.1"},
                          {"mac": "52:54:00:00:00:03", "ipaddr": "192.0.2.3"},
                          {"mac": "52:54:00:00:00:04", "ipaddr": "192.0.2.4"}]}
    found = read(["lease", "agent", "arp"])
    assert found["a"]["addresses"] == {"lease": {"52:54:00:00:00:01": ["192.0.2.1"]}}
    assert found["b"]["addresses"] == {"lease": {"52:54:00:00:00:03": ["192.0.2.3"]}}
    assert found["off"]["addresses"] == {} and found["off"]["state"] == "stopped"
    assert sorted(c for c in hv.calls if c.startswith("leases")) == ["leases(net0)", "leases(net1)"]
    assert not [c for c in hv.calls if c.startswith(("agent", "arp"))]
    assert hv.closed == 1


def test_sources_in_order_until_one_gives_a_usable_address(hv):
    hv.add("a", 1, "52:54:00:00:00:01")
    hv.guest = {
        ("agent", "a"): {"lo": {"hwaddr": "00:00:00:00:00:00", "addrs": [{"addr": "127.0.0.1"}]},
                         "eth0": {"hwaddr": "52:54:00:00:00:01", "addrs": [{"addr": "fe80::1"}]}},
        ("arp", "a"): {"vnet0": {"hwaddr": "52:54:00:00:00:01", "addrs": [{"addr": "203.0.113.9"}]}},
    }
    found = read(["agent", "arp", "lease"])
    # The agent's loopback is not one of the domain's NICs; its link-local address is no reason to stop.
    assert found["a"]["addresses"] == {"agent": {"52:54:00:00:00:01": ["fe80::1"]},
                                       "arp": {"52:54:00:00:00:01": ["203.0.113.9"]}}
    assert [c for c in hv.calls if c.startswith(("agent", "arp", "leases"))] == ["agent(a)", "arp(a)"]


def test_a_guest_source_that_fails_means_no_address(hv):
    hv.add("a", 1, "52:54:00:00:00:01")
    hv.guest = {("agent", "a"): LibvirtError("Guest agent is not responding: QEMU guest agent is not connected", 86),
                ("arp", "a"): LibvirtError("internal error: wrong nlmsg len", 1)}
    found = read(["agent", "arp"])
    assert found["a"]["addresses"] == {"agent": {}, "arp": {}}


def test_a_uri_that_cannot_be_opened_is_a_ghost_error(hv):
    with pytest.raises(GhostError) as err:
        read(["lease"], uri="qemu+ssh://kvm1/down")
    assert str(err.value) == ("Failed to connect to libvirt 'qemu+ssh://kvm1/down': Failed to connect socket to "
                              "'/x': Permission denied")
