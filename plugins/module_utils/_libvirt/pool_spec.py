# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure rules of ghost.infra.libvirt_pool. Private to ghost.infra; no ansible or libvirt import.

A pool is handled as its managed fields (``type``, ``path``, ``volume_group``,
``source_devices``): requested_fields() checks the options, desired_fields() merges them into
the current fields and refuses a change of the pool's storage (libvirt cannot move a pool to
other storage; such a pool is removed and created again), parse_pool() and build_pool() read
and write the XML, and logical_plan() decides whether a logical pool's volume group is used as
it is or built from its devices.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re
import xml.etree.ElementTree as ET

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import parse_xml

TYPES = ("dir", "logical")
STATES = ("present", "absent")
# Compared with the pool's definition, in the order a difference is reported.
FIELDS = ("type", "path", "volume_group", "source_devices")
DEFAULT_TYPE = "dir"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# LVM's rule for volume group names.
_VG = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$")


def check_name(name):
    if not isinstance(name, str) or not _NAME.match(name):
        raise GhostError("%r is not a valid storage pool name: use 1 to 64 letters, digits, '.', "
                         "'_' or '-', starting with a letter or digit" % (name,), option="name")
    return name


def _normpath(path):
    """``path`` without doubled or trailing slashes (libvirt keeps them as they were given)."""
    if not path:
        return path
    return "/" + posixpath.normpath(path).lstrip("/") if path.startswith("/") else path


def _absolute(value, option):
    text = str(value)
    if not text.startswith("/") or any(c in text for c in "\n\r\t\0"):
        raise GhostError("%r is not an absolute path" % (value,), option=option)
    if ".." in text.split("/"):
        raise GhostError("%r goes up with '..': give the path itself" % (value,), option=option)
    return _normpath(text)


def requested_fields(params):
    """The managed fields the options set (an option left unset is not in the result)."""
    check_name(params.get("name"))
    wanted = {}
    if params.get("type") is not None:
        if params["type"] not in TYPES:
            raise GhostError("%r is not one of %s" % (params["type"], ", ".join(TYPES)), option="type")
        wanted["type"] = params["type"]
    if params.get("path") is not None:
        wanted["path"] = _absolute(params["path"], "path")
        if wanted["path"] == "/":
            raise GhostError("/ cannot be a storage pool's directory", option="path")
    if params.get("volume_group") is not None:
        vg = params["volume_group"]
        if not _VG.match(vg) or vg in (".", ".."):
            raise GhostError("%r is not an LVM volume group name (letters, digits, '+', '_', '.' "
                             "and '-', not starting with '-')" % (vg,), option="volume_group")
        wanted["volume_group"] = vg
    if params.get("source_devices") is not None:
        devices = []
        for index, device in enumerate(params["source_devices"]):
            path = _absolute(device, "source_devices[%d]" % index)
            if path in devices:
                raise GhostError("%s is listed twice" % path, option="source_devices[%d]" % index)
            devices.append(path)
        wanted["source_devices"] = sorted(devices)
    return wanted


def desired_fields(current, requested, *, name):
    """The fields the pool should have: ``requested`` over ``current`` (or the defaults of a
    new pool of that ``name``), checked as a whole. An existing pool's storage cannot change."""
    if current is not None:
        for key in FIELDS:
            if key in requested and _norm(key, requested[key]) != _norm(key, current.get(key)):
                raise GhostError(
                    "the pool has %s %s; a pool's storage cannot change in place (remove the pool "
                    "with state=absent and create it again)" % (key, _show(current.get(key))),
                    option=key)
        return {key: current.get(key) for key in FIELDS}
    kind = requested.get("type", DEFAULT_TYPE)
    if kind == "dir":
        for option in ("volume_group", "source_devices"):
            if option in requested:
                raise GhostError("only for type=logical", option=option)
        if "path" not in requested:
            raise GhostError("required to create a dir pool: the directory that holds its volumes",
                             option="path")
        return {"type": "dir", "path": requested["path"], "volume_group": None, "source_devices": []}
    vg = requested.get("volume_group", name)
    if not _VG.match(vg):
        raise GhostError("the pool's name %r is not an LVM volume group name; set volume_group"
                         % name, option="volume_group")
    path = "/dev/%s" % vg
    if requested.get("path", path) != path:
        raise GhostError("a logical pool's path is /dev/<volume_group>, here %s" % path, option="path")
    return {"type": "logical", "path": path, "volume_group": vg,
            "source_devices": requested.get("source_devices", [])}


def _norm(key, value):
    return sorted(value or []) if key == "source_devices" else value


def _show(value):
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    return value if value is not None else "none"


def logical_plan(fields, sources):
    """``use`` or ``build`` for a new logical pool, given ``sources`` ({volume group: [devices]}
    from libvirt's source discovery): an existing volume group is used as it is; a missing one
    is built from ``source_devices`` (libvirt refuses devices that hold data)."""
    vg, devices = fields["volume_group"], fields["source_devices"]
    if vg in sources:
        found = sorted(sources[vg])
        if devices and devices != found:
            on = ", ".join(found) or "no device"
            raise GhostError("volume group %s exists on %s, not on %s; leave source_devices out to "
                             "use it as it is" % (vg, on, ", ".join(devices)), option="source_devices")
        return "use"
    if not devices:
        raise GhostError("volume group %s does not exist on the host; give source_devices to "
                         "create it" % vg, option="volume_group")
    return "build"


# ---------------------------------------------------------------------------------------
# XML


def parse_pool(text):
    """The managed fields of a pool XML, with its ``name`` and ``uuid``."""
    root = parse_xml(text, "storage pool")
    source = root.find("source")
    devices = sorted(d.get("path") for d in source.findall("device")) if source is not None else []
    vg = source.findtext("name") if source is not None else None
    kind = root.get("type")
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "type": kind,
        "path": _normpath(root.findtext("target/path")),
        # libvirt takes the pool's name when a logical pool names no volume group.
        "volume_group": (vg or root.findtext("name")) if kind == "logical" else None,
        "source_devices": devices,
    }


def build_pool(fields, *, name):
    root = ET.Element("pool", {"type": fields["type"]})
    ET.SubElement(root, "name").text = name
    if fields["type"] == "logical":
        source = ET.SubElement(root, "source")
        for device in fields["source_devices"]:
            ET.SubElement(source, "device", {"path": device})
        ET.SubElement(source, "name").text = fields["volume_group"]
        ET.SubElement(source, "format", {"type": "lvm2"})
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "path").text = fields["path"]
    return ET.tostring(root, encoding="unicode")


def parse_logical_sources(text):
    """{volume group: [devices]} from virConnectFindStoragePoolSources("logical")."""
    if not text:
        return {}
    found = {}
    for source in parse_xml(text, "storage pool sources").findall("source"):
        vg = source.findtext("name")
        if vg:
            found.setdefault(vg, []).extend(d.get("path") for d in source.findall("device"))
    return found


# ---------------------------------------------------------------------------------------
# The returned view


def pool_view(fields, *, name, uuid, active, autostart, sizes=None, volumes=None):
    """The returned ``pool``. ``fields`` None: no pool (absent). ``sizes``: capacity,
    allocation and available bytes of an active pool."""
    fields = fields or {}
    sizes = sizes or {}
    return {
        "name": name,
        "uuid": uuid,
        "state": "present" if fields else "absent",
        "type": fields.get("type"),
        "path": fields.get("path"),
        "volume_group": fields.get("volume_group"),
        "source_devices": list(fields.get("source_devices") or []),
        "active": bool(active),
        "autostart": bool(autostart),
        "capacity": sizes.get("capacity"),
        "allocation": sizes.get("allocation"),
        "available": sizes.get("available"),
        "volumes": None if volumes is None else len(volumes),
    }
