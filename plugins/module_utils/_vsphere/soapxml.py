# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read PropertyCollector answers (SOAP XML) into plain Python data. Private to ghost.infra; pure.

pyVmomi deserializes a response with a Python callback per XML element: for 2,000 VMs with
their device lists that is 400,000 elements and most of the run time. The answers the
collection reads are always RetrievePropertiesEx / ContinueRetrievePropertiesEx results, so
this reads them with the C-accelerated ElementTree into a plain form:

* a data object becomes a dict with ``_type`` (its xsi:type, e.g. ``VirtualDisk``) and one key
  per child element (a repeated element becomes a list; use as_list() where a field is an
  array, as one element looks like a scalar);
* an ``ArrayOf...`` value becomes a list;
* a managed object reference becomes MoRef(type, value);
* every other leaf stays its text (``"true"``, ``"2048"``): as_bool() and as_int() convert.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import xml.etree.ElementTree as ET

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

MoRef = collections.namedtuple("MoRef", ["type", "value"])


class SoapFault(Exception):
    """A SOAP fault answer: ``name`` (e.g. InvalidProperty) and the fault string."""

    def __init__(self, name, message):
        super(SoapFault, self).__init__("%s: %s" % (name, message) if message else name)
        self.name = name
        self.message = message


# Tag and xsi:type strings repeat for every object of a page: split each once.
_LOCAL_NAMES = {}
_TYPE_NAMES = {}


def _local(tag):
    try:
        return _LOCAL_NAMES[tag]
    except KeyError:
        name = _LOCAL_NAMES[tag] = tag.rsplit("}", 1)[-1]
        return name


def _xsi_type(element):
    kind = element.get(XSI_TYPE)
    if not kind:
        return None
    try:
        return _TYPE_NAMES[kind]
    except KeyError:
        name = _TYPE_NAMES[kind] = kind.rsplit(":", 1)[-1]
        return name


def to_plain(element):
    """One XML value element in the plain form described above."""
    kind = _xsi_type(element)
    if not len(element):
        if kind == "ManagedObjectReference" or element.get("type") is not None:
            return MoRef(element.get("type"), (element.text or "").strip())
        if kind and kind.startswith("ArrayOf"):
            return []
        return element.text or ""
    if kind and kind.startswith("ArrayOf"):
        return [to_plain(child) for child in element]
    out = {"_type": kind}
    repeated = set()
    for child in element:
        name = _local(child.tag)
        value = to_plain(child)
        if name not in out:
            out[name] = value
        elif name in repeated:
            out[name].append(value)
        else:
            out[name] = [out[name], value]
            repeated.add(name)
    return out


def as_list(value):
    """An array field as a list (a single element reads as a scalar)."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def as_bool(value):
    if isinstance(value, bool) or value is None:
        return bool(value)
    return str(value).strip().lower() in ("true", "1")


def as_int(value, default=None):
    if value is None or value == "":
        return default
    return int(value)


def _body(root):
    for child in root:
        if _local(child.tag) == "Body":
            return child
    raise SoapFault("InvalidResponse", "no SOAP Body in the answer")


def parse_fault(data):
    """The SoapFault in a SOAP fault answer (HTTP 500)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return SoapFault("InvalidResponse", "unreadable fault answer (%s)" % exc)
    for element in root.iter():
        if _local(element.tag) == "Fault":
            message = ""
            name = "SoapFault"
            for child in element:
                if _local(child.tag) == "faultstring":
                    message = (child.text or "").strip()
                elif _local(child.tag) == "detail":
                    for fault in child:
                        name = _xsi_type(fault) or _local(fault.tag)
                        if name.endswith("Fault") and not _xsi_type(fault):
                            name = name[:-len("Fault")]
                        break
            return SoapFault(name, message)
    return SoapFault("InvalidResponse", "no fault in the answer")


def parse_retrieve_result(data):
    """A RetrievePropertiesEx / ContinueRetrievePropertiesEx answer as (token, objects) where
    objects is [(MoRef, {property path: plain value})]; token is None on the last page."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapFault("InvalidResponse", "unreadable answer (%s)" % exc)
    body = _body(root)
    response = next(iter(body), None)
    if response is None:
        return None, []
    if _local(response.tag) == "Fault":
        raise parse_fault(data)
    returnval = next((c for c in response if _local(c.tag) == "returnval"), None)
    if returnval is None:  # nothing matched
        return None, []
    token, objects = None, []
    for child in returnval:
        name = _local(child.tag)
        if name == "token":
            token = (child.text or "").strip() or None
        elif name == "objects":
            ref, props = None, {}
            for part in child:
                part_name = _local(part.tag)
                if part_name == "obj":
                    ref = MoRef(part.get("type"), (part.text or "").strip())
                elif part_name == "propSet":
                    path, value = None, None
                    for item in part:
                        if _local(item.tag) == "name":
                            path = (item.text or "").strip()
                        elif _local(item.tag) == "val":
                            value = to_plain(item)
                    if path is not None:
                        props[path] = value
            objects.append((ref, props))
    return token, objects
