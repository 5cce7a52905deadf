# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: vsphere
short_description: VMs of a vCenter or standalone ESXi host, read in one paged call
version_added: 0.1.0
description:
  - Lists the VMs and templates of a vCenter Server or a standalone ESXi host as inventory hosts.
  - Reads everything with ONE paged PropertyCollector C(RetrievePropertiesEx) call over a
    ContainerView (the read of M(ghost.infra.esxi_vm_info)), whatever the number of VMs, so
    the number of API calls per refresh does not grow with the inventory.
  - Host variables are the fields M(ghost.infra.esxi_vm_info) returns for a VM, each prefixed
    with O(hostvars_prefix), C(disks) only with O(disks=true). guestinfo values are never host
    variables, only their keys with masked values.
  - Each host is in the group C(vsphere_<power state>) (C(vsphere_poweredon),
    C(vsphere_poweredoff), C(vsphere_suspended)), templates in C(vsphere_templates), VMs made
    by M(ghost.infra.esxi_vm) in C(vsphere_managed).
  - The expiry M(ghost.infra.esxi_vm) stores in extraConfig (O(ghost.infra.esxi_vm#module:ttl))
    gives the host variables C(expires_at) (RFC 3339 or null), C(expired) and C(ttl) (with
    O(hostvars_prefix)); a VM whose expiry has passed is also in the group C(expired). With
    O(cache=true) C(expired) is as of the read that filled the cache.
  - The source file's name must end in C(ghost.infra.vsphere.yml) or C(ghost.infra.vsphere.yaml).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - pyvmomi >= 8.0.3
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; makes the file a source for it.
    required: true
    type: str
    choices: [ghost.infra.vsphere]
  hostname:
    description:
      - Name or address of the vCenter Server or the standalone ESXi host.
      - Required, from the option or the environment (AWX's VMware credential sets E(VMWARE_HOST)).
    type: str
    env:
      - name: VMWARE_HOST
  username:
    description:
      - User to log in as, for example C(administrator@vsphere.local) or C(root).
      - Required, from the option or the environment.
    type: str
    env:
      - name: VMWARE_USER
  password:
    description:
      - Password of O(username). Never shown in errors, and never part of the cache key.
      - Required, from the option or the environment. Keep it out of the source file (use
        the environment, or an encrypted value with ansible-vault).
    type: str
    env:
      - name: VMWARE_PASSWORD
  port:
    description: HTTPS port of the vSphere API.
    type: int
    default: 443
    env:
      - name: VMWARE_PORT
  validate_certs:
    description:
      - Verify the TLS certificate of the API endpoint.
      - Set to V(false) only for lab hosts with self-signed certificates.
    type: bool
    default: true
    env:
      - name: VMWARE_VALIDATE_CERTS
  timeout:
    description: Seconds one HTTP request to the API may take before the API counts as down.
    type: int
    default: 60
  folder:
    description:
      - Only VMs in this folder or below it, as a full path (C(/DC0/vm/lab)) or relative to
        each datacenter's VM folder (C(lab)).
    type: str
  names:
    description:
      - Only VMs whose name matches one of these shell-style patterns (C(web*)),
        case-sensitive. Default is every VM.
    type: list
    elements: str
    default: []
  exclude_names:
    description: Leave out VMs whose name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  power_states:
    description: Only VMs in one of these power states. Default is every state.
    type: list
    elements: str
    choices: [poweredOn, poweredOff, suspended]
    default: []
  managed_only:
    description: Only VMs that M(ghost.infra.esxi_vm) created (extraConfig C(ghost.infra.managed=true)).
    type: bool
    default: false
  templates:
    description: Include templates (they have no address; they are in C(vsphere_templates)).
    type: bool
    default: true
  disks:
    description:
      - Read every VM's devices, for the host variable C(disks) and the port group of each
        network adapter in C(networks), exactly as M(ghost.infra.esxi_vm_info) returns them.
      - The devices are most of what the API sends (two thirds of the bytes and of the time on
        2,000 simulated VMs), so by default they are not read, C(disks) is left out and
        C(networks) lists the networks the VM is connected to (the VM's C(network) property).
    type: bool
    default: false
  ansible_host_sources:
    description:
      - Where C(ansible_host) comes from, in order of preference; the first source that has a
        value wins, and a host with none gets no C(ansible_host).
      - V(guest_ip) is the guest's first IPv4 address that is not link-local (VMware Tools
        reports it), as in M(ghost.infra.esxi_vm_info)'s C(ip_address).
      - V(name) is the VM's name (for VMs whose name resolves in DNS).
      - A key starting with C(guestinfo.), for example V(guestinfo.ip_address), is that
        extraConfig value. Only the values of the guestinfo keys listed here are used, each only
        when it is an IP address or a DNS name, and only as C(ansible_host). Never name a key
        that holds a secret.
    type: list
    elements: str
    default: [guest_ip]
  name_format:
    description:
      - The inventory host name of a VM, a Python format string with the fields C({name}),
        C({moid}), C({uuid}), C({instance_uuid}) and C({datacenter}).
      - VMs that get the same name (the same name in two folders) are named
        C(<name>_<moid>), with a warning.
    type: str
    default: "{name}"
  hostvars_prefix:
    description: Prefix of the host variables with M(ghost.infra.esxi_vm_info)'s fields.
    type: str
    default: vsphere_
notes:
  - A vSphere API that does not answer, or refuses the login, fails the source with
    O(strict=true); otherwise it is a warning and the source adds no hosts. A refresh that
    failed is never cached.
  - With O(cache=true), hosts come from the cache while it is fresh (O(cache_timeout)), so a
    second run makes no vSphere API call. Changing a filter or a source option reads again.
seealso:
  - module: ghost.infra.esxi_vm_info
  - name: community.vmware.vmware_vm_inventory
    description: The inventory plugin of community.vmware (several calls per VM).
    link: https://docs.ansible.com/ansible/latest/collections/community/vmware/vmware_vm_inventory_inventory.html
"""

EXAMPLES = r"""
# Save as lab.ghost.infra.vsphere.yml; credentials from the environment (AWX's VMware
# credential injects VMWARE_HOST, VMWARE_USER, VMWARE_PASSWORD, VMWARE_VALIDATE_CERTS), then:
#   ansible-inventory -i lab.ghost.infra.vsphere.yml --graph
plugin: ghost.infra.vsphere

---
# The running web servers of one folder, addressed by the guest IP or, before VMware Tools
# reports one, by the address cloud-init was given in guestinfo; grouped by datacenter and
# by the guest's network, and cached for 10 minutes.
plugin: ghost.infra.vsphere
hostname: vcenter.lab.example.com
username: administrator@vsphere.local
validate_certs: true
folder: /DC0/vm/lab
names: ["web*"]
power_states: [poweredOn]
ansible_host_sources: [guest_ip, guestinfo.ip_address]
keyed_groups:
  - key: vsphere_datacenter
    prefix: dc
  - key: vsphere_networks
    prefix: net
compose:
  ansible_user: "'ubuntu'"
groups:
  big: vsphere_memory_mb >= 8192
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 600

---
# Only the VMs ghost.infra.esxi_vm made on a standalone ESXi host, named after their
# moid so two VMs with one name never clash.
plugin: ghost.infra.vsphere
hostname: esxi1.lab.example.com
username: root
managed_only: true
templates: false
name_format: "{name}-{moid}"
strict: true
"""

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._inventory import vsphere_client, vsphere_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import PYVMOMI  # noqa: E402
from ansible_collections.ghost.infra.plugins.plugin_utils.inventory import BackendDown, GhostInventory  # noqa: E402

# Options that decide which VMs become hosts and how they look (the cache key's digest).
SHAPE_OPTIONS = ("folder", "names", "exclude_names", "power_states", "managed_only", "templates", "disks",
                 "ansible_host_sources", "name_format", "hostvars_prefix")


class InventoryModule(GhostInventory):

    NAME = "ghost.infra.vsphere"
    SECRET_OPTIONS = ("password",)

    def read_hosts(self):
        options = {k: self.get_option(k) for k in SHAPE_OPTIONS}
        vsphere_spec.check_options(options)  # bad options fail before any API call
        PYVMOMI.require()
        connection = {k: self.get_option(k) for k in vsphere_client.CONNECTION_OPTIONS}
        try:
            inventory = vsphere_client.read_inventory(connection, timeout=self.get_option("timeout"),
                                                      disks=options["disks"])
        except GhostError as exc:
            if exc.option:
                raise
            raise BackendDown("cannot read the VMs of %s:%s: %s" % (connection["hostname"], connection["port"], exc))
        return vsphere_spec.hosts(inventory, options)
