# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.libvirt inventory's reads of one libvirt URI. Private to ghost.infra.

Builds on the libvirt client of the modules (_libvirt/client.py: connection, reconnection,
errors in the collection's shape): the domains as libvirt_domain_info lists them (two listing
calls, one XML read per domain), then the addresses of the running ones from the sources the
user orders. ``lease`` reads a libvirt network's DHCP leases once, when a domain first needs
them (one call per network, not per domain); ``agent`` (QEMU guest agent) and ``arp`` (the host's neighbour table) ask
libvirt per domain. A domain's sources are asked in order and the reads stop at the first
that gives it a usable address, so unused sources cost nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import failure
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.client import LibvirtClient
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.spec import state_name
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import parse_domain

SOURCES = ("lease", "agent", "arp")
ACTIVE = ("running", "paused")
_SOURCE_FLAGS = {"agent": "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT", "arp": "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP"}


class InventoryClient(LibvirtClient):
    """What the inventory reads from one URI, as plain data."""

    def guest_addresses(self, name, source, macs):
        """{mac: [address]} that libvirt's ``source`` (agent or arp) reports for the NICs
        ``macs`` of domain ``name``; {} when the source has none (no agent in the guest, no
        neighbour entry, a libvirt without that source)."""
        libvirt = self.libvirt
        code = getattr(libvirt, _SOURCE_FLAGS[source], None)
        if code is None:
            return {}

        def read(conn):
            try:
                return conn.lookupByName(name).interfaceAddresses(code, 0)
            except libvirt.libvirtError as exc:
                if self._lost(exc):
                    raise
                return {}
        found = self._call(lambda c: failure("read %s addresses of" % source, "domain", name, c), read) or {}
        out = {}
        for iface in found.values():
            mac = (iface.get("hwaddr") or "").lower()
            if mac in macs:
                out.setdefault(mac, []).extend(a.get("addr") for a in iface.get("addrs") or [] if a.get("addr"))
        return out

    def read(self, sources):
        """Every domain of the URI: ``{name, state, autostart, fields, addresses}``, where
        ``fields`` is the parsed XML (xml_parse.parse_domain) and ``addresses`` maps each source
        asked to ``{mac: [address]}``."""
        domains = []
        for name, code, autostart, xml in self.list_domains():
            domains.append({"name": name, "state": state_name(code), "autostart": autostart,
                            "fields": parse_domain(xml), "addresses": {}})
        leases = {}  # network -> {mac: [address]}, read when a domain first needs it

        def lease_addresses(domain, macs):
            out = {}
            for nic in domain["fields"]["interfaces"]:
                if nic["type"] != "network" or nic["mac"] not in macs:
                    continue
                if nic["source"] not in leases:
                    leases[nic["source"]] = self.network_leases(nic["source"])
                if nic["mac"] in leases[nic["source"]]:
                    out[nic["mac"]] = list(leases[nic["source"]][nic["mac"]])
            return out

        for domain in domains:
            if domain["state"] not in ACTIVE:
                continue
            macs = {n["mac"] for n in domain["fields"]["interfaces"] if n["mac"]}
            for source in sources:
                found = (lease_addresses(domain, macs) if source == "lease"
                         else self.guest_addresses(domain["name"], source, macs))
                domain["addresses"][source] = found
                if spec.first_address([a for addresses in found.values() for a in addresses]):
                    break
        return domains


def read_uri(uri, *, sources, connect_timeout, client_class=InventoryClient):
    """The domains of ``uri`` (InventoryClient.read); GhostError when libvirt cannot be reached."""
    client = client_class(uri, connect_timeout=connect_timeout)
    try:
        client.open()
        return client.read(sources)
    finally:
        client.close()
