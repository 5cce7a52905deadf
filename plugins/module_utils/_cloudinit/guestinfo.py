# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cloud-init documents as VMware guestinfo keys, and back. Private to ghost.infra; pure.

cloud-init's VMware datasource reads ``guestinfo.metadata``, ``guestinfo.userdata`` and
``guestinfo.vendordata``, each with ``<key>.encoding``. The network config travels inside the
metadata document as ``network`` + ``network.encoding``. Encoding is gzip+base64 with a fixed
gzip header (no timestamp, no file name, OS "unknown"), so the values are byte-for-byte
deterministic and a VM's extraConfig only changes when the content does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import struct
import zlib

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import (
    dump_yaml,
    load_yaml,
)

ENCODING = "gzip+base64"
METADATA = "guestinfo.metadata"
USERDATA = "guestinfo.userdata"
VENDORDATA = "guestinfo.vendordata"
# Every key this module writes (with its ``.encoding`` twin): a backend that owns guestinfo
# clears the ones a new render does not set (e.g. vendordata that was removed).
GUESTINFO_KEYS = tuple(key + suffix for key in (METADATA, USERDATA, VENDORDATA)
                       for suffix in ("", ".encoding"))

# magic, deflate, no flags, mtime 0, XFL 2 (best compression), OS 255 (unknown).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def gzip_deterministic(data):
    """gzip ``data`` (bytes) with a fixed header; the same input gives the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + body + trailer


def encode_value(text):
    """``text`` as a gzip+base64 guestinfo value."""
    return base64.b64encode(gzip_deterministic(text.encode("utf-8"))).decode("ascii")


def decode_value(value, encoding, *, key):
    """A guestinfo value as text, for the encodings cloud-init accepts (none = plain)."""
    enc = (encoding or "").strip().lower()
    try:
        if enc in ("gzip+base64", "gz+b64"):
            return zlib.decompress(base64.b64decode(value, validate=True),
                                   16 + zlib.MAX_WBITS).decode("utf-8")
        if enc in ("base64", "b64"):
            return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise GhostError("cannot decode %s value: %s" % (enc, exc), option=key)
    if enc:
        raise GhostError("unknown encoding %r (expected gzip+base64 or base64)" % encoding,
                         option=key + ".encoding")
    return value


def encode_guestinfo(documents):
    """The guestinfo keys for CloudInitDocuments as {key: str}.

    ``guestinfo.vendordata`` (and its encoding) only appear when there is vendor data.
    """
    metadata = dict(documents.meta_data_dict)
    if documents.network_config is not None:
        metadata["network"] = encode_value(documents.network_config)
        metadata["network.encoding"] = ENCODING
    out = {
        METADATA: encode_value(dump_yaml(metadata)),
        METADATA + ".encoding": ENCODING,
        USERDATA: encode_value(documents.user_data),
        USERDATA + ".encoding": ENCODING,
    }
    if documents.vendor_data is not None:
        out[VENDORDATA] = encode_value(documents.vendor_data)
        out[VENDORDATA + ".encoding"] = ENCODING
    return out


def decode_guestinfo(values):
    """Read guestinfo keys back (e.g. a VM's extraConfig) as plain documents.

    Returns {"meta_data": dict, "network_config": dict or None, "user_data": str or None,
    "vendor_data": str or None}; keys that are absent or empty read as None (meta_data {}).
    Raises GhostError naming the key that cannot be decoded.
    """
    def text(key):
        value = values.get(key)
        if value in (None, "", "---"):
            return None
        return decode_value(value, values.get(key + ".encoding"), key=key)

    meta_text = text(METADATA)
    meta = load_yaml(meta_text, option=METADATA) if meta_text else {}
    if not isinstance(meta, dict):
        raise GhostError("is not a YAML or JSON mapping", option=METADATA)
    network = None
    if "network" in meta:
        raw = meta.pop("network")
        encoding = meta.pop("network.encoding", None)
        if isinstance(raw, dict):
            network = raw
        else:
            key = METADATA + ".network"
            network = load_yaml(decode_value(raw, encoding, key=key), option=key)
    meta.pop("network.encoding", None)
    return {
        "meta_data": meta,
        "network_config": network,
        "user_data": text(USERDATA),
        "vendor_data": text(VENDORDATA),
    }
