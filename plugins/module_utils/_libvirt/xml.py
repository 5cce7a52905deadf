# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt XML for domains, volumes and capabilities. Private to ghost.infra; pure (no ansible,
no libvirt import).

parse_domain() reads the fields spec.py manages from a domain's XML; build_domain() writes a
new definition; patch_domain() rewrites only the managed parts of an existing definition and
leaves everything else (addresses, controllers, graphics someone added) as it is, so a diff
between pretty(before) and the patched XML shows just the change.
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

_INSTANCE = "{%s}instance" % NS
_BASE = "{%s}base" % NS
_VOLUME = "{%s}volume" % NS
# Attributes of a metadata volume record, as stored (XML) and as used (fields).
_VOLUME_ATTRS = (("role", "role"), ("pool", "pool"), ("name", "name"), ("path", "path"),
                 ("sha256", "sha256"), ("instance-id", "instance_id"))
RESTART_FLAG = "restart-required"

_UNITS = {
    "b": 1, "bytes": 1, "kb": 1000, "k": 1024, "kib": 1024, "mb": 1000 ** 2, "m": 1024 ** 2,
    "mib": 1024 ** 2, "gb": 1000 ** 3, "g": 1024 ** 3, "gib": 1024 ** 3, "tb": 1000 ** 4,
    "t": 1024 ** 4, "tib": 1024 ** 4,
}

MACHINES = {"x86_64": "q35", "i686": "q35", "aarch64": "virt", "riscv64": "virt"}


def _parse(text, what="domain"):
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


def _sub(parent, tag, attrib=None, text=None):
    element = ET.SubElement(parent, tag, attrib or {})
    if text is not None:
        element.text = text
    return element


# ---------------------------------------------------------------------------------------
# Domains: parse


def _disk_fields(disk):
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


def _nic_fields(nic):
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


def _firmware(os_element):
    if os_element is None:
        return "bios"
    if os_element.get("firmware") == "efi":
        return "uefi"
    loader = os_element.find("loader")
    if loader is not None and loader.get("type") == "pflash":
        return "uefi"
    return "bios"


def _console_log(devices):
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
    instance = root.find("metadata/" + _INSTANCE)
    out = {"base": None, "volumes": []}
    if instance is None:
        return out, False
    base = instance.find(_BASE)
    if base is not None:
        out["base"] = base.get("path")
    for volume in instance.findall(_VOLUME):
        record = {key: volume.get(attr) for attr, key in _VOLUME_ATTRS if volume.get(attr)}
        if record.get("role"):
            out["volumes"].append(record)
    out["volumes"].sort(key=lambda v: v["role"])
    return out, instance.get(RESTART_FLAG) == "yes"


def parse_domain(text):
    """The managed fields of a domain XML, plus ``name``, ``uuid`` and ``restart_flag``."""
    root = _parse(text)
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
        "firmware": _firmware(os_element),
        "kernel": os_text("kernel") or None,
        "initrd": os_text("initrd") or None,
        "cmdline": os_text("cmdline") or None,
        "console_log": _console_log(devices),
        "disks": [_disk_fields(d) for d in devices.findall("disk")] if devices is not None else [],
        "interfaces": [_nic_fields(n) for n in devices.findall("interface")] if devices is not None else [],
        "metadata": metadata,
        "restart_flag": restart_flag,
    }


# ---------------------------------------------------------------------------------------
# Domains: build and patch


def disk_element(disk):
    element = ET.Element("disk", {"type": disk.get("type") or "file", "device": disk["device"]})
    _sub(element, "driver", {"name": "qemu", "type": disk["format"]})
    _sub(element, "source", {"file": disk["path"]})
    if disk.get("backing"):
        store = _sub(element, "backingStore", {"type": "file"})
        if disk.get("backing_format"):
            _sub(store, "format", {"type": disk["backing_format"]})
        _sub(store, "source", {"file": disk["backing"]})
    _sub(element, "target", {"dev": disk["target"], "bus": disk["bus"]})
    if disk.get("readonly"):
        _sub(element, "readonly")
    return element


def nic_element(nic):
    element = ET.Element("interface", {"type": nic["type"]})
    _sub(element, "mac", {"address": nic["mac"]})
    _sub(element, "source", {nic["type"]: nic["source"]})
    _sub(element, "model", {"type": nic["model"]})
    return element


def console_elements(path):
    """<serial> and <console> writing to ``path``, or the usual pty pair when None."""
    if path:
        serial = ET.Element("serial", {"type": "file"})
        _sub(serial, "source", {"path": path, "append": "on"})
        _sub(serial, "target", {"port": "0"})
        console = ET.Element("console", {"type": "file"})
        _sub(console, "source", {"path": path, "append": "on"})
        _sub(console, "target", {"type": "serial", "port": "0"})
    else:
        serial = ET.Element("serial", {"type": "pty"})
        _sub(serial, "target", {"port": "0"})
        console = ET.Element("console", {"type": "pty"})
        _sub(console, "target", {"type": "serial", "port": "0"})
    return [serial, console]


def metadata_element(metadata, restart_required=False, namespaced=True):
    """The module's <ghost:instance> element (without namespace for virDomainSetMetadata,
    which adds it)."""
    def tag(name):
        return "{%s}%s" % (NS, name) if namespaced else name
    instance = ET.Element(tag("instance"))
    if restart_required:
        instance.set(RESTART_FLAG, "yes")
    if metadata.get("base"):
        ET.SubElement(instance, tag("base"), {"path": metadata["base"]})
    for volume in metadata.get("volumes", []):
        ET.SubElement(instance, tag("volume"),
                      {attr: str(volume[key]) for attr, key in _VOLUME_ATTRS if volume.get(key)})
    return instance


def metadata_xml(metadata, restart_required=False):
    """The metadata element as virDomainSetMetadata wants it: no namespace of its own (libvirt
    puts the element into the namespace it is given)."""
    return ET.tostring(metadata_element(metadata, restart_required, namespaced=False),
                       encoding="unicode")


def build_domain(fields, *, name, arch, machine=None):
    """A new domain definition (string) for the wanted fields."""
    root = ET.Element("domain", {"type": fields["type"]})
    _sub(root, "name", text=name)
    _sub(_sub(root, "metadata"), _INSTANCE)
    _sub(root, "memory", {"unit": "KiB"}, str(fields["memory_mb"] * 1024))
    _sub(root, "currentMemory", {"unit": "KiB"}, str(fields["memory_mb"] * 1024))
    _sub(root, "vcpu", {"placement": "static"}, str(fields["vcpus"]))
    os_element = _sub(root, "os")
    type_attrs = {"arch": arch}
    machine = machine or MACHINES.get(arch)
    if machine:
        type_attrs["machine"] = machine
    _sub(os_element, "type", type_attrs, "hvm")
    _sub(os_element, "boot", {"dev": "hd"})
    features = _sub(root, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    _sub(root, "clock", {"offset": "utc"})
    _sub(root, "on_poweroff", text="destroy")
    _sub(root, "on_reboot", text="restart")
    _sub(root, "on_crash", text="destroy")
    devices = _sub(root, "devices")
    # Guest agent channel (wait_for_ip) and an entropy source (faster first boot).
    channel = _sub(devices, "channel", {"type": "unix"})
    _sub(channel, "target", {"type": "virtio", "name": "org.qemu.guest_agent.0"})
    rng = _sub(devices, "rng", {"model": "virtio"})
    _sub(rng, "backend", {"model": "random"}, "/dev/urandom")
    _sub(devices, "memballoon", {"model": "virtio"})
    return patch_domain(ET.tostring(root, encoding="unicode"), fields)


def _ensure(parent, tag, before=None):
    """The child ``tag`` of ``parent``, created (before the first ``before`` tag) if missing."""
    element = parent.find(tag)
    if element is None:
        element = ET.Element(tag)
        _insert_before(parent, element, before or ())
    return element


def _insert_before(parent, element, tags):
    for index, child in enumerate(list(parent)):
        if child.tag in tags:
            parent.insert(index, element)
            return
    parent.append(element)


def _insert_after_last(parent, element, tags, fallback_after=("emulator",)):
    """Insert ``element`` after the last child whose tag is in ``tags`` (else after the last
    ``fallback_after``, else first)."""
    children = list(parent)
    for group in (tags, fallback_after):
        for index in range(len(children) - 1, -1, -1):
            if children[index].tag in group:
                parent.insert(index + 1, element)
                return
    parent.insert(0, element)


def _set_os_child(os_element, tag, value):
    element = os_element.find(tag)
    if value is None:
        if element is not None:
            os_element.remove(element)
        return
    if element is None:
        element = ET.Element(tag)
        _insert_before(os_element, element, ("dtb", "acpi", "boot", "bootmenu", "smbios", "bios"))
    element.text = value


def _patch_os(root, fields):
    os_element = _ensure(root, "os", before=("features", "cpu", "clock", "devices"))
    if fields["firmware"] == "uefi":
        if _firmware(os_element) != "uefi":
            for tag in ("loader", "nvram"):
                for child in os_element.findall(tag):
                    os_element.remove(child)
            os_element.set("firmware", "efi")
    else:
        if "firmware" in os_element.attrib:
            del os_element.attrib["firmware"]
        for tag in ("firmware", "nvram"):
            for child in os_element.findall(tag):
                os_element.remove(child)
        for loader in os_element.findall("loader"):
            if loader.get("type") != "rom":
                os_element.remove(loader)
    _set_os_child(os_element, "kernel", fields["kernel"])
    _set_os_child(os_element, "initrd", fields["initrd"])
    _set_os_child(os_element, "cmdline", fields["cmdline"])


def _patch_list(devices, tag, wanted, parse, build, key):
    """Keep the current <tag> elements that equal a wanted item (their addresses stay), drop
    the others, add what is missing next to their kind."""
    kept = set()
    wanted_keys = {key(item): item for item in wanted}
    for element in devices.findall(tag):
        current_key = key(parse(element))
        if current_key in wanted_keys and current_key not in kept:
            kept.add(current_key)
        else:
            devices.remove(element)
    for item in wanted:
        if key(item) not in kept:
            _insert_after_last(devices, build(item), (tag,))
            kept.add(key(item))


_DISK_KEYS = ("device", "type", "path", "format", "bus", "target", "readonly", "backing")


def _disk_key(disk):
    return tuple(disk.get(k) for k in _DISK_KEYS)


def _nic_key(nic):
    return tuple(nic.get(k) for k in ("type", "source", "mac", "model"))


def _patch_console(devices, path):
    if _console_log(devices) == path and (path or devices.find("serial") is not None):
        return
    for tag in ("serial", "console"):
        for element in devices.findall(tag):
            devices.remove(element)
    for element in console_elements(path):
        _insert_after_last(devices, element, ("serial", "console", "interface", "controller", "disk"))


def _ensure_scsi_controller(devices):
    for controller in devices.findall("controller"):
        if controller.get("type") == "scsi":
            return
    element = ET.Element("controller", {"type": "scsi", "model": "virtio-scsi"})
    _insert_after_last(devices, element, ("controller", "disk"))


def patch_domain(text, fields):
    """``text`` (a domain XML) with the managed parts set to ``fields``; a string."""
    root = _parse(text)
    root.set("type", fields["type"])
    memory_kib = str(fields["memory_mb"] * 1024)
    for tag in ("memory", "currentMemory"):
        element = _ensure(root, tag, before=("vcpu", "os", "devices"))
        element.attrib.clear()
        element.set("unit", "KiB")
        element.text = memory_kib
    vcpu = _ensure(root, "vcpu", before=("os", "devices"))
    vcpu.text = str(fields["vcpus"])
    vcpu.attrib.pop("current", None)
    _patch_os(root, fields)
    devices = _ensure(root, "devices")
    _patch_list(devices, "disk", fields["disks"], _disk_fields, disk_element, _disk_key)
    if any(d["bus"] == "scsi" for d in fields["disks"]):
        _ensure_scsi_controller(devices)
    _patch_list(devices, "interface", fields["interfaces"], _nic_fields, nic_element, _nic_key)
    _patch_console(devices, fields["console_log"])
    metadata = _ensure(root, "metadata", before=("maxMemory", "memory"))
    for old in metadata.findall(_INSTANCE):
        metadata.remove(old)
    metadata.append(metadata_element(fields["metadata"]))
    return ET.tostring(root, encoding="unicode")


def _indent(element, level=0):
    pad = "\n" + "  " * level
    children = list(element)
    if children:
        if not (element.text or "").strip():
            element.text = pad + "  "
        for child in children:
            _indent(child, level + 1)
            if not (child.tail or "").strip():
                child.tail = pad + "  "
        if not (children[-1].tail or "").strip():
            children[-1].tail = pad
    if level and not (element.tail or "").strip():
        element.tail = pad


def pretty(text):
    """A domain XML re-serialized with one layout, so two of them diff line by line."""
    if not text:
        return ""
    root = _parse(text)
    for element in root.iter():
        if element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    _indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------
# Storage


def volume_xml(name, *, fmt, capacity=None, backing=None, backing_format=None, mode="0600"):
    """A storage volume definition: a qcow2 overlay (``backing``), or a plain volume."""
    root = ET.Element("volume")
    _sub(root, "name", text=name)
    if capacity is not None:
        _sub(root, "capacity", {"unit": "bytes"}, str(int(capacity)))
    _sub(root, "allocation", {"unit": "bytes"}, "0")
    target = _sub(root, "target")
    _sub(target, "format", {"type": fmt})
    permissions = _sub(target, "permissions")
    _sub(permissions, "mode", text=mode)
    if backing:
        store = _sub(root, "backingStore")
        _sub(store, "path", text=backing)
        if backing_format:
            _sub(store, "format", {"type": backing_format})
    return ET.tostring(root, encoding="unicode")


def parse_volume(text):
    """``{path, format, capacity, allocation, backing, backing_format}`` of a volume XML."""
    root = _parse(text, "volume")
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


def pool_xml(name, directory):
    """A dir storage pool definition."""
    root = ET.Element("pool", {"type": "dir"})
    _sub(root, "name", text=name)
    _sub(_sub(root, "target"), "path", text=directory)
    return ET.tostring(root, encoding="unicode")


def parse_pool(text):
    """``{name, type, path}`` of a storage pool XML."""
    root = _parse(text, "storage pool")
    target = root.find("target")
    return {
        "name": root.findtext("name"),
        "type": root.get("type"),
        "path": target.findtext("path") if target is not None else None,
    }


def parse_capabilities(text):
    """``{"arch": host arch, "kvm": bool}`` from the hypervisor's capabilities XML: kvm when a
    guest of the host's arch offers <domain type='kvm'>."""
    root = _parse(text, "capabilities")
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
