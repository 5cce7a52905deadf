# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: libvirt
short_description: Domains of one or more libvirt hypervisors
version_added: 0.1.0
description:
  - Lists the domains of every libvirt URI in O(uris) (C(qemu:///system),
    C(qemu+ssh://user@kvm1.example.com/system), ...) as inventory hosts, named
    C(<host>_<domain>) by default so domains of the same name on two hypervisors stay apart.
  - Host variables are the fields M(ghost.infra.libvirt_domain_info) returns for a domain, each
    prefixed with O(hostvars_prefix), plus C(uri), C(host) and C(address_source).
  - C(ansible_host) is the first usable address (IPv4 first, never link-local) of the first
    source in O(address_sources) that has one for a running domain.
  - Each host is in the group C(libvirt_state_<state>) (C(libvirt_state_running),
    C(libvirt_state_stopped), ...) and C(libvirt_host_<host>).
  - The expiry M(ghost.infra.libvirt_domain) keeps in a domain's metadata (its O(ghost.infra.libvirt_domain#module:ttl)
    or O(ghost.infra.libvirt_domain#module:expires_at)) gives the host variables C(expires_at) (RFC 3339 or
    V(null)), C(expired) and C(ttl) (prefixed like the others); every expired host is also in the group
    C(expired).
  - The source file's name must end in C(ghost.infra.libvirt.yml) or C(ghost.infra.libvirt.yaml).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - libvirt-python
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; makes the file a source for it.
    required: true
    type: str
    choices: [ghost.infra.libvirt]
  uris:
    description:
      - The libvirt URIs to read, in order. Remote URIs need key-based SSH (add C(?no_tty=1)
        so a missing key fails instead of prompting).
    type: list
    elements: str
    default: [qemu:///system]
    env:
      - name: LIBVIRT_DEFAULT_URI
  aliases:
    description:
      - Short names of hypervisors, by URI, for C({host}) in host and group names.
      - Without an alias, C({host}) is the URI's host name, or C(localhost) for a local URI.
    type: dict
    default: {}
  connect_timeout:
    description: Seconds to wait for a libvirt daemon that is starting before it counts as down.
    type: int
    default: 5
  address_sources:
    description:
      - Where C(ansible_host) comes from, in order of preference. Sources are asked only until
        one gives the domain an address.
      - V(lease) is the DHCP lease of a libvirt network (one read per network).
      - V(agent) asks the QEMU guest agent in the domain.
      - V(arp) is the hypervisor's neighbour (ARP) table, for domains on a bridge.
    type: list
    elements: str
    choices: [lease, agent, arp]
    default: [lease, agent, arp]
  names:
    description: Only domains whose name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  exclude_names:
    description: Leave out domains whose name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  states:
    description: Only domains in one of these states. Default is every state.
    type: list
    elements: str
    choices: [running, paused, stopped, crashed, pmsuspended, unknown]
    default: []
  name_format:
    description:
      - The inventory host name of a domain, a Python format string with the fields
        C({host}), C({domain}), C({uuid}) and C({uri}).
      - Domains that would get the same name are named C(<name>_<uuid>), with a warning.
    type: str
    default: "{host}_{domain}"
  hostvars_prefix:
    description: Prefix of the host variables with M(ghost.infra.libvirt_domain_info)'s fields.
    type: str
    default: libvirt_
notes:
  - A URI that cannot be read fails the source with O(strict=true); otherwise it is a warning
    and the inventory holds the domains of the other URIs. A refresh in which a URI failed is
    never cached.
  - With O(cache=true), hosts come from the cache while it is fresh, so a second run makes no
    libvirt call. Changing a filter or a source option reads again.
seealso:
  - module: ghost.infra.libvirt_domain_info
  - name: community.libvirt.libvirt
    description: The inventory plugin of community.libvirt (one URI).
    link: https://docs.ansible.com/ansible/latest/collections/community/libvirt/libvirt_inventory.html
"""

EXAMPLES = r"""
# Save as kvm.ghost.infra.libvirt.yml, then:
#   ansible-inventory -i kvm.ghost.infra.libvirt.yml --graph
# The local hypervisor (or LIBVIRT_DEFAULT_URI), hosts named localhost_<domain>.
plugin: ghost.infra.libvirt

---
# Two hypervisors over SSH and the local one, running domains only, addresses from the guest
# agent first, grouped by the network of their first NIC, cached for 5 minutes.
plugin: ghost.infra.libvirt
uris:
  - qemu:///system
  - qemu+ssh://virt@kvm1.lab.example.com/system?no_tty=1
  - qemu+ssh://virt@kvm2.lab.example.com/system?no_tty=1
aliases:
  qemu:///system: local
  qemu+ssh://virt@kvm1.lab.example.com/system?no_tty=1: kvm1
  qemu+ssh://virt@kvm2.lab.example.com/system?no_tty=1: kvm2
states: [running]
address_sources: [agent, lease, arp]
keyed_groups:
  - key: libvirt_interfaces[0].network | default('none')
    prefix: net
compose:
  ansible_user: "'debian'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 300

---
# Domain names are unique here: use them as they are.
plugin: ghost.infra.libvirt
name_format: "{domain}"
names: ["web-*", "db-*"]
strict: true
"""

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._inventory import libvirt_client, libvirt_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT  # noqa: E402
from ansible_collections.ghost.infra.plugins.plugin_utils.inventory import BackendDown, GhostInventory  # noqa: E402

SHAPE_OPTIONS = ("uris", "aliases", "address_sources", "names", "exclude_names", "states", "name_format",
                 "hostvars_prefix")


class InventoryModule(GhostInventory):

    NAME = "ghost.infra.libvirt"

    def read_hosts(self):
        options = {k: self.get_option(k) for k in SHAPE_OPTIONS}
        sources = libvirt_spec.check_options(options)  # bad options fail before any libvirt call
        LIBVIRT.require()
        reads, failures = [], []
        for uri in options["uris"]:
            try:
                reads.append((uri, libvirt_client.read_uri(uri, sources=sources,
                                                           connect_timeout=self.get_option("connect_timeout"))))
            except GhostError as exc:
                failures.append(str(exc))
        hosts, warnings = libvirt_spec.hosts(reads, options)
        if failures:
            raise BackendDown("; ".join(failures), partial=hosts, warnings=warnings)
        return hosts, warnings
