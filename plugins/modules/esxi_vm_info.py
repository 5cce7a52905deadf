#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: esxi_vm_info
short_description: List VMs on vCenter or a standalone ESXi host in one round trip
version_added: 0.1.0
description:
  - Returns the VMs (and templates) matching O(name) and O(folder), with the same fields as
    the RV(ghost.infra.esxi_vm#module:vm) return value.
  - Reads everything with ONE paged PropertyCollector C(RetrievePropertiesEx) call over a
    ContainerView, not one call per VM, so thousands of VMs take seconds.
  - guestinfo values are never returned, only their keys.
  - The expiry M(ghost.infra.esxi_vm) stores in extraConfig comes from the same call.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - pyvmomi >= 8.0.3
options:
  name:
    description:
      - Only VMs whose name matches this shell-style pattern (C(web*), C(db-[0-9])),
        case-sensitive. Default is every VM.
    type: str
  folder:
    description:
      - Only VMs in this folder or below it, as a full path (C(/DC0/vm/lab)) or relative to
        each datacenter's VM folder (C(lab)).
    type: str
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.INFO_MODULE
  - ghost.infra._attributes.ACTIONGROUP_VSPHERE
  - ghost.infra.vsphere
attributes:
  platform:
    platforms: vmware
seealso:
  - module: ghost.infra.esxi_vm
  - module: community.vmware.vmware_vm_info
    description: The VM listing of community.vmware (one round trip per VM and field).
"""

EXAMPLES = r"""
- name: List the lab's web servers
  ghost.infra.esxi_vm_info:
    hostname: vcenter.lab.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    name: "web*"
    folder: lab
  register: web

- name: Show their addresses
  ansible.builtin.debug:
    msg: "{{ web.vms | map(attribute='ip_address') | list }}"

- name: Every VM on a standalone ESXi host, connection from the environment
  ghost.infra.esxi_vm_info:
  environment:
    VMWARE_HOST: esxi1.lab.example.com
  register: all_vms
"""

RETURN = r"""
vms:
  description: The matching VMs and templates, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the VM.
      returned: success
      type: str
      sample: web1
    uuid:
      description: BIOS UUID (C(config.uuid)).
      returned: success
      type: str
      sample: 4221f3c8-5a4c-8ab9-2f46-cf3e1f5d2a11
    instance_uuid:
      description: vCenter instance UUID (C(config.instanceUuid)).
      returned: success
      type: str
      sample: 50219a4f-5d0a-1a7b-9d2e-84c8f4a1e0c3
    moid:
      description: Managed object ID (on a standalone ESXi host, the C(vim-cmd) vmid).
      returned: success
      type: str
      sample: vm-1042
    power_state:
      description: V(poweredOn), V(poweredOff) or V(suspended).
      returned: success
      type: str
      sample: poweredOn
    ip_address:
      description: The guest's first IPv4 address that is not link-local, or null.
      returned: success
      type: str
      sample: 192.0.2.10
    cpu:
      description: Number of virtual CPUs.
      returned: success
      type: int
      sample: 2
    memory_mb:
      description: Memory in MiB.
      returned: success
      type: int
      sample: 4096
    disks:
      description: Virtual disks, first disk first.
      returned: success
      type: list
      elements: dict
      contains:
        label:
          description: Label of the disk in vSphere.
          type: str
          returned: success
          sample: Hard disk 1
        capacity_gb:
          description: Size in GiB.
          type: float
          returned: success
          sample: 40.0
        file:
          description: Backing file.
          type: str
          returned: success
          sample: "[datastore1] web1/web1.vmdk"
        thin:
          description: Whether the disk is thin provisioned.
          type: bool
          returned: success
          sample: true
        linked:
          description: Whether the disk is a delta disk on a parent (a linked clone's).
          type: bool
          returned: success
          sample: false
    networks:
      description: Port group of each network adapter.
      returned: success
      type: list
      elements: str
      sample: [VM Network]
    folder:
      description: Inventory path of the VM's folder.
      returned: success
      type: str
      sample: /DC0/vm/lab
    datacenter:
      description: Name of the VM's datacenter.
      returned: success
      type: str
      sample: DC0
    template:
      description: Whether it is a template.
      returned: success
      type: bool
      sample: false
    guestinfo:
      description: The VM's C(guestinfo.*) extraConfig keys; every value is masked.
      returned: success
      type: dict
      sample: {"guestinfo.metadata": "********", "guestinfo.metadata.encoding": "********"}
    managed:
      description: Whether the VM carries C(ghost.infra.managed=true), the marker of VMs
        M(ghost.infra.esxi_vm) created.
      returned: success
      type: bool
      sample: true
    expires_at:
      description: When the VM expires (RFC 3339, UTC; extraConfig C(ghost.infra.expires-at)), or null.
      returned: success
      type: str
      sample: "2026-12-01T18:00:00Z"
    expired:
      description: Whether RV(vms[].expires_at) has passed at the time of the task.
      returned: success
      type: bool
      sample: false
    ttl:
      description: The TTL the expiry was last renewed with (extraConfig C(ghost.infra.ttl)), or null.
      returned: success
      type: str
      sample: 8h
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 0.84
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.argspec import vsphere_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import PYVMOMI, VsphereClient  # noqa: E402


def main():
    argument_spec = vsphere_argument_spec()
    argument_spec.update({
        "name": {"type": "str"},
        "folder": {"type": "str"},
    })
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_libraries(module, PYVMOMI)

    def action():
        with VsphereClient.connect(**runner.connection(module.params)) as client:
            return runner.vm_info(client, module.params)

    run(module, action)


if __name__ == "__main__":
    main()
