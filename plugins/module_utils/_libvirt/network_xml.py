# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt network XML and the managed fields of network_spec.py. Private to ghost.infra; pure
(no ansible, no libvirt import).

parse_network() reads the fields from a network's XML; patch_network() writes them back and
leaves every other element (DNS, IPv6, NAT port ranges, a range's <lease>) as it was, so a diff
of the two shows just the change; live_updates() lists the virNetworkUpdate calls that bring a
running network to the wanted DHCP ranges and static hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import xml.etree.ElementTree as ET

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import parse_xml

# Elements and <bridge> attributes libvirt refuses in a network forwarding to a host bridge.
NOT_IN_BRIDGE_MODE = ("ip", "mac", "domain", "dns")
BRIDGE_ATTRS_NOT_IN_BRIDGE_MODE = ("stp", "delay", "zone")


def host_key(host):
    """Sort key of a static host (a dict)."""
    return (host.get("mac") or "", host.get("ip") or "", host.get("name") or "")


def _managed_ip(root):
    """The network's IPv4 <ip> element (the first), or None; others (IPv6) are left alone."""
    for element in root.findall("ip"):
        if element.get("family") in (None, "ipv4"):
            return element
    return None


def _ip_of(element):
    if element is None or not element.get("address"):
        return None
    prefix = element.get("prefix")
    if prefix is None and element.get("netmask"):
        prefix = ipaddress.IPv4Network("0.0.0.0/%s" % element.get("netmask")).prefixlen
    if prefix is None:  # libvirt falls back to the classful prefix; so do we
        first = int(element.get("address").split(".")[0])
        prefix = 8 if first < 128 else 16 if first < 192 else 24
    return str(ipaddress.IPv4Interface("%s/%s" % (element.get("address"), prefix)))


def _range_of(element):
    return {"start": element.get("start"), "end": element.get("end")}


def _host_of(element):
    mac = element.get("mac")
    return {"mac": mac.lower() if mac else None, "ip": element.get("ip"),
            "name": element.get("name")}


def parse_network(text):
    """The managed fields of a network XML, with its ``name`` and ``uuid``."""
    root = parse_xml(text, "network")
    forward = root.find("forward")
    bridge = root.find("bridge")
    ip = _managed_ip(root)
    dhcp = ip.find("dhcp") if ip is not None else None
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        # <forward> without a mode is NAT, as libvirt reads it.
        "mode": "isolated" if forward is None else forward.get("mode", "nat"),
        "bridge": bridge.get("name") if bridge is not None else None,
        "ip": _ip_of(ip),
        "dhcp_ranges": [_range_of(r) for r in dhcp.findall("range")] if dhcp is not None else [],
        "hosts": sorted((_host_of(h) for h in dhcp.findall("host")), key=host_key)
        if dhcp is not None else [],
    }


def range_xml(rng):
    return ET.tostring(ET.Element("range", {"start": rng["start"], "end": rng["end"]}),
                       encoding="unicode")


def host_xml(host):
    attrs = {key: host[key] for key in ("mac", "name", "ip") if host.get(key)}
    return ET.tostring(ET.Element("host", attrs), encoding="unicode")


def _insert_after(root, element, after):
    """Insert ``element`` after the last child named in ``after`` (libvirt's own order)."""
    position = 0
    for index, child in enumerate(list(root)):
        if child.tag in after:
            position = index + 1
    root.insert(position, element)


def _sync(parent, tag, wanted, *, key, make):
    """Make ``parent``'s ``tag`` children the ``wanted`` items: ``key`` reads an element and
    an item alike, ``make`` writes an item's XML. Elements already right stay as they are,
    with their children (a range's <lease>)."""
    wanted_keys = [key(item) for item in wanted]
    keep = []
    for element in parent.findall(tag):
        if key(element) in wanted_keys and key(element) not in keep:
            keep.append(key(element))
        else:
            parent.remove(element)
    for item in wanted:
        if key(item) not in keep:
            parent.append(ET.fromstring(make(item)))


def _patch_ip(root, fields):
    ip = _managed_ip(root)
    if not fields["ip"]:
        if ip is not None:
            root.remove(ip)
        return
    if ip is None:
        ip = ET.SubElement(root, "ip")
    iface = ipaddress.IPv4Interface(fields["ip"])
    ip.set("address", str(iface.ip))
    ip.set("prefix", str(iface.network.prefixlen))
    ip.attrib.pop("netmask", None)
    dhcp = ip.find("dhcp")
    if dhcp is None:
        dhcp = ET.SubElement(ip, "dhcp")

    def range_key(item):
        return (item.get("start"), item.get("end"))

    def host_match(item):
        return ((item.get("mac") or "").lower(), item.get("ip"), item.get("name"))

    _sync(dhcp, "range", fields["dhcp_ranges"], key=range_key, make=range_xml)
    _sync(dhcp, "host", fields["hosts"], key=host_match, make=host_xml)
    # libvirt reads ranges before hosts; keep that order for a readable XML.
    children = sorted(dhcp, key=lambda e: {"range": 0, "host": 1}.get(e.tag, 2))
    for child in list(dhcp):
        dhcp.remove(child)
    dhcp.extend(children)
    if not len(dhcp):
        ip.remove(dhcp)


def patch_network(text, fields, *, name):
    """The network XML with the managed ``fields`` written into ``text`` (None: a new network);
    other elements and attributes stay as they are."""
    root = parse_xml(text, "network") if text else ET.Element("network")
    if root.find("name") is None:
        ET.SubElement(root, "name").text = name
    mode = fields["mode"]
    forward = root.find("forward")
    if forward is not None and (mode == "isolated" or forward.get("mode", "nat") != mode):
        root.remove(forward)
        forward = None
    if forward is None and mode != "isolated":
        _insert_after(root, ET.Element("forward", {"mode": mode}), ("name", "uuid", "metadata"))
    bridge = root.find("bridge")
    if bridge is None and fields["bridge"]:
        bridge = ET.Element("bridge")
        _insert_after(root, bridge, ("name", "uuid", "metadata", "forward"))
    if bridge is not None:
        if fields["bridge"]:
            bridge.set("name", fields["bridge"])
        else:
            bridge.attrib.pop("name", None)
        if mode == "bridge":
            for attr in BRIDGE_ATTRS_NOT_IN_BRIDGE_MODE:
                bridge.attrib.pop(attr, None)
    if mode == "bridge":
        for tag in NOT_IN_BRIDGE_MODE:
            for element in root.findall(tag):
                root.remove(element)
    else:
        _patch_ip(root, fields)
    return ET.tostring(root, encoding="unicode")


def live_updates(live, desired):
    """The virNetworkUpdate calls taking a running network from ``live`` to ``desired`` DHCP
    ranges and hosts, as dicts (``command``: add-last or delete, ``section``: ip-dhcp-range or
    ip-dhcp-host, ``xml``, ``action`` for the result).

    New ranges go in before old ones go, so DHCP never stops. Hosts that change are deleted and
    added again rather than modified: libvirt refuses an entry whose MAC, name or IP another
    entry still holds, which a modify swapping two addresses would hit.
    """
    ops = []
    live_ranges = live.get("dhcp_ranges") or []
    for rng in desired["dhcp_ranges"]:
        if rng not in live_ranges:
            ops.append({"command": "add-last", "section": "ip-dhcp-range", "xml": range_xml(rng),
                        "action": "add DHCP range %s-%s" % (rng["start"], rng["end"])})
    for rng in live_ranges:
        if rng not in desired["dhcp_ranges"]:
            ops.append({"command": "delete", "section": "ip-dhcp-range", "xml": range_xml(rng),
                        "action": "delete DHCP range %s-%s" % (rng["start"], rng["end"])})
    live_hosts = live.get("hosts") or []
    gone = [h for h in live_hosts if h not in desired["hosts"]]
    new = [h for h in desired["hosts"] if h not in live_hosts]
    for host in gone:
        ops.append({"command": "delete", "section": "ip-dhcp-host", "xml": host_xml(host),
                    "action": "delete DHCP host %s" % _describe_host(host)})
    for host in new:
        ops.append({"command": "add-last", "section": "ip-dhcp-host", "xml": host_xml(host),
                    "action": "add DHCP host %s" % _describe_host(host)})
    return ops


def _describe_host(host):
    return " ".join(v for v in (host.get("mac"), host.get("ip"), host.get("name")) if v)
