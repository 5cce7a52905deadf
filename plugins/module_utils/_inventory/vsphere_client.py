# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.vsphere inventory's one read. Private to ghost.infra.

The read esxi_vm_info makes (_vsphere/client.py): log in, ONE paged RetrievePropertiesEx over a
ContainerView of the root folder, log out; the number of API calls does not grow with the
number of VMs (a page holds 1,000 objects). It asks for the VM properties the inventory shows
rather than every property esxi_vm_info reads: ``config.hardware.device`` (every device of every
VM, two thirds of the answer's bytes and of its time on 2,000 simulated VMs) only when disks
are wanted; the networks come from the VM's ``network`` list instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import records, vmomi_internals
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import VsphereClient
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import as_list

CONNECTION_OPTIONS = ("hostname", "username", "password", "port", "validate_certs")
# What vsphere_spec shows of a VM (records.vm_record reads the same paths).
VM_PROPERTIES = ("name", "parent", "config.template", "config.uuid", "config.instanceUuid",
                 "config.hardware.numCPU", "config.hardware.memoryMB", "config.extraConfig",
                 "runtime.powerState", "guest.ipAddress", "guest.net", "network")
DEVICE_PROPERTY = "config.hardware.device"


def _properties(disks):
    return {
        "VirtualMachine": VM_PROPERTIES + ((DEVICE_PROPERTY,) if disks else ()),
        "Folder": ("name", "parent"),
        "Datacenter": ("name", "parent", "vmFolder"),
        "Network": ("name",),
        "DistributedVirtualPortgroup": ("key",),
    }


def inventory_of(found, *, disks):
    """The inventory (records.py) of one read; each VM record also has ``network_names`` (the
    networks it is connected to) and, without ``disks``, no device lists (``devices_read``
    False)."""
    inventory = records.inventory_record(found, full=True, is_a=vmomi_internals.is_a)
    networks = {}
    for ref, props in found:
        if vmomi_internals.is_a(ref.type, "VirtualMachine"):
            networks[ref.value] = [inventory["networks"].get(records.moid_of(n)) for n in as_list(props.get("network"))]
    for record in inventory["vms"]:
        record["network_names"] = [n for n in networks.get(record["moid"], []) if n]
        record["devices_read"] = bool(disks)
    return inventory


def read_inventory(options, *, timeout, disks=False, connect=VsphereClient.connect):
    """The inventory of the vCenter or ESXi host ``options`` name; GhostError (with ``option``
    set when an option is missing) when it cannot be read."""
    connection = {k: options.get(k) for k in CONNECTION_OPTIONS}
    with connect(timeout=timeout, **connection) as client:
        # The client's one paged view read, with the inventory's property list.
        found = client._collect_view("Failed to read the vSphere inventory", client.content.rootFolder,
                                     _properties(disks))
    return inventory_of(found, disks=disks)
