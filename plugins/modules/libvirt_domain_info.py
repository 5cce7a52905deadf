#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_domain_info
short_description: Describe libvirt domains
version_added: 0.1.0
description:
  - Returns the domains of a libvirt hypervisor with the same fields as
    M(ghost.infra.libvirt_domain) returns.
  - Reads the list with its power states in one call per autostart value (libvirt filters on
    it), then one XML description per domain; addresses come from one DHCP lease read per
    libvirt network that running domains use.
  - For a running domain the values are those it runs with.
author:
  - ghost.infra contributors (@ghost-infra)
options:
  name:
    description:
      - Only this domain. The result is an empty list when it does not exist.
    type: str
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.INFO_MODULE
  - ghost.infra._attributes.ACTIONGROUP_LIBVIRT
  - ghost.infra.libvirt
attributes:
  platform:
    platforms: posix
notes:
  - RV(domains[].restart_required) reflects definition changes made by
    M(ghost.infra.libvirt_domain) while the domain ran (it marks the running definition);
    changes made with other tools are not detected here.
  - Addresses come from the DHCP leases of libvirt networks only. The QEMU guest agent is not
    asked (one call per domain, which can hang on an unresponsive agent);
    M(ghost.infra.libvirt_domain) with O(ghost.infra.libvirt_domain#module:ip_source=agent)
    asks it.
seealso:
  - module: ghost.infra.libvirt_domain
"""

EXAMPLES = r"""
- name: All domains of the local hypervisor
  ghost.infra.libvirt_domain_info:
  register: all_domains

- name: Names of the running ones
  ansible.builtin.debug:
    msg: "{{ all_domains.domains | selectattr('state', 'eq', 'running') | map(attribute='name') | list }}"

- name: One domain on a remote host
  ghost.infra.libvirt_domain_info:
    uri: qemu+ssh://root@kvm1.example.com/system
    name: web1
  register: web1

- name: Names of the expired ones (their expiry is read from the XML already fetched)
  ansible.builtin.debug:
    msg: "{{ all_domains.domains | selectattr('expired') | map(attribute='name') | list }}"
"""

RETURN = r"""
domains:
  description: The domains, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
      sample: web1
    uuid:
      description: Domain UUID.
      type: str
      sample: 4f0c1b8e-4b1a-4c9e-9d7e-2f5a3c6b7d8e
    state:
      description: V(running), V(paused), V(stopped), V(crashed), V(pmsuspended) or V(unknown).
      type: str
      sample: running
    domain_type:
      description: V(kvm) or V(qemu) (or another libvirt domain type).
      type: str
      sample: kvm
    vcpus:
      description: Number of virtual CPUs.
      type: int
      sample: 2
    memory_mb:
      description: Memory in MiB.
      type: int
      sample: 2048
    firmware:
      description: V(bios) or V(uefi).
      type: str
      sample: bios
    autostart:
      description: Whether libvirtd starts the domain.
      type: bool
      sample: false
    kernel:
      description: Kernel for direct kernel boot, or V(null).
      type: str
      sample: null
    console_log:
      description: File receiving the serial console, or V(null).
      type: str
      sample: null
    disks:
      description: Disks and CD-ROMs.
      type: list
      elements: dict
      contains:
        path:
          description: Path of the image on the hypervisor.
          type: str
          sample: /var/lib/libvirt/images/web1.qcow2
        format:
          description: Image format.
          type: str
          sample: qcow2
        backing:
          description: Backing image of an overlay, or V(null).
          type: str
          sample: /var/lib/libvirt/images/noble-server-cloudimg-amd64.img
        device:
          description: V(disk) or V(cdrom).
          type: str
          sample: disk
        target:
          description: Device name in the guest's definition.
          type: str
          sample: vda
        bus:
          description: Bus of the device.
          type: str
          sample: virtio
    interfaces:
      description: Network interfaces.
      type: list
      elements: dict
      contains:
        mac:
          description: MAC address.
          type: str
          sample: "52:54:00:3a:9c:1e"
        type:
          description: libvirt interface type, for example V(network) or V(bridge).
          type: str
          sample: network
        network:
          description: libvirt network, or V(null).
          type: str
          sample: default
        bridge:
          description: Host bridge, or V(null).
          type: str
          sample: null
        model:
          description: Device model.
          type: str
          sample: virtio
        addresses:
          description: IP addresses from the libvirt network's DHCP leases (running domains).
          type: list
          elements: str
          sample: [192.168.122.57]
    cloud_init_instance_id:
      description: Instance ID of the NoCloud seed M(ghost.infra.libvirt_domain) attached, or V(null).
      type: str
      sample: iid-3f2a9c1d0b7e4a55
    restart_required:
      description: The domain runs with an older definition than its persistent one.
      type: bool
      sample: false
    expires_at:
      description:
        - When the domain expires (RFC 3339, UTC), as M(ghost.infra.libvirt_domain) recorded it
          from O(ghost.infra.libvirt_domain#module:ttl) or
          O(ghost.infra.libvirt_domain#module:expires_at); V(null) when it has no expiry.
      type: str
      sample: "2026-12-01T20:00:00Z"
    expired:
      description: Whether RV(domains[].expires_at) has passed (C(playbooks/reap.yml) removes it then).
      type: bool
      sample: false
    ttl:
      description: The TTL the expiry was last set from, or V(null).
      type: str
      sample: 8h
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 0.05
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.argspec import libvirt_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.client import LibvirtClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.runner import domain_info  # noqa: E402


def main():
    argument_spec = libvirt_argument_spec()
    argument_spec.update({"name": {"type": "str"}})
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_libraries(module, LIBVIRT)
    client = LibvirtClient(module.params["uri"])

    def action():
        try:
            return domain_info(client, module.params["name"])
        finally:
            client.close()

    run(module, action)


if __name__ == "__main__":
    main()
