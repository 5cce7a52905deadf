# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt XML read into plain data: domains, volumes, pools, capabilities, leases. Private to
ghost.infra; pure (no ansible, no libvirt import).

parse_domain() reads the fields spec.py manages from a domain's XML (xml_build.py writes them
back); the other parse_* functions read what the client gets from the storage and host APIs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

# Namespace of the module's bookkeeping inside <metadata>.
NS = "https://github.com/ghost-infra/ghost.infra/libvirt/1"
PREFIX = "ghost"
ET.register_namespace(PREFIX, NS)
ET.register_namespace("libosinfo", "http://libosinfo.org/xmlns/libvirt/domain/1.0")

INSTANCE = "{%s}instance" % NS
_BASE = "{%s}base" % NS
_VOLUME = "{%s}volume" % NS
_RESET = "{%s}reset" % NS
# Attributes of a metadata volume record, as stored (XML) and as used (fields).
VOLUME_ATTRS = (("role", "role"), ("pool", "pool"), ("name", "name"), ("path", "path"),
                ("sha256", "sha256"), ("instance-id", "instance_id"))
RESTART_FLAG = "restart-required"
# The expiry record (_common/lifetime.py), as attributes of the module's element: the reaper
# and the inventory find it beside the ownership marker.
LIFETIME_ATTRS = (("ttl", "ttl"), ("expires-at", "expires_at"), ("renewed-at", "renewed_at"))

_UNITS = {
    "b": 1, "bytes": 1, "kb": 1000, "k": 1024, "kib": 1024, "mb": 1000 ** 2, "m": 1024 ** 2,
    "mib": 1024 ** 2, "gb": 1000 ** 3, "g": 1024 ** 3, "gib": 1024 ** 3, "tb": 1000 ** 4,
    "t": 1024 ** 4, "tib": 1024 ** 4,
}


def parse_xml(text, what="domain"):
    """The root element of an XML text from libvirt; GhostError when it does not parse."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise GhostError("cannot parse the %s XML from libvirt: %s" % (what, exc))


def _bytes(element, default_unit="b"):
    """The size an element holds, honouring its ``unit`` attribute, in bytes (or None)."""
    if element is None or element.text is None:
        return None
    unit = (element.get("unit") or default_unit).lower()
    if unit not in _UNITS:
        raise GhostError("unknown size unit %r in libvirt XML" % unit)
    return int(element.text.strip()) * _UNITS[unit]


# ---------------------------------------------------------------------------------------
# Domains


def disk_fields(disk):
    """A <disk> element as a disk dict (see spec.overlay_disk)."""
    source = disk.find("source")
    path = None
    kind = disk.get("type", "file")
    if source is not None:
        if kind == "volume":
            path = "%s/%s" % (source.get("pool"), source.get("volume"))
        elif kind == "network":
            path = "%s:%s" % (source.get("protocol"), source.get("name"))
        else:
            path = source.get("file") or source.get("dev") or source.get("dir")
    driver = disk.find("driver")
    target = disk.find("target")
    backing, backing_format = None, None
    store = disk.find("backingStore")
    if store is not None:
        store_source = store.find("source")
        if store_source is not None:
            backing = store_source.get("file") or store_source.get("dev")
        store_format = store.find("format")
        if store_format is not None:
            backing_format = store_format.get("type")
    return {
        "device": disk.get("device", "disk"),
        "type": kind,
        "path": path,
        "format": driver.get("type") if driver is not None else None,
        "bus": target.get("bus") if target is not None else None,
        "target": target.get("dev") if target is not None else None,
        "backing": backing,
        "backing_format": backing_format,
        "readonly": disk.find("readonly") is not None,
    }


def nic_fields(nic):
    """An <interface> element as a NIC dict ``{type, source, mac, model}``."""
    kind = nic.get("type")
    source = nic.find("source")
    name = None
    if source is not None:
        name = source.get("network") or source.get("bridge") or source.get("dev")
    mac = nic.find("mac")
    model = nic.find("model")
    return {
        "type": kind,
        "source": name,
        "mac": mac.get("address").lower() if mac is not None and mac.get("address") else None,
        "model": model.get("type") if model is not None else None,
    }


def firmware_of(os_element):
    """uefi or bios, from a domain's <os> element."""
    if os_element is None:
        return "bios"
    if os_element.get("firmware") == "efi":
        return "uefi"
    loader = os_element.find("loader")
    if loader is not None and loader.get("type") == "pflash":
        return "uefi"
    return "bios"


def console_log_of(devices):
    """The file the serial console writes to, or None."""
    if devices is None:
        return None
    for serial in devices.findall("serial"):
        if serial.get("type") == "file":
            source = serial.find("source")
            if source is not None and source.get("path"):
                return source.get("path")
    return None


def parse_metadata(root):
    """The module's bookkeeping in a domain's <metadata>, and whether the live definition is
    flagged as waiting for a restart."""
    instance = root.find("metadata/" + INSTANCE)
    out = {"base": None, "volumes": [], "reset": None, "lifetime": {}}
    if instance is None:
        return out, False
    out["lifetime"] = {key: instance.get(attr) for attr, key in LIFETIME_ATTRS if instance.get(attr)}
    base = instance.find(_BASE)
    if base is not None:
        out["base"] = base.get("path")
    reset = instance.find(_RESET)
    if reset is not None and reset.get("token") is not None:
        count = reset.get("count") or "0"
        out["reset"] = {"token": reset.get("token"), "count": int(count) if count.isdigit() else 0}
    for volume in instance.findall(_VOLUME):
        record = {key: volume.get(attr) for attr, key in VOLUME_ATTRS if volume.get(attr)}
        if record.get("role"):
            out["volumes"].append(record)
    out["volumes"].sort(key=lambda v: v["role"])
    return out, instance.get(RESTART_FLAG) == "yes"


def parse_domain(text):
    """The managed fields of a domain XML, plus ``name``, ``uuid`` and ``restart_flag``."""
    root = parse_xml(text)
    if root.tag != "domain":
        raise GhostError("libvirt returned <%s>, not a <domain>" % root.tag)
    os_element = root.find("os")
    devices = root.find("devices")
    memory = _bytes(root.find("memory"), "kib")
    vcpu = root.findtext("vcpu")
    metadata, restart_flag = parse_metadata(root)

    def os_text(tag):
        return os_element.findtext(tag) if os_element is not None else None

    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "type": root.get("type"),
        "vcpus": int(vcpu.strip()) if vcpu else None,
        "memory_mb": memory // (1024 * 1024) if memory is not None else None,
        "firmware": firmware_of(os_element),
        "kernel": os_text("kernel") or None,
        "initrd": os_text("initrd") or None,
        "cmdline": os_text("cmdline") or None,
        "console_log": console_log_of(devices),
        "disks": [disk_fields(d) for d in devices.findall("disk")] if devices is not None else [],
        "interfaces": [nic_fields(n) for n in devices.findall("interface")] if devices is not None else [],
        "metadata": metadata,
        "restart_flag": restart_flag,
    }


# ---------------------------------------------------------------------------------------
# Volumes, pools, host


def parse_volume(text):
    """``{path, format, capacity, allocation, backing, backing_format}`` of a volume XML."""
    root = parse_xml(text, "volume")
    target = root.find("target")
    store = root.find("backingStore")
    fmt = target.find("format") if target is not None else None
    store_fmt = store.find("format") if store is not None else None
    return {
        "name": root.findtext("name"),
        "path": target.findtext("path") if target is not None else None,
        "format": fmt.get("type") if fmt is not None else None,
        "capacity": _bytes(root.find("capacity")),
        "allocation": _bytes(root.find("allocation")),
        "backing": store.findtext("path") if store is not None else None,
        "backing_format": store_fmt.get("type") if store_fmt is not None else None,
    }


def parse_pool(text):
    """``{name, type, path, capacity, available}`` of a storage pool XML (sizes in bytes, as
    of libvirt's last look at the pool; None when the XML has none)."""
    root = parse_xml(text, "storage pool")
    target = root.find("target")
    return {
        "name": root.findtext("name"),
        "type": root.get("type"),
        "path": target.findtext("path") if target is not None else None,
        "capacity": _bytes(root.find("capacity")),
        "available": _bytes(root.find("available")),
    }


def parse_capabilities(text):
    """``{"arch": host arch, "kvm": bool}`` from the hypervisor's capabilities XML: kvm when a
    guest of the host's arch offers <domain type='kvm'>."""
    root = parse_xml(text, "capabilities")
    arch = root.findtext("host/cpu/arch")
    kvm = False
    for guest in root.findall("guest"):
        guest_arch = guest.find("arch")
        if guest.findtext("os_type") != "hvm" or guest_arch is None:
            continue
        if arch is None:
            arch = guest_arch.get("name")
        if guest_arch.get("name") == arch:
            kvm = kvm or any(d.get("type") == "kvm" for d in guest_arch.findall("domain"))
    return {"arch": arch or "x86_64", "kvm": kvm}


def parse_leases(leases):
    """{mac: [address, ...]} from virNetwork.DHCPLeases() records (dicts)."""
    out = {}
    for lease in leases or []:
        mac = (lease.get("mac") or "").lower()
        if mac and lease.get("ipaddr"):
            out.setdefault(mac, []).append(lease["ipaddr"])
    return out
