# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The libvirt-python calls of ghost.infra.libvirt_network. Private to ghost.infra.

NetworkClient never sees AnsibleModule: it takes names and XML text, returns plain data and
raises GhostError in the collection's message shape (connection.py maps libvirt's errors and
reopens a lost connection). Networks are looked up by name in every call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import failure
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LibvirtConnection

VIR_ERR_OPERATION_INVALID = 55
VIR_ERR_NO_NETWORK = 43
# network_xml.live_updates() names libvirt's update commands and sections by these words.
COMMANDS = {"add-last": "VIR_NETWORK_UPDATE_COMMAND_ADD_LAST",
            "delete": "VIR_NETWORK_UPDATE_COMMAND_DELETE"}
SECTIONS = {"ip-dhcp-range": "VIR_NETWORK_SECTION_IP_DHCP_RANGE",
            "ip-dhcp-host": "VIR_NETWORK_SECTION_IP_DHCP_HOST"}


class NetworkClient(LibvirtConnection):
    """libvirt network calls over one connection (see LibvirtConnection)."""

    def read_network(self, name):
        """None when there is no such network, else ``xml`` (the persistent definition),
        ``live_xml`` (the running one, None when inactive), ``active``, ``autostart`` and
        ``persistent``."""
        libvirt = self.libvirt

        def read(conn):
            net = conn.networkLookupByName(name)
            active = bool(net.isActive())
            return {"xml": net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE),
                    "live_xml": net.XMLDesc(0) if active else None,
                    "active": active,
                    "autostart": bool(net.autostart()),
                    "persistent": bool(net.isPersistent())}
        return self._optional(lambda c: failure("read", "network", name, c), read,
                              (VIR_ERR_NO_NETWORK,))

    def define(self, name, xml):
        self._call(lambda c: failure("define", "network", name, c),
                   lambda conn: conn.networkDefineXML(xml), read_only=False)

    def undefine(self, name):
        self._call(lambda c: failure("undefine", "network", name, c),
                   lambda conn: conn.networkLookupByName(name).undefine(), read_only=False)

    def start(self, name):
        """Start the network; one already running (another run started it) is fine."""
        self._unless(name, "start", lambda net: net.create(), lambda net: net.isActive())

    def stop(self, name):
        """Stop (destroy) the network; one already stopped is fine."""
        self._unless(name, "stop", lambda net: net.destroy(), lambda net: not net.isActive())

    def _unless(self, name, verb, operation, done):
        libvirt = self.libvirt

        def run(conn):
            net = conn.networkLookupByName(name)
            try:
                operation(net)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != VIR_ERR_OPERATION_INVALID or not done(net):
                    raise
        self._call(lambda c: failure(verb, "network", name, c), run, read_only=False)

    def set_autostart(self, name, value):
        self._call(lambda c: failure("set autostart of", "network", name, c),
                   lambda conn: conn.networkLookupByName(name).setAutostart(1 if value else 0),
                   read_only=False)

    def update_live(self, name, operation):
        """One virNetworkUpdate on the running network only (the persistent definition is
        defined whole): ``operation`` is a dict of network_xml.live_updates().

        libvirt's client library puts command and section in the order the daemon expects
        (older daemons had them swapped on the wire), so this call is the same everywhere.
        """
        libvirt = self.libvirt
        command = getattr(libvirt, COMMANDS[operation["command"]])
        section = getattr(libvirt, SECTIONS[operation["section"]])
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        self._call(lambda c: failure("%s (live) on" % operation["action"], "network", name, c),
                   lambda conn: conn.networkLookupByName(name).update(
                       command, section, -1, operation["xml"], flags),
                   read_only=False)
