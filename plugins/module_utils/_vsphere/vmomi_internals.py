# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything that leans on pyVmomi internals rather than its public API. Private to ghost.infra.

Kept in this one file so a pyVmomi upgrade has one place to check (tested with pyVmomi 8):

* post() sends a PropertyCollector method through the logged-in SOAP stub (its serializer,
  session cookie and connection pool) and returns the raw answer, which soapxml.py reads
  far faster than pyVmomi's per-element deserializer; raw_reads_supported() says whether
  the stub has what post() needs, otherwise the client reads through pyVmomi as usual;
* is_a() asks pyVmomi's type registry for vSphere's type hierarchy;
* from_pyvmomi() turns pyVmomi objects into soapxml's plain form (the slow path's answers).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import http.client
import zlib

from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

PYVMOMI_SUPPORT = optional_import("pyVmomi.VmomiSupport", "pyvmomi")

# What post() uses of the stub (pyVmomi's SoapStubAdapter).
_STUB_ATTRIBUTES = ("SerializeRequest", "GetConnection", "ReturnConnection", "DropConnections", "cookie",
                    "versionId", "path")

_SUBTYPES = {}


def raw_reads_supported(stub):
    return all(hasattr(stub, name) for name in _STUB_ATTRIBUTES)


def post(stub, collector, method, args):
    """POST PropertyCollector ``method`` with ``args`` to ``collector`` (pyVmomi's object)
    through ``stub``; return (HTTP status, body), the body unparsed and decompressed.
    Connection errors (OSError, http.client.HTTPException) propagate after the stub's
    pool is dropped."""
    info = collector._GetMethodInfo(method)  # a classmethod of every managed object type
    body = stub.SerializeRequest(collector, info, args)
    headers = {"SOAPAction": stub.versionId, "Content-Type": "text/xml; charset=UTF-8",
               "Accept-Encoding": "gzip, deflate"}
    if stub.cookie:
        headers["Cookie"] = stub.cookie
    conn = stub.GetConnection()
    try:
        conn.request("POST", stub.path, body, headers)
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        stub.DropConnections()
        raise
    stub.ReturnConnection(conn)
    encoding = (response.getheader("Content-Encoding") or "identity").lower()
    if encoding == "gzip":
        data = gzip.decompress(data)
    elif encoding == "deflate":
        data = zlib.decompress(data)
    return response.status, data


def is_a(wsdl_name, base):
    """Whether vSphere type ``wsdl_name`` (``VirtualVmxnet3``) is ``base`` (``VirtualEthernetCard``)
    or derives from it, after pyVmomi's type registry; unknown types are not."""
    key = (wsdl_name, base)
    if key not in _SUBTYPES:
        support = PYVMOMI_SUPPORT.require()
        try:
            _SUBTYPES[key] = issubclass(support.GetWsdlType("urn:vim25", wsdl_name),
                                        support.GetWsdlType("urn:vim25", base))
        except (KeyError, TypeError, AttributeError):
            _SUBTYPES[key] = False
    return _SUBTYPES[key]


def from_pyvmomi(value):
    """A pyVmomi value in soapxml's plain form (the fallback when the raw read is unavailable)."""
    support = PYVMOMI_SUPPORT.require()
    if isinstance(value, support.ManagedObject):
        return MoRef(value._wsdlName, value._moId)
    if isinstance(value, support.DataObject):
        out = {"_type": value._wsdlName}
        for prop in value._GetPropertyList():
            item = getattr(value, prop.name, None)
            if item is not None and prop.name not in ("dynamicType", "dynamicProperty"):
                out[prop.name] = from_pyvmomi(item)
        return out
    if isinstance(value, (list, tuple)):
        return [from_pyvmomi(item) for item in value]
    return value
