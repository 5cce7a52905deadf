# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure rules of ghost.infra.libvirt_network. Private to ghost.infra; no ansible or libvirt
import.

A network is handled as a few managed fields (``mode``, ``bridge``, ``ip``, ``dhcp_ranges``,
``hosts``; network_xml.py reads and writes them): requested_fields() checks the options,
desired_fields() merges them into the current fields and checks the result as a whole,
changed_fields() and restart_fields() compare, state_actions() plans start and stop, and
network_view() is the returned ``network``. Only the DHCP ranges and static hosts change on a
running network (virNetworkUpdate); the other fields take a restart.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network_xml import host_key

MODES = ("isolated", "nat", "bridge", "open")
STATES = ("present", "started", "stopped", "absent")
# Compared for idempotence, in the order a change is reported.
FIELDS = ("mode", "bridge", "ip", "dhcp_ranges", "hosts")
# What virNetworkUpdate changes on a running network; any other change needs a restart.
LIVE_FIELDS = ("dhcp_ranges", "hosts")
CREATE_DEFAULTS = {"mode": "isolated", "bridge": None, "ip": None, "dhcp_ranges": [], "hosts": []}
# Modes whose forwarding needs the host address (libvirt refuses them without one).
NEEDS_IP = ("nat", "open")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A Linux interface name (15 bytes); "%d" lets libvirt number it (virbr%d).
_BRIDGE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.%:-]{0,14}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


# ---------------------------------------------------------------------------------------
# Options


def check_name(name):
    if not isinstance(name, str) or not _NAME.match(name):
        raise GhostError("%r is not a valid network name: use 1 to 64 letters, digits, '.', '_' "
                         "or '-', starting with a letter or digit" % (name,), option="name")
    return name


def _address(value, option):
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        raise GhostError("%r is not an IPv4 address" % (value,), option=option)


def _interface(value):
    text = str(value).strip()
    if "/" not in text:
        raise GhostError("%r has no prefix length: give the host address with its prefix, for "
                         "example 203.0.113.1/24" % (value,), option="ip")
    try:
        iface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise GhostError("%r is not an IPv4 address with a prefix length, for example "
                         "203.0.113.1/24" % (value,), option="ip")
    if iface.network.prefixlen > 30:
        raise GhostError("%s leaves no address for guests: use a prefix length of 30 or less"
                         % text, option="ip")
    if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise GhostError("%s is the %s address of %s, not a host address" % (
            iface.ip, "network" if iface.ip == iface.network.network_address else "broadcast",
            iface.network), option="ip")
    return iface


def normalize_mac(value, option):
    mac = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(mac):
        raise GhostError("%r is not a MAC address like 52:54:00:12:34:56" % (value,), option=option)
    if int(mac[:2], 16) & 1:
        raise GhostError("%s is a multicast address; a NIC needs a unicast one (first byte even)"
                         % mac, option=option)
    return mac


def _hosts(entries):
    """The ``hosts`` option checked on its own: formats, and no MAC, IP or name twice."""
    hosts, seen = [], {}
    for index, entry in enumerate(entries):
        where = "hosts[%d]" % index
        host = {"mac": normalize_mac(entry.get("mac"), where + ".mac"),
                "ip": str(_address(entry.get("ip"), where + ".ip")),
                "name": entry.get("name") or None}
        if host["name"] is not None and not _HOSTNAME.match(host["name"]):
            raise GhostError("%r is not a host name: letters, digits and '-', at most 63"
                             % (host["name"],), option=where + ".name")
        for key in ("mac", "ip", "name"):
            if host[key] is None:
                continue
            first = seen.setdefault((key, host[key].lower()), index)
            if first != index:
                raise GhostError("%s is listed twice (also in hosts[%d])" % (host[key], first),
                                 option="%s.%s" % (where, key))
        hosts.append(host)
    return sorted(hosts, key=host_key)


def requested_fields(params):
    """The managed fields the options set (an option left unset is not in the result).

    ``dhcp`` with neither ``start`` nor ``end`` asks for no DHCP range; ``hosts: []`` for no
    static host.
    """
    check_name(params.get("name"))
    wanted = {}
    if params.get("mode") is not None:
        if params["mode"] not in MODES:
            raise GhostError("%r is not one of %s" % (params["mode"], ", ".join(MODES)), option="mode")
        wanted["mode"] = params["mode"]
    if params.get("bridge") is not None:
        if not _BRIDGE.match(params["bridge"]):
            raise GhostError("%r is not a Linux interface name (1 to 15 letters, digits, '_', '.', "
                             "'-' or ':')" % (params["bridge"],), option="bridge")
        wanted["bridge"] = params["bridge"]
    if params.get("ip") is not None:
        wanted["ip"] = str(_interface(params["ip"]))
    dhcp = params.get("dhcp")
    if dhcp is not None:
        start, end = dhcp.get("start"), dhcp.get("end")
        if (start is None) != (end is None):
            raise GhostError("set both start and end, or neither to remove the DHCP range",
                             option="dhcp")
        wanted["dhcp_ranges"] = [] if start is None else [
            {"start": str(_address(start, "dhcp.start")), "end": str(_address(end, "dhcp.end"))}]
    if params.get("hosts") is not None:
        wanted["hosts"] = _hosts(params["hosts"])
    return wanted


def desired_fields(current, requested):
    """The fields the network should have: ``requested`` over ``current`` (or the defaults of a
    new network), checked as a whole. A change to ``bridge`` mode drops the host address, DHCP
    and hosts (libvirt refuses them there); leaving it drops the host bridge's name unless
    ``bridge`` is given (libvirt then names a new bridge)."""
    base = dict(current) if current is not None else dict(CREATE_DEFAULTS)
    fields = {key: base.get(key) for key in FIELDS}
    if fields["mode"] != requested.get("mode", fields["mode"]):
        if requested["mode"] == "bridge":
            fields.update(ip=None, dhcp_ranges=[], hosts=[])
        elif fields["mode"] == "bridge":
            fields["bridge"] = None
    fields.update(requested)
    _check_fields(fields, requested)
    return fields


def _check_fields(fields, requested):
    mode = fields["mode"]
    if mode == "bridge":
        if not fields["bridge"]:
            raise GhostError("required with mode=bridge: the name of an existing host bridge",
                             option="bridge")
        for option, key in (("ip", "ip"), ("dhcp", "dhcp_ranges"), ("hosts", "hosts")):
            if fields[key]:
                raise GhostError("not allowed with mode=bridge: guests are on the host bridge's "
                                 "LAN, libvirt gives them no address", option=option)
        return
    if mode in NEEDS_IP and not fields["ip"]:
        raise GhostError("required with mode=%s: the host side address, for example "
                         "203.0.113.1/24" % mode, option="ip")
    if not fields["ip"]:
        for option, key in (("dhcp", "dhcp_ranges"), ("hosts", "hosts")):
            if fields[key]:
                raise GhostError("needs ip: the network's host address and prefix", option=option)
        return
    iface = ipaddress.IPv4Interface(fields["ip"])
    # Only what this run sets is checked (a network defined by hand stays as it is unless the
    # run changes it), and the message names the option that is wrong: the one this run sets,
    # else ip (it moved from under the current range or hosts).
    if "dhcp_ranges" in requested or "ip" in requested:
        for rng in fields["dhcp_ranges"]:
            option = "dhcp" if "dhcp_ranges" in requested else "ip"
            _check_range(iface, rng, option, mine="dhcp_ranges" in requested)
    if "hosts" in requested or "ip" in requested:
        for index, host in enumerate(fields["hosts"]):
            if not host.get("ip"):
                continue  # a host matched by name only (defined by hand)
            option = "hosts[%d].ip" % index if "hosts" in requested else "ip"
            _check_in_subnet(iface, host["ip"], option, mine="hosts" in requested,
                             what="address of host %s" % (host.get("mac") or host.get("name")))


def _check_in_subnet(iface, address, option, *, what, mine):
    addr = ipaddress.IPv4Address(address)
    net = iface.network
    whose = "" if mine else " (the network's current %s)" % what
    if addr not in net:
        raise GhostError("%s%s is outside the subnet %s of ip %s" % (address, whose, net, iface),
                         option=option)
    if addr in (net.network_address, net.broadcast_address):
        raise GhostError("%s%s is the %s address of %s" % (
            address, whose, "network" if addr == net.network_address else "broadcast", net),
            option=option)
    if addr == iface.ip:
        raise GhostError("%s%s is the host's own address (ip)" % (address, whose), option=option)


def _check_range(iface, rng, option, *, mine):
    start, end = ipaddress.IPv4Address(rng["start"]), ipaddress.IPv4Address(rng["end"])
    sub = option + ".start" if mine else option
    _check_in_subnet(iface, rng["start"], sub, what="DHCP range start", mine=mine)
    _check_in_subnet(iface, rng["end"], option + ".end" if mine else option,
                     what="DHCP range end", mine=mine)
    if start > end:
        raise GhostError("the range starts at %s, after its end %s" % (start, end), option=option)
    if start <= iface.ip <= end:
        raise GhostError("the range %s-%s holds the host's own address %s" % (start, end, iface.ip),
                         option=option)


def changed_fields(current, desired):
    """Names of the managed fields that differ (all of them for a network to create)."""
    if current is None:
        return list(FIELDS)
    return [key for key in FIELDS if _norm(key, current.get(key)) != _norm(key, desired.get(key))]


def _norm(key, value):
    if key == "hosts":
        return sorted((dict(h) for h in value or []), key=host_key)
    if key == "dhcp_ranges":
        return sorted((r["start"], r["end"]) for r in value or [])
    return value


def restart_fields(live, desired):
    """Changed fields a running network only takes by restarting."""
    return [key for key in changed_fields(live, desired) if key not in LIVE_FIELDS]


# ---------------------------------------------------------------------------------------
# Power of a network, and the returned view


def state_actions(*, active, wanted):
    """Actions after the definition, to reach ``wanted`` (present leaves activity alone)."""
    if wanted == "started" and not active:
        return ["start"]
    if wanted in ("stopped", "absent") and active:
        return ["stop"]
    return []


def resulting_state(*, exists, active, wanted):
    """started, stopped or absent: where the network ends up."""
    if wanted == "absent":
        return "absent"
    if wanted == "present":
        return "started" if exists and active else "stopped"
    return wanted


def network_view(fields, *, name, uuid, state, autostart, restart_required=False):
    """The returned ``network``. ``fields`` None: no network (absent)."""
    fields = fields or {}
    ranges = fields.get("dhcp_ranges") or []
    return {
        "name": name,
        "uuid": uuid,
        "state": state,
        "active": state == "started",
        "autostart": bool(autostart),
        "mode": fields.get("mode"),
        "bridge": fields.get("bridge"),
        "ip": fields.get("ip"),
        "dhcp": dict(ranges[0]) if ranges else None,
        "hosts": [dict(h) for h in fields.get("hosts") or []],
        "restart_required": bool(restart_required),
    }
