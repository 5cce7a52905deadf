#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_network
short_description: Manage libvirt virtual networks (isolated, NAT, open or host bridge)
version_added: 0.1.0
description:
  - Defines, starts, stops and removes a persistent libvirt network, with its host address,
    DHCP range and static DHCP hosts.
  - Changes go to the persistent definition B(and) to the running network. A DHCP range and
    static hosts change live (C(virNetworkUpdate)); libvirt cannot change the mode, bridge or
    address of a running network, so such a change is written to the persistent definition and
    reported as RV(network.restart_required) (with a warning), or applied at once by restarting
    the network with O(restart=true).
  - The definition is compared with the current one by the fields the module manages (mode,
    bridge, address, DHCP ranges, hosts), not as text; other parts (DNS entries, IPv6
    addresses, NAT port ranges, MTU) are kept as they are.
  - Options that describe the network apply when it is created; on an existing network an
    option that is not set keeps the current value.
  - Only the libvirt API is used, so remote URIs such as C(qemu+ssh://) work.
author:
  - ghost.infra contributors (@ghost-infra)
options:
  name:
    description:
      - Name of the network. 1 to 64 letters, digits, C(.), C(_) or C(-), starting with a letter
        or digit.
    type: str
    required: true
  state:
    description:
      - V(started) defines the network and starts it (the default).
      - V(present) defines the network and leaves it running or stopped as it is; a new
        network stays stopped (as C(docker_container) and M(ghost.infra.libvirt_domain) treat
        V(present)).
      - V(stopped) defines the network and stops it.
      - V(absent) stops and undefines the network. Guests attached to it lose their link.
    type: str
    choices: [present, started, stopped, absent]
    default: started
  mode:
    description:
      - V(isolated) (no C(<forward>)) connects guests with each other and the host only.
      - V(nat) forwards guests' traffic to the host's networks with masquerading; libvirt adds
        firewall rules for it.
      - V(open) routes without any firewall rule from libvirt.
      - V(bridge) connects guests to an existing host bridge (O(bridge)); libvirt gives no
        address, DHCP or DNS there, so O(ip), O(dhcp) and O(hosts) are refused.
      - V(isolated) when the network is created.
      - Changing to V(bridge) drops the address, DHCP range and hosts from the definition;
        changing away from it drops the host bridge's name unless O(bridge) is set.
    type: str
    choices: [isolated, nat, bridge, open]
  bridge:
    description:
      - With O(mode=bridge), the name of an existing host bridge (required).
      - In the other modes, the name of the bridge libvirt creates for the network (at most
        15 characters). When not set, libvirt picks a free C(virbrN).
    type: str
  ip:
    description:
      - The host's address on the network with its prefix length, for example
        V(192.168.150.1/24). IPv4; the network's first IPv4 C(<ip>) is managed, others are kept.
      - Required with O(mode=nat) and O(mode=open). Not allowed with O(mode=bridge).
      - The prefix length is at most 30, and the address is neither the network's nor its
        broadcast address.
    type: str
  dhcp:
    description:
      - The DHCP range libvirt's C(dnsmasq) hands out. It must lie inside the subnet of O(ip),
        with O(dhcp.start) not after O(dhcp.end), and must not hold the host's own address.
      - An empty dict (V({})) removes the DHCP range; other ranges of the network are replaced
        by this one.
      - Changes live on a running network (the new range is added before the old one is
        removed, so DHCP never stops) and in the persistent definition.
    type: dict
    suboptions:
      start:
        description:
          - First address of the range.
        type: str
      end:
        description:
          - Last address of the range.
        type: str
  hosts:
    description:
      - Static DHCP hosts; the list replaces the network's hosts (V([]) removes them all).
      - Each MAC address, IP address and name may appear once; addresses lie inside the subnet
        of O(ip) and are not the host's own address. They may lie inside the DHCP range.
      - Changes live on a running network and in the persistent definition.
    type: list
    elements: dict
    suboptions:
      mac:
        description:
          - MAC address of the guest's NIC, for example V(52:54:00:12:34:56) (unicast).
        type: str
        required: true
      ip:
        description:
          - IPv4 address the guest gets.
        type: str
        required: true
      name:
        description:
          - Host name given to the guest (letters, digits and C(-)), also resolvable through
            the network's DNS.
        type: str
  autostart:
    description:
      - Start the network when libvirtd starts.
      - When not set, an existing network keeps its setting; a new one gets V(true) with
        O(state=started), else V(false).
    type: bool
  restart:
    description:
      - Restart a running network whose mode, bridge or address changed, so the change
        applies now instead of being reported as RV(network.restart_required).
      - Guests attached to the network lose their link while it restarts (under a second);
        libvirt 9.0 plugs running guests' interfaces back into the new bridge (checked on the
        testbed).
    type: bool
    default: false
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_LIBVIRT
  - ghost.infra.libvirt
attributes:
  check_mode:
    support: full
    details:
      - Check mode only reads; it reports the actions a run would take.
  diff_mode:
    support: full
    details:
      - The diff shows the state, autostart and the persistent definition (XML) before and
        after, and says when the running network needs a restart.
  platform:
    platforms: posix
notes:
  - A network with a DHCP range or an address needs C(dnsmasq) on the hypervisor (Debian's
    C(dnsmasq-base)); libvirt 9.0 also needs C(iptables) to start any network (newer releases
    can use nftables).
  - Only persistent networks are managed; a transient network of the same name (made with
    C(virsh net-create)) is made persistent with the wanted definition.
seealso:
  - module: ghost.infra.libvirt_pool
  - module: ghost.infra.libvirt_domain
  - name: libvirt network XML format
    description: The definition this module writes.
    link: https://libvirt.org/formatnetwork.html
"""

EXAMPLES = r"""
- name: An isolated network with DHCP and two fixed addresses
  ghost.infra.libvirt_network:
    name: lab
    ip: 192.168.150.1/24
    dhcp:
      start: 192.168.150.100
      end: 192.168.150.199
    hosts:
      - mac: "52:54:00:00:15:01"
        ip: 192.168.150.11
        name: web1
      - mac: "52:54:00:00:15:02"
        ip: 192.168.150.12
        name: db1

- name: A NAT network for guests that need the internet
  ghost.infra.libvirt_network:
    name: outside
    mode: nat
    bridge: virbr-out
    ip: 192.168.160.1/24
    dhcp:
      start: 192.168.160.10
      end: 192.168.160.250

- name: Guests on the host's LAN through an existing bridge br0
  ghost.infra.libvirt_network:
    name: lan
    mode: bridge
    bridge: br0

- name: A new address needs a restart; do it now (guests lose their link for a moment)
  ghost.infra.libvirt_network:
    name: lab
    ip: 192.168.151.1/24
    dhcp:
      start: 192.168.151.100
      end: 192.168.151.199
    hosts: []
    restart: true

- name: Remove it
  ghost.infra.libvirt_network:
    name: lab
    state: absent
"""

RETURN = r"""
network:
  description:
    - The network after the run (in check mode, as it would be).
    - After O(state=absent), RV(network.state) is V(absent) and the other fields are empty.
  returned: always
  type: dict
  contains:
    name:
      description: Network name.
      type: str
      sample: lab
    uuid:
      description: Network UUID (V(null) for a network check mode would create, or one that
        never existed).
      type: str
      sample: 2b9e4a0c-6f1d-4c43-9a55-3f9c0e7d1a22
    state:
      description: V(started), V(stopped) or V(absent).
      type: str
      sample: started
    active:
      description: Whether the network runs.
      type: bool
      sample: true
    autostart:
      description: Whether libvirtd starts the network.
      type: bool
      sample: true
    mode:
      description: V(isolated), V(nat), V(bridge), V(open) (or another libvirt forward mode of
        a network defined by hand).
      type: str
      sample: isolated
    bridge:
      description: Bridge name (V(null) when libvirt has not named it yet, in check mode).
      type: str
      sample: virbr3
    ip:
      description: Host address with prefix length, or V(null).
      type: str
      sample: 192.168.150.1/24
    dhcp:
      description: The DHCP range (the first, when a network defined by hand has several), or
        V(null).
      type: dict
      contains:
        start:
          description: First address.
          type: str
          sample: 192.168.150.100
        end:
          description: Last address.
          type: str
          sample: 192.168.150.199
    hosts:
      description: Static DHCP hosts, sorted by MAC address.
      type: list
      elements: dict
      contains:
        mac:
          description: MAC address (lower case).
          type: str
          sample: "52:54:00:00:15:01"
        ip:
          description: IPv4 address.
          type: str
          sample: 192.168.150.11
        name:
          description: Host name, or V(null).
          type: str
          sample: web1
    restart_required:
      description:
        - The network runs with an older mode, bridge or address than its persistent
          definition; the change takes effect when it restarts (or now with O(restart=true)).
      type: bool
      sample: false
actions:
  description: What the run did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [define, start, set autostart on]
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 0.41
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.argspec import libvirt_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network import NetworkClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network_runner import ensure_network  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network_spec import MODES, STATES  # noqa: E402


def argument_spec():
    spec = libvirt_argument_spec()
    spec.update({
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "started", "choices": list(STATES)},
        "mode": {"type": "str", "choices": list(MODES)},
        "bridge": {"type": "str"},
        "ip": {"type": "str"},
        "dhcp": {"type": "dict", "options": {"start": {"type": "str"}, "end": {"type": "str"}}},
        "hosts": {
            "type": "list", "elements": "dict",
            "options": {
                "mac": {"type": "str", "required": True},
                "ip": {"type": "str", "required": True},
                "name": {"type": "str"},
            },
        },
        "autostart": {"type": "bool"},
        "restart": {"type": "bool", "default": False},
    })
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, LIBVIRT)
    client = NetworkClient(module.params["uri"])

    def action():
        try:
            return ensure_network(client, module.params, check_mode=module.check_mode,
                                  diff=module._diff)
        finally:
            client.close()

    run(module, action)


if __name__ == "__main__":
    main()
