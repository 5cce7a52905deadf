# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.libvirt through ansible-inventory against the testbed's libvirtd.

The test makes an isolated network of its own in 203.0.113.192/26 (no <forward>: nothing
leaves the machine; no other test uses that range), two domains with no OS on it (one
running, one only defined) and gives the running one a real DHCP lease: a network namespace
of the test, wired to the network's bridge by a veth pair carrying the domain's MAC, asks
the network's dnsmasq with dhclient (its script is /bin/true, so nothing is configured). The
domain's NIC has no option ROM: iPXE would boot from it and ask for a lease of its own. The
same libvirtd is read through two URIs (the second through a socket symlink of the test), so
host names and groups per URI are checked, and removing the symlink makes that URI go down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import secrets
import subprocess

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT

NET_IP, NET_MASK = "203.0.113.193", "255.255.255.192"
DHCP_START, DHCP_END = "203.0.113.200", "203.0.113.250"
LIBVIRT_SOCKET = "/var/run/libvirt/libvirt-sock"


def _run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture(scope="module")
def lab(testbed, tmp_path_factory):
    """Network, domains and a DHCP lease; everything removed afterwards."""
    libvirt = LIBVIRT.require()
    tag = secrets.token_hex(3)
    names = {"net": "ghost-inv-%s" % tag, "bridge": "ghinv%s" % tag, "ns": "ghinv-%s" % tag,
             "veth": "ghiv%s" % tag, "peer": "ghiv%sp" % tag,
             "running": "ghost-inv-%s-web" % tag, "defined": "ghost-inv-%s-off" % tag,
             "mac": "52:54:00:c0:%s:%s" % (tag[:2], tag[2:4]), "mac_off": "52:54:00:c1:%s:%s" % (tag[:2], tag[2:4])}
    tmp = tmp_path_factory.mktemp("libvirt-inventory")
    conn = libvirt.open("qemu:///system")
    kind = os.environ.get("GHOST_LIBVIRT_DOMAIN_TYPE") or "kvm"
    made = []
    try:
        net = conn.networkCreateXML(
            "<network><name>%s</name><bridge name='%s' stp='on' delay='0'/><ip address='%s' netmask='%s'>"
            "<dhcp><range start='%s' end='%s'/></dhcp></ip></network>"
            % (names["net"], names["bridge"], NET_IP, NET_MASK, DHCP_START, DHCP_END))
        made.append(net.destroy)
        for key, mac in (("running", names["mac"]), ("defined", names["mac_off"])):
            dom = conn.defineXML(
                "<domain type='%s'><name>%s</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
                "<os><type arch='x86_64'>hvm</type></os><devices><interface type='network'>"
                "<source network='%s'/><mac address='%s'/><model type='virtio'/><rom enabled='no'/></interface>"
                "</devices></domain>"
                % (kind, names[key], names["net"], mac))
            made.append(dom.undefine)
            if key == "running":
                dom.create()
                made.append(dom.destroy)
        # The lease: dhclient in a namespace of ours, on a veth whose MAC is the domain's.
        _run("ip", "netns", "add", names["ns"])
        made.append(lambda: _run("ip", "netns", "del", names["ns"]))
        _run("ip", "link", "add", names["veth"], "type", "veth", "peer", "name", names["peer"])
        made.append(lambda: subprocess.run(["ip", "link", "del", names["veth"]], capture_output=True, check=False))
        _run("ip", "link", "set", names["veth"], "master", names["bridge"], "up")
        _run("ip", "link", "set", names["peer"], "netns", names["ns"])
        _run("ip", "netns", "exec", names["ns"], "ip", "link", "set", names["peer"], "address", names["mac"], "up")
        pid_file = tmp / "dhclient.pid"
        # -1: one try; -d: stay in the foreground, so it ends here and leaves nothing running.
        dhcp = subprocess.run(["ip", "netns", "exec", names["ns"], "timeout", "60", "dhclient", "-1", "-d", "-v",
                               "-sf", "/bin/true", "-pf", str(pid_file), "-lf", str(tmp / "dhclient.leases"),
                               names["peer"]], capture_output=True, text=True, timeout=90, check=False)
        leased = [lease["ipaddr"] for lease in net.DHCPLeases() if lease["mac"] == names["mac"]]
        if not leased:
            pytest.fail("no DHCP lease for %s from network %s: %s" % (names["mac"], names["net"], dhcp.stderr[-1500:]),
                        pytrace=False)
        names["address"] = leased[0]
        names["socket"] = str(tmp / "libvirt-sock")
        os.symlink(LIBVIRT_SOCKET, names["socket"])
        names["tmp"] = tmp
        names["why"] = lambda: "state, reason %s; %s" % (conn.lookupByName(names["running"]).state(), _qemu_log(names))
        yield names
    finally:
        for undo in reversed(made):
            try:
                undo()
            except Exception:  # pylint: disable=broad-except
                pass  # best effort: the rest still has to go
        conn.close()


def _qemu_log(names):
    try:
        with open("/var/log/libvirt/qemu/%s.log" % names["running"]) as log:
            return log.read()[-1500:]
    except OSError as exc:
        return "no QEMU log: %s" % exc


def source_text(lab, extra=""):
    second = "qemu+unix:///system?socket=%s" % lab["socket"]
    return """\
plugin: ghost.infra.libvirt
uris: [qemu:///system, "%s"]
aliases:
  qemu:///system: local
  "%s": sock
names: ["%s", "%s"]
connect_timeout: 2
keyed_groups:
  - key: libvirt_interfaces[0].network
    prefix: net
%s""" % (second, second, lab["running"], lab["defined"], extra)


def test_domains_of_two_uris_with_a_dhcp_lease_as_ansible_host(lab, ansible_inventory, source_file, helpers):
    listed = ansible_inventory(source_file("libvirt", source_text(lab)), "--list")
    assert listed.returncode == 0, listed.stderr
    hostvars = listed.json["_meta"]["hostvars"]
    running, defined = lab["running"], lab["defined"]
    assert sorted(hostvars) == sorted(["local_" + running, "local_" + defined, "sock_" + running, "sock_" + defined])
    for prefix in ("local_", "sock_"):
        web = hostvars[prefix + running]
        assert web["ansible_host"] == lab["address"] and web["libvirt_address_source"] == "lease"
        assert web["libvirt_state"] == "running", "the domain is %s: %s" % (web["libvirt_state"], lab["why"]())
        assert web["libvirt_interfaces"] == [{"mac": lab["mac"], "type": "network", "network": lab["net"],
                                              "bridge": None, "model": "virtio", "addresses": [lab["address"]]}]
        off = hostvars[prefix + defined]
        assert off["libvirt_state"] == "stopped" and "ansible_host" not in off
    groups = helpers.tree(listed.json)
    assert groups["libvirt_host_local"] == sorted(["local_" + running, "local_" + defined])
    assert groups["libvirt_host_sock"] == sorted(["sock_" + running, "sock_" + defined])
    assert groups["libvirt_state_running"] == sorted(["local_" + running, "sock_" + running])
    assert groups["libvirt_state_stopped"] == sorted(["local_" + defined, "sock_" + defined])
    assert groups["net_" + lab["net"].replace("-", "_")] == sorted(hostvars)
    graph = ansible_inventory(source_file("libvirt", source_text(lab)), "--graph")
    assert graph.returncode == 0 and "@libvirt_state_running:" in graph.stdout


def test_address_sources_without_the_lease_give_no_address(lab, ansible_inventory, source_file):
    """The domain has no OS: no guest agent answers, so with the lease left out there is none."""
    listed = ansible_inventory(source_file("libvirt", source_text(lab, "address_sources: [agent]\n")), "--list")
    assert listed.returncode == 0, listed.stderr
    web = listed.json["_meta"]["hostvars"]["local_" + lab["running"]]
    assert "ansible_host" not in web and web["libvirt_address_source"] is None


def test_a_fresh_cache_reads_nothing_even_with_the_uri_gone(lab, ansible_inventory, source_file, tmp_path):
    """The second URI's socket symlink is removed after the first run: any libvirt call through
    it would fail, yet the cached run lists its domains with no warning."""
    socket_link = tmp_path / "libvirt-sock"
    os.symlink(LIBVIRT_SOCKET, str(socket_link))
    lab = dict(lab, socket=str(socket_link))
    text = source_text(lab, "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n"
                       % (tmp_path / "cache"))
    source = source_file("libvirt", text)
    first = ansible_inventory(source, "--list")
    assert first.returncode == 0 and "WARNING" not in first.stderr, first.stderr
    os.unlink(str(socket_link))
    second = ansible_inventory(source, "--list")
    assert second.returncode == 0 and "WARNING" not in second.stderr, second.stderr
    assert second.json == first.json
    flushed = ansible_inventory(source, "--list", "--flush-cache")
    assert flushed.returncode == 0
    assert "ghost.infra.libvirt: Failed to connect to libvirt 'qemu+unix:///system?socket=%s'" % socket_link in flushed.stderr
    assert sorted(flushed.json["_meta"]["hostvars"]) == sorted(["local_" + lab["running"], "local_" + lab["defined"]])
    # The partial refresh was not cached: the next cached run reads again and warns again.
    again = ansible_inventory(source, "--list")
    assert "Failed to connect to libvirt" in again.stderr


def test_a_down_uri_with_strict_fails_naming_it(lab, ansible_inventory, source_file, tmp_path):
    lab = dict(lab, socket=str(tmp_path / "nothing-here"))
    source = source_file("libvirt", source_text(lab, "strict: true\n"))
    failed = ansible_inventory(source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert failed.returncode != 0
    assert ("ghost.infra.libvirt: Failed to connect to libvirt 'qemu+unix:///system?socket=%s/nothing-here'"
            % tmp_path) in failed.stderr
    assert "Traceback" not in failed.stderr
