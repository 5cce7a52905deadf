# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.libvirt_network against the testbed's libvirtd.

Isolated networks only (no <forward>: nothing leaves the machine) in 203.0.113.64/26, which no
other test uses (the real-guest test takes 198.51.100.0/24, the libvirt_network target
203.0.113.128/26); a NAT network is only defined, never started, so libvirt adds no forwarding
rule. What the module changes is read back from libvirt (running and persistent definition) and
from the files libvirt hands to dnsmasq, so a change that only reached one of them fails.
Every network is named ghost-it-net-<random> and removed at the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import secrets
import subprocess

import pytest
from adhoc import run_module

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network_xml import parse_network

pytestmark = pytest.mark.timeout(600)

DNSMASQ_DIR = "/var/lib/libvirt/dnsmasq"
H1 = {"mac": "52:54:00:64:00:01", "ip": "203.0.113.71", "name": "web1"}
H2 = {"mac": "52:54:00:64:00:02", "ip": "203.0.113.72"}


@pytest.fixture
def conn(testbed):
    import libvirt  # pylint: disable=import-outside-toplevel

    connection = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    yield connection
    connection.close()


@pytest.fixture
def net_name(conn):
    """A unique network name (and a bridge name of at most 15 characters); the network is
    removed afterwards whatever the test left."""
    import libvirt  # pylint: disable=import-outside-toplevel

    suffix = secrets.token_hex(3)
    name = "ghost-it-net-" + suffix
    yield name
    try:
        net = conn.networkLookupByName(name)
    except libvirt.libvirtError:
        return
    if net.isActive():
        net.destroy()
    if net.isPersistent():
        net.undefine()


@pytest.fixture
def network(testbed, tmp_path):
    def run(args, **kwargs):
        return run_module("libvirt_network", args, tmp_path=tmp_path, **kwargs)
    return run


def definitions(conn, name):
    """(running, persistent) managed fields of network ``name``; running is None when stopped."""
    import libvirt  # pylint: disable=import-outside-toplevel

    net = conn.networkLookupByName(name)
    live = parse_network(net.XMLDesc(0)) if net.isActive() else None
    return live, parse_network(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE))


def exists(conn, name):
    return name in conn.listNetworks() + conn.listDefinedNetworks()


def dnsmasq_files(name):
    """What libvirt gave dnsmasq: (dhcp-range lines of the config, lines of the hosts file)."""
    with open(os.path.join(DNSMASQ_DIR, name + ".conf")) as handle:
        ranges = [line.strip() for line in handle if line.startswith("dhcp-range=")]
    with open(os.path.join(DNSMASQ_DIR, name + ".hostsfile")) as handle:
        hosts = sorted(line.strip() for line in handle if line.strip())
    return ranges, hosts


def bridge_addresses(bridge):
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", bridge], capture_output=True,
                         text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines()]


def test_lifecycle_live_and_persistent(conn, net_name, network):
    bridge = "ghit" + net_name[-6:]
    args = {"name": net_name, "bridge": bridge, "ip": "203.0.113.65/26",
            "dhcp": {"start": "203.0.113.80", "end": "203.0.113.90"}, "hosts": [H1]}

    check = network(args, check_mode=True, diff=True)
    assert check["changed"] is True and check["actions"] == ["define", "start", "set autostart on"]
    assert check["network"]["uuid"] is None and not exists(conn, net_name)
    assert "+<network>" in check["_output"]  # the --diff shows the definition to come

    created = network(args)
    assert created["changed"] is True and created["network"]["active"] is True
    net = conn.networkLookupByName(net_name)
    assert net.isActive() and net.isPersistent() and net.autostart() and net.bridgeName() == bridge
    assert bridge_addresses(bridge) == ["203.0.113.65/26"]
    live, persistent = definitions(conn, net_name)
    assert live == persistent and live["hosts"] == [dict(H1)]
    assert dnsmasq_files(net_name) == (["dhcp-range=203.0.113.80,203.0.113.90,255.255.255.192"],
                                       ["52:54:00:64:00:01,203.0.113.71,web1"])

    again = network(args)
    assert again["changed"] is False and again["actions"] == []

    # A new range and hosts: live and persistent, and dnsmasq gets them.
    changed = dict(args, dhcp={"start": "203.0.113.81", "end": "203.0.113.95"},
                   hosts=[dict(H1, ip="203.0.113.73"), H2])
    result = network(changed, diff=True)
    assert result["changed"] is True and result["network"]["restart_required"] is False
    assert all(action.endswith("(live)") for action in result["actions"][1:]), result["actions"]
    live, persistent = definitions(conn, net_name)
    for fields in (live, persistent):
        assert fields["dhcp_ranges"] == [{"start": "203.0.113.81", "end": "203.0.113.95"}]
        assert fields["hosts"] == [dict(H1, ip="203.0.113.73"), dict(H2, name=None)]
    assert dnsmasq_files(net_name) == (["dhcp-range=203.0.113.81,203.0.113.95,255.255.255.192"],
                                       ["52:54:00:64:00:01,203.0.113.73,web1",
                                        "52:54:00:64:00:02,203.0.113.72"])
    assert '-      <range start="203.0.113.80"' in result["_output"]
    assert network(changed)["changed"] is False

    # A new address: persistent now, live at the next restart, which restart=true does.
    moved = dict(changed, ip="203.0.113.66/26")
    pending = network(moved)
    assert pending["changed"] is True and pending["network"]["restart_required"] is True
    assert "keeps running with its old ip" in pending["_output"]
    live, persistent = definitions(conn, net_name)
    assert (live["ip"], persistent["ip"]) == ("203.0.113.65/26", "203.0.113.66/26")
    still = network(moved)
    assert still["changed"] is False and still["network"]["restart_required"] is True
    restarted = network(dict(moved, restart=True))
    assert restarted["actions"] == ["restart (ip)"] and restarted["network"]["restart_required"] is False
    live, persistent = definitions(conn, net_name)
    assert live == persistent and live["ip"] == "203.0.113.66/26"
    assert bridge_addresses(bridge) == ["203.0.113.66/26"]

    # Stop, present (leaves it stopped), start.
    assert network({"name": net_name, "state": "stopped"})["actions"] == ["stop"]
    assert not conn.networkLookupByName(net_name).isActive()
    present = network({"name": net_name, "state": "present"})
    assert present["changed"] is False and present["network"]["state"] == "stopped"
    assert network({"name": net_name})["actions"] == ["start"]

    removed = network({"name": net_name, "state": "absent"})
    assert removed["actions"] == ["stop", "undefine"] and not exists(conn, net_name)
    assert network({"name": net_name, "state": "absent"})["changed"] is False


def test_a_network_defined_by_hand_keeps_what_the_module_does_not_manage(conn, net_name, network):
    import libvirt  # pylint: disable=import-outside-toplevel

    conn.networkDefineXML(
        "<network><name>%s</name><bridge name='ghit%s' stp='off'/><domain name='lab.example'/>"
        "<dns><host ip='203.0.113.70'><hostname>printer</hostname></host></dns>"
        "<ip address='203.0.113.65' netmask='255.255.255.192'><dhcp>"
        "<range start='203.0.113.80' end='203.0.113.90'><lease expiry='2' unit='hours'/></range>"
        "</dhcp></ip></network>" % (net_name, net_name[-6:]))
    same = network({"name": net_name, "state": "present", "ip": "203.0.113.65/26",
                    "dhcp": {"start": "203.0.113.80", "end": "203.0.113.90"}})
    assert same["changed"] is False  # netmask or prefix, the same subnet

    result = network({"name": net_name, "state": "present", "hosts": [H1]})
    assert result["actions"] == ["update definition (hosts)"]
    xml = conn.networkLookupByName(net_name).XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    for kept in ("<hostname>printer</hostname>", "<domain name='lab.example'/>", "stp='off'",
                 "<lease expiry='2' unit='hours'/>"):
        assert kept in xml, xml


def test_nat_is_defined_but_never_started_here(conn, net_name, network):
    import libvirt  # pylint: disable=import-outside-toplevel

    result = network({"name": net_name, "state": "present", "mode": "nat", "ip": "203.0.113.65/26"})
    assert result["network"]["mode"] == "nat" and result["network"]["state"] == "stopped"
    net = conn.networkLookupByName(net_name)
    assert not net.isActive() and not net.autostart()
    assert "<forward mode='nat'" in net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    # Back to isolated: the <forward> goes.
    assert network({"name": net_name, "state": "present", "mode": "isolated"})["changed"] is True
    assert "<forward" not in net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)


@pytest.mark.parametrize("args, words", [
    ({"ip": "203.0.113.65/26", "dhcp": {"start": "203.0.113.90", "end": "203.0.113.80"}},
     "dhcp: the range starts at 203.0.113.90, after its end 203.0.113.80"),
    ({"ip": "203.0.113.65/26", "dhcp": {"start": "203.0.113.80", "end": "203.0.113.200"}},
     "dhcp.end: 203.0.113.200 is outside the subnet 203.0.113.64/26"),
    ({"ip": "203.0.113.65/26", "hosts": [H1, dict(H2, ip=H1["ip"])]},
     "hosts[1].ip: 203.0.113.71 is listed twice"),
    ({"ip": "203.0.113.65/26", "hosts": [dict(H1, mac="52:54:00:64:00")]},
     "hosts[0].mac: '52:54:00:64:00' is not a MAC address"),
    ({"mode": "bridge", "bridge": "br0", "ip": "203.0.113.65/26"}, "ip: not allowed with mode=bridge"),
    ({"mode": "nat"}, "ip: required with mode=nat"),
])
def test_bad_input_fails_naming_the_option_and_defines_nothing(conn, net_name, network, args, words):
    result = network(dict(args, name=net_name), check=False)
    assert result["failed"] and words in result["msg"], result["msg"]
    assert "Traceback" not in result["_output"] and not exists(conn, net_name)
