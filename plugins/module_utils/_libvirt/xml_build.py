# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt XML written from plain data: domain definitions, volumes, pools. Private to
ghost.infra; pure (no ansible, no libvirt import).

build_domain() writes a new definition; patch_domain() rewrites only the managed parts of an
existing definition and leaves everything else (addresses, controllers, graphics someone
added) as it is, so a diff between pretty(before) and the patched XML shows just the change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.spec import disk_key, nic_key
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import (
    INSTANCE,
    LIFETIME_ATTRS,
    NS,
    RESTART_FLAG,
    VOLUME_ATTRS,
    console_log_of,
    disk_fields,
    firmware_of,
    nic_fields,
    parse_xml,
)

MACHINES = {"x86_64": "q35", "i686": "q35", "aarch64": "virt", "riscv64": "virt"}
VOLUME_MODE = "0600"


def _sub(parent, tag, attrib=None, text=None):
    element = ET.SubElement(parent, tag, attrib or {})
    if text is not None:
        element.text = text
    return element


# ---------------------------------------------------------------------------------------
# Domains


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
    lifetime = metadata.get("lifetime") or {}
    for attr, key in LIFETIME_ATTRS:
        if lifetime.get(key):
            instance.set(attr, lifetime[key])
    if metadata.get("base"):
        ET.SubElement(instance, tag("base"), {"path": metadata["base"]})
    if metadata.get("reset"):
        ET.SubElement(instance, tag("reset"), {"token": metadata["reset"]["token"],
                                               "count": str(metadata["reset"]["count"])})
    for volume in metadata.get("volumes", []):
        ET.SubElement(instance, tag("volume"),
                      {attr: str(volume[key]) for attr, key in VOLUME_ATTRS if volume.get(key)})
    return instance


def metadata_xml(metadata, restart_required=False):
    """The metadata element as virDomainSetMetadata wants it: no namespace of its own (libvirt
    puts the element into the namespace it is given)."""
    return ET.tostring(metadata_element(metadata, restart_required, namespaced=False),
                       encoding="unicode")


def build_domain(fields, *, name, arch):
    """A new domain definition (string) for the wanted fields."""
    root = ET.Element("domain", {"type": fields["type"]})
    _sub(root, "name", text=name)
    _sub(_sub(root, "metadata"), INSTANCE)
    _sub(root, "memory", {"unit": "KiB"}, str(fields["memory_mb"] * 1024))
    _sub(root, "currentMemory", {"unit": "KiB"}, str(fields["memory_mb"] * 1024))
    _sub(root, "vcpu", {"placement": "static"}, str(fields["vcpus"]))
    os_element = _sub(root, "os")
    type_attrs = {"arch": arch}
    machine = MACHINES.get(arch)
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


def _insert_after_last(parent, element, tags):
    """Insert ``element`` after the last child whose tag is in ``tags`` (else after the
    <emulator>, else first)."""
    children = list(parent)
    for group in (tags, ("emulator",)):
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
        if firmware_of(os_element) != "uefi":
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


def _patch_list(devices, tag, *, wanted, parse, build, key):
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


def _patch_console(devices, path):
    if console_log_of(devices) == path and (path or devices.find("serial") is not None):
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
    root = parse_xml(text)
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
    _patch_list(devices, "disk", wanted=fields["disks"], parse=disk_fields, build=disk_element,
                key=disk_key)
    if any(d["bus"] == "scsi" for d in fields["disks"]):
        _ensure_scsi_controller(devices)
    _patch_list(devices, "interface", wanted=fields["interfaces"], parse=nic_fields,
                build=nic_element, key=nic_key)
    _patch_console(devices, fields["console_log"])
    metadata = _ensure(root, "metadata", before=("maxMemory", "memory"))
    for old in metadata.findall(INSTANCE):
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
    root = parse_xml(text)
    for element in root.iter():
        if element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    _indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------
# Volumes and pools


def volume_xml(name, *, fmt, capacity=None, backing=None, backing_format=None):
    """A storage volume definition: a qcow2 overlay (``backing``), or a plain volume."""
    root = ET.Element("volume")
    _sub(root, "name", text=name)
    if capacity is not None:
        _sub(root, "capacity", {"unit": "bytes"}, str(int(capacity)))
    _sub(root, "allocation", {"unit": "bytes"}, "0")
    target = _sub(root, "target")
    _sub(target, "format", {"type": fmt})
    permissions = _sub(target, "permissions")
    _sub(permissions, "mode", text=VOLUME_MODE)
    if backing:
        store = _sub(root, "backingStore")
        _sub(store, "path", text=backing)
        if backing_format:
            _sub(store, "format", {"type": backing_format})
    return ET.tostring(root, encoding="unicode")


def pool_xml(name, directory):
    """A dir storage pool definition."""
    root = ET.Element("pool", {"type": "dir"})
    _sub(root, "name", text=name)
    _sub(_sub(root, "target"), "path", text=directory)
    return ET.tostring(root, encoding="unicode")
