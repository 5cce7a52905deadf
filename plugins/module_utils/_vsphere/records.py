# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plain records the vSphere client returns, and how PropertyCollector values become them.
Private to ghost.infra; pure (no ansible and no pyVmomi import).

A VM *record* (client.read_vms) is a dict::

    moid, name, parent (folder moid), template (bool), uuid, instance_uuid, cpu, memory_mb,
    cpu_hot_add, cpu_hot_remove, memory_hot_add (bool), power_state ("poweredOn", ...),
    tools_running (bool), guest_ip, guest_net_ips (list), extra_config ({key: str}),
    disks ([{key, label, capacity_kb, file, thin, linked}]), nics ([{key, label, mac, network}]),
    datastores ([moid]), resource_pool, host, current_snapshot (moids or None)

An *inventory* (client.inventory) is ``{"datacenters": {moid: {name, parent, vm_folder}},
"folders": {moid: {name, parent}}, "networks": {moid or ("dvpg", key): name}, "vms": [record,
...]}``; inventory VM records may carry only ``moid``, ``name``, ``parent`` and ``template``.

A *placement* (client.placement) holds a datacenter's ``pools``, ``compute`` resources,
``hosts``, ``datastores`` and ``networks``, each ``{moid: {...}}``.

The converters take what the client read, ``[(MoRef, {property path: plain value})]`` in
soapxml's plain form, and an ``is_a(wsdl_name, base)`` predicate for vSphere's type hierarchy
(the client passes vmomi_internals.is_a, which asks pyVmomi's type registry).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import (
    MoRef,
    as_bool,
    as_int,
    as_list,
)

POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"
SUSPENDED = "suspended"

# extraConfig key marking VMs this collection created; only they are deleted without force.
MANAGED_KEY = "ghost.infra.managed"
MANAGED_VALUE = "true"
GUESTINFO_PREFIX = "guestinfo."
# extraConfig keys of the expiry record (_common/lifetime.py), stored beside MANAGED_KEY.
LIFETIME_KEYS = {"ttl": "ghost.infra.ttl", "expires_at": "ghost.infra.expires-at",
                 "renewed_at": "ghost.infra.renewed-at"}

KB_PER_GB = 1024 * 1024


def is_managed(record):
    return (record.get("extra_config") or {}).get(MANAGED_KEY, "").strip().lower() == MANAGED_VALUE


def lifetime_of(extra_config):
    """The expiry record ``{"ttl", "expires_at", "renewed_at"}`` an extraConfig mapping holds
    (only the fields it has)."""
    extra = extra_config or {}
    return {field: extra[key].strip() for field, key in LIFETIME_KEYS.items() if (extra.get(key) or "").strip()}


def lifetime_extra_config(record, current_extra=None):
    """The extraConfig entries that make a VM holding ``current_extra`` hold the expiry record
    ``record``: each field set, and "" (vSphere's removal) for a key it holds that ``record``
    lacks. Only entries that differ from ``current_extra``."""
    current = current_extra or {}
    out = {}
    for field, key in LIFETIME_KEYS.items():
        value = (record or {}).get(field) or ""
        if (current.get(key) or "") != value:
            out[key] = value
    return out


def guestinfo_of(extra_config):
    """The guestinfo.* keys of an extraConfig mapping, values unmasked (internal use only)."""
    return {k: v for k, v in (extra_config or {}).items() if k.startswith(GUESTINFO_PREFIX)}


def usable_ip(address):
    """True for an IPv4 address a user can reach: not link-local, loopback or unspecified."""
    try:
        ip = ipaddress.ip_address(str(address).split("/", 1)[0].strip())
    except ValueError:
        return False
    return ip.version == 4 and not (ip.is_link_local or ip.is_loopback or ip.is_unspecified)


def pick_ip(record):
    """The VM's guest IPv4 address: ``guest.ipAddress`` if usable, else the first usable one of
    ``guest.net``; link-local (169.254/16) addresses an unconfigured guest has are ignored."""
    candidates = [record.get("guest_ip")] + list(record.get("guest_net_ips") or [])
    for address in candidates:
        if address and usable_ip(address):
            return str(address).split("/", 1)[0].strip()
    return None


def moid_of(ref):
    """The moid of a MoRef (or of a moid string); None for none."""
    if isinstance(ref, MoRef):
        return ref.value or None
    return ref or None


def fault_text(error):
    """A task's ``info.error`` (a plain LocalizedMethodFault) as ``FaultName: message``, with
    the message of the fault's cause when there is one (a power-on fault names its reason
    there)."""
    if not isinstance(error, dict):
        return "the task failed"
    fault = error.get("fault") if isinstance(error.get("fault"), dict) else {}
    name = fault.get("_type") or "the task failed"
    texts = [fault.get("msg") or error.get("localizedMessage")]
    texts += [m.get("message") for m in as_list(fault.get("faultMessage")) if isinstance(m, dict)]
    cause = fault.get("faultCause")
    if isinstance(cause, dict):
        texts.append(cause.get("localizedMessage") or fault_text(cause))
    # A message that only names the fault type (vcsim's "*types.InvalidState") says nothing.
    texts = [t for t in texts if t and not t.endswith(name) and t != "the task failed"]
    return "%s: %s" % (name, "; ".join(texts)) if texts else name


def _disk(device):
    backing = device.get("backing") or {}
    capacity = as_int(device.get("capacityInBytes"))
    capacity_kb = capacity // 1024 if capacity else as_int(device.get("capacityInKB"), 0)
    label = (device.get("deviceInfo") or {}).get("label")
    return {
        "key": as_int(device.get("key")),
        "label": label or "disk %s" % device.get("key"),
        "capacity_kb": capacity_kb,
        "file": backing.get("fileName"),
        "thin": as_bool(backing["thinProvisioned"]) if "thinProvisioned" in backing else None,
        "linked": bool(backing.get("parent")),
    }


def _nic(device, networks, is_a):
    backing = device.get("backing") or {}
    kind = backing.get("_type") or ""
    network = None
    if is_a(kind, "VirtualEthernetCardNetworkBackingInfo"):
        network = backing.get("deviceName") or networks.get(moid_of(backing.get("network")))
    elif is_a(kind, "VirtualEthernetCardDistributedVirtualPortBackingInfo"):
        port = backing.get("port") or {}
        network = networks.get(("dvpg", port.get("portgroupKey")))
    elif is_a(kind, "VirtualEthernetCardOpaqueNetworkBackingInfo"):
        network = backing.get("opaqueNetworkId")
    label = (device.get("deviceInfo") or {}).get("label")
    return {
        "key": as_int(device.get("key")),
        "label": label or "nic %s" % device.get("key"),
        "mac": device.get("macAddress"),
        "network": network,
    }


def vm_record(moid, props, *, networks=None, is_a):
    """A VM's properties (``{path: plain value}``) as the record described above;
    ``networks`` is the inventory's network names, for the NICs."""
    networks = networks or {}
    devices = as_list(props.get("config.hardware.device"))
    disks = [_disk(d) for d in devices if is_a(d.get("_type") or "", "VirtualDisk")]
    nics = [_nic(d, networks, is_a) for d in devices if is_a(d.get("_type") or "", "VirtualEthernetCard")]
    disks.sort(key=lambda d: d["key"])
    nics.sort(key=lambda n: n["key"])
    extra = {}
    for option in as_list(props.get("config.extraConfig")):
        value = option.get("value")
        extra[option.get("key")] = value if isinstance(value, str) else ("" if value is None else str(value))
    net_ips = []
    for nic in as_list(props.get("guest.net")):
        net_ips.extend(as_list(nic.get("ipAddress")))
    return {
        "moid": moid,
        "name": props.get("name"),
        "parent": moid_of(props.get("parent")),
        "template": as_bool(props.get("config.template")),
        "uuid": props.get("config.uuid") or None,
        "instance_uuid": props.get("config.instanceUuid") or None,
        "cpu": as_int(props.get("config.hardware.numCPU")),
        "memory_mb": as_int(props.get("config.hardware.memoryMB")),
        "cpu_hot_add": as_bool(props.get("config.cpuHotAddEnabled")),
        "cpu_hot_remove": as_bool(props.get("config.cpuHotRemoveEnabled")),
        "memory_hot_add": as_bool(props.get("config.memoryHotAddEnabled")),
        "power_state": props.get("runtime.powerState"),
        "tools_running": props.get("guest.toolsRunningStatus") == "guestToolsRunning",
        "guest_ip": props.get("guest.ipAddress") or None,
        "guest_net_ips": net_ips,
        "extra_config": extra,
        "disks": disks,
        "nics": nics,
        "datastores": [moid_of(d) for d in as_list(props.get("datastore"))],
        "resource_pool": moid_of(props.get("resourcePool")),
        "host": moid_of(props.get("runtime.host")),
        "current_snapshot": moid_of(props.get("snapshot.currentSnapshot")),
    }


def inventory_record(found, *, full, is_a):
    """The inventory from a read of datacenters, folders, networks and VMs; ``full`` when
    the VMs were read with every property (full records), else with name, parent, template."""
    out = {"datacenters": {}, "folders": {}, "networks": {}, "vms": []}
    vms = []
    for ref, props in found:
        if is_a(ref.type, "VirtualMachine"):
            vms.append((ref.value, props))
        elif is_a(ref.type, "Datacenter"):
            out["datacenters"][ref.value] = {"name": props.get("name"), "parent": moid_of(props.get("parent")),
                                             "vm_folder": moid_of(props.get("vmFolder"))}
        elif is_a(ref.type, "Folder"):
            out["folders"][ref.value] = {"name": props.get("name"), "parent": moid_of(props.get("parent"))}
        elif is_a(ref.type, "Network"):
            out["networks"][ref.value] = props.get("name")
            if props.get("key"):
                out["networks"][("dvpg", props["key"])] = props.get("name")
    # VMs last: a full record names its NICs' networks, read in the same call.
    for vm_moid, props in vms:
        if full:
            out["vms"].append(vm_record(vm_moid, props, networks=out["networks"], is_a=is_a))
        else:
            out["vms"].append({"moid": vm_moid, "name": props.get("name"), "parent": moid_of(props.get("parent")),
                               "template": as_bool(props.get("config.template"))})
    return out


def placement_record(found, *, is_a):
    """The placement from a read of a datacenter's pools, compute resources, hosts,
    datastores, networks and distributed switches."""
    out = {"pools": {}, "compute": {}, "hosts": {}, "datastores": {}, "networks": {}}
    switches = {}
    portgroups = []
    for ref, props in found:
        key, kind = ref.value, ref.type
        if is_a(kind, "ResourcePool"):
            out["pools"][key] = {"name": props.get("name"), "parent": moid_of(props.get("parent")),
                                 "owner": moid_of(props.get("owner"))}
        elif is_a(kind, "ComputeResource"):
            out["compute"][key] = {"name": props.get("name"), "resource_pool": moid_of(props.get("resourcePool")),
                                   "hosts": [moid_of(h) for h in as_list(props.get("host"))]}
        elif is_a(kind, "HostSystem"):
            out["hosts"][key] = {"name": props.get("name"), "parent": moid_of(props.get("parent"))}
        elif is_a(kind, "Datastore"):
            accessible = props.get("summary.accessible")
            out["datastores"][key] = {"name": props.get("name"),
                                      "accessible": None if accessible is None else as_bool(accessible)}
        elif is_a(kind, "DistributedVirtualSwitch"):
            switches[key] = props.get("uuid")
        elif is_a(kind, "Network"):
            network = "standard"
            if is_a(kind, "DistributedVirtualPortgroup"):
                network = "distributed"
                portgroups.append((key, moid_of(props.get("config.distributedVirtualSwitch"))))
            elif is_a(kind, "OpaqueNetwork"):
                network = "opaque"
            out["networks"][key] = {"name": props.get("name"), "kind": network, "key": props.get("key")}
    for key, switch in portgroups:
        out["networks"][key]["switch_uuid"] = switches.get(switch)
    return out
