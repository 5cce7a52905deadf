# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/network_xml.py: network XML read into fields, fields written back (the rest kept),
and the live virNetworkUpdate calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import network_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import network_xml as nx

H1 = {"mac": "52:54:00:00:00:01", "ip": "203.0.113.11", "name": "web1"}
H2 = {"mac": "52:54:00:00:00:02", "ip": "203.0.113.12", "name": None}
R1 = {"start": "203.0.113.20", "end": "203.0.113.40"}
R2 = {"start": "203.0.113.41", "end": "203.0.113.50"}

# What libvirt 9.0 returns for a network defined by hand, with parts the module does not manage.
LIBVIRT_XML = """<network connections='1'>
  <name>lab</name>
  <uuid>2b9e4a0c-6f1d-4c43-9a55-3f9c0e7d1a22</uuid>
  <forward mode='nat'>
    <nat>
      <port start='1024' end='65535'/>
    </nat>
  </forward>
  <bridge name='virbr7' stp='on' delay='0'/>
  <mac address='52:54:00:18:d4:90'/>
  <domain name='lab.example'/>
  <dns>
    <host ip='203.0.113.5'><hostname>printer</hostname></host>
  </dns>
  <ip address='203.0.113.1' netmask='255.255.255.192'>
    <tftp root='/srv/tftp'/>
    <dhcp>
      <range start='203.0.113.20' end='203.0.113.40'>
        <lease expiry='1' unit='hours'/>
      </range>
      <host mac='52:54:00:00:00:01' name='web1' ip='203.0.113.11'/>
      <bootp file='pxelinux.0'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='2001:db8::1' prefix='64'/>
</network>"""


def fields_of(**over):
    fields = {"mode": "nat", "bridge": "virbr7", "ip": "203.0.113.1/26", "dhcp_ranges": [R1],
              "hosts": [H1]}
    fields.update(over)
    return fields


def test_parse_reads_the_managed_fields():
    got = nx.parse_network(LIBVIRT_XML)
    assert got == dict(fields_of(), name="lab", uuid="2b9e4a0c-6f1d-4c43-9a55-3f9c0e7d1a22")


@pytest.mark.parametrize("xml, mode, ip", [
    ("<network><name>n</name></network>", "isolated", None),
    ("<network><name>n</name><forward/><ip address='10.1.2.1'/></network>", "nat", "10.1.2.1/8"),
    ("<network><name>n</name><ip address='172.16.0.1'/></network>", "isolated", "172.16.0.1/16"),
    ("<network><name>n</name><forward mode='open'/><ip address='192.0.2.1' prefix='24'/></network>",
     "open", "192.0.2.1/24"),
    ("<network><name>n</name><ip family='ipv6' address='2001:db8::1' prefix='64'/></network>",
     "isolated", None),
])
def test_parse_forward_modes_and_prefixes(xml, mode, ip):
    got = nx.parse_network(xml)
    assert (got["mode"], got["ip"], got["dhcp_ranges"], got["hosts"]) == (mode, ip, [], [])


def test_parse_refuses_what_is_not_xml():
    with pytest.raises(GhostError, match="cannot parse the network XML"):
        nx.parse_network("<network>")


def test_patch_without_a_change_keeps_the_definition():
    patched = nx.patch_network(LIBVIRT_XML, fields_of(), name="lab")
    assert nx.parse_network(patched) == nx.parse_network(LIBVIRT_XML)
    root = ET.fromstring(patched)
    # Nothing the module does not manage is lost: NAT ports, DNS, domain, MAC, TFTP, bootp,
    # a range's lease time, IPv6.
    for path in ("forward/nat/port", "dns/host", "domain", "mac", "ip/tftp", "ip/dhcp/bootp",
                 "ip/dhcp/range/lease", "bridge[@stp='on']"):
        assert root.find(path) is not None, path
    assert root.find("ip[@family='ipv6']").get("address") == "2001:db8::1"
    assert root.find("ip").get("prefix") == "26" and root.find("ip").get("netmask") is None


def test_patch_changes_only_what_differs():
    wanted = fields_of(dhcp_ranges=[R1, R2], hosts=[H1, H2], ip="203.0.113.2/26")
    root = ET.fromstring(nx.patch_network(LIBVIRT_XML, wanted, name="lab"))
    assert nx.parse_network(ET.tostring(root, encoding="unicode"))["hosts"] == [H1, H2]
    ranges = root.findall("ip/dhcp/range")
    assert [r.get("start") for r in ranges] == ["203.0.113.20", "203.0.113.41"]
    assert ranges[0].find("lease") is not None  # the unchanged range kept its lease time
    assert [c.tag for c in root.find("ip/dhcp")] == ["range", "range", "host", "host", "bootp"]
    assert root.find("ip").get("address") == "203.0.113.2"


def test_patch_removes_dhcp_when_nothing_is_left():
    xml = nx.patch_network("<network><name>n</name><ip address='203.0.113.1' prefix='26'>"
                           "<dhcp><range start='203.0.113.20' end='203.0.113.40'/></dhcp></ip></network>",
                           fields_of(mode="isolated", bridge=None, dhcp_ranges=[], hosts=[]), name="n")
    assert ET.fromstring(xml).find("ip/dhcp") is None


def test_a_new_network():
    fields = spec.desired_fields(None, {"ip": "203.0.113.1/26", "dhcp_ranges": [R1], "hosts": [H1, H2]})
    xml = nx.patch_network(None, fields, name="lab")
    root = ET.fromstring(xml)
    assert root.find("name").text == "lab" and root.find("uuid") is None
    assert root.find("forward") is None and root.find("bridge") is None  # libvirt names it
    parsed = nx.parse_network(xml)
    assert {key: parsed[key] for key in spec.FIELDS} == fields
    assert root.find("ip/dhcp/host").attrib == {"mac": H1["mac"], "name": "web1", "ip": H1["ip"]}


def test_mode_changes():
    isolated = nx.patch_network(LIBVIRT_XML, fields_of(mode="isolated"), name="lab")
    assert ET.fromstring(isolated).find("forward") is None
    opened = ET.fromstring(nx.patch_network(LIBVIRT_XML, fields_of(mode="open"), name="lab"))
    assert opened.find("forward").attrib == {"mode": "open"} and opened.find("forward/nat") is None
    assert [c.tag for c in opened][:4] == ["name", "uuid", "forward", "bridge"]


def test_to_bridge_mode_removes_what_libvirt_refuses_there():
    fields = spec.desired_fields(nx.parse_network(LIBVIRT_XML), {"mode": "bridge", "bridge": "br0"})
    root = ET.fromstring(nx.patch_network(LIBVIRT_XML, fields, name="lab"))
    assert root.find("forward").attrib == {"mode": "bridge"}
    assert root.find("bridge").attrib == {"name": "br0"}  # no stp/delay in bridge mode
    for tag in ("ip", "mac", "domain", "dns"):
        assert root.find(tag) is None, tag


def test_from_bridge_mode_lets_libvirt_name_the_bridge():
    lan = "<network><name>lan</name><forward mode='bridge'/><bridge name='br0'/></network>"
    fields = spec.desired_fields(nx.parse_network(lan), {"mode": "isolated", "ip": "203.0.113.1/26"})
    root = ET.fromstring(nx.patch_network(lan, fields, name="lan"))
    assert root.find("forward") is None and root.find("bridge").get("name") is None
    assert root.find("ip").attrib == {"address": "203.0.113.1", "prefix": "26"}


# -- live updates ------------------------------------------------------------------------


def test_no_live_update_when_range_and_hosts_agree():
    assert nx.live_updates(fields_of(hosts=[H2, H1]), fields_of(hosts=[H1, H2])) == []


def test_a_new_range_goes_in_before_the_old_one_goes():
    ops = nx.live_updates(fields_of(), fields_of(dhcp_ranges=[R2]))
    assert [(op["command"], op["section"]) for op in ops] == [
        ("add-last", "ip-dhcp-range"), ("delete", "ip-dhcp-range")]
    assert ET.fromstring(ops[0]["xml"]).attrib == {"start": R2["start"], "end": R2["end"]}
    assert ops[1]["action"] == "delete DHCP range 203.0.113.20-203.0.113.40"


def test_changed_hosts_are_deleted_then_added():
    # Two hosts swap addresses: a modify would collide with the other's entry.
    live = fields_of(hosts=[H1, dict(H2, ip="203.0.113.13")])
    wanted = fields_of(hosts=[dict(H1, ip="203.0.113.13"), dict(H2, ip="203.0.113.11")])
    ops = nx.live_updates(live, wanted)
    assert [op["command"] for op in ops] == ["delete", "delete", "add-last", "add-last"]
    assert {op["section"] for op in ops} == {"ip-dhcp-host"}
    assert ET.fromstring(ops[0]["xml"]).attrib == {"mac": H1["mac"], "name": "web1", "ip": H1["ip"]}
    assert ops[3]["action"] == "add DHCP host 52:54:00:00:00:02 203.0.113.11"


def test_removing_dhcp_live():
    ops = nx.live_updates(fields_of(), fields_of(dhcp_ranges=[], hosts=[]))
    assert [op["action"] for op in ops] == ["delete DHCP range 203.0.113.20-203.0.113.40",
                                            "delete DHCP host 52:54:00:00:00:01 203.0.113.11 web1"]
