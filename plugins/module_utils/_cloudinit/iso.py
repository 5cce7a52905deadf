# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NoCloud seed ISO (ISO9660 + Joliet + Rock Ridge, label ``cidata``). Private to ghost.infra.

Built in Python with pycdlib (no genisoimage/cloud-localds). pycdlib stamps the current local
time into every volume descriptor, directory record and Rock Ridge TF entry; fix_timestamps()
then rewrites each of those fields to one fixed UTC date by walking the ECMA-119/SUSP
structures, so the same documents give the same bytes on any host, at any time, in any TZ.
ISO9660 has no UUID-like field (that would be UDF, which is not used).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import struct

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import NOCLOUD_FILES

PYCDLIB = optional_import("pycdlib", "pycdlib")

VOLUME_LABEL = "cidata"
SECTOR = 2048
FIRST_DESCRIPTOR = 16
# 2000-01-01T00:00:00Z in both ECMA-119 date formats (9.1.5: 7 bytes; 8.4.26.1: 17 bytes).
DIR_DATE = struct.pack("=BBBBBBb", 100, 1, 1, 0, 0, 0, 0)
VD_DATE = b"2000010100000000\x00"
VD_DATE_UNSET = b"0000000000000000\x00"
# Offsets in a primary/supplementary volume descriptor (ECMA-119 8.4).
_VD_ROOT_RECORD = 156
_VD_DATES = ((813, VD_DATE), (830, VD_DATE), (847, VD_DATE_UNSET), (864, VD_DATE))


def _iso_name(name):
    """The ISO9660 level-3 name for a NoCloud file: d-characters only, e.g. USER_DATA.;1."""
    return "/%s.;1" % name.upper().replace("-", "_")


def build_nocloud_iso(files):
    """A NoCloud ISO holding ``files`` ({NoCloud file name: bytes}) as bytes.

    Names must be among NOCLOUD_FILES; ``meta-data`` and ``user-data`` are required, as
    cloud-init's NoCloud reader needs both. Raises GhostError (or MissingLibraryError).
    """
    unknown = sorted(set(files) - set(NOCLOUD_FILES))
    if unknown:
        raise GhostError("not NoCloud files: %s" % ", ".join(unknown))
    missing = [name for name in ("meta-data", "user-data") if name not in files]
    if missing:
        raise GhostError("a NoCloud seed needs %s" % " and ".join(missing))
    pycdlib = PYCDLIB.require()
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=VOLUME_LABEL, joliet=3, rock_ridge="1.09")
    try:
        for name in NOCLOUD_FILES:
            if name in files:
                data = files[name]
                iso.add_fp(io.BytesIO(data), len(data), _iso_name(name), rr_name=name,
                           joliet_path="/" + name)
        out = io.BytesIO()
        iso.write_fp(out)
    finally:
        iso.close()
    image = bytearray(out.getvalue())
    fix_timestamps(image)
    return bytes(image)


def _u32(buf, offset):
    return struct.unpack_from("<I", buf, offset)[0]


def _fix_system_use(buf, start, end, seen):
    """Rewrite Rock Ridge TF timestamps in a SUSP area, following CE continuations."""
    offset = start
    while offset + 4 <= end:
        signature, length = bytes(buf[offset:offset + 2]), buf[offset + 2]
        if length < 4 or signature == b"ST":
            break
        if signature == b"TF":
            flags = buf[offset + 4]
            size = 17 if flags & 0x80 else 7
            stamp = VD_DATE if size == 17 else DIR_DATE
            for index in range(bin(flags & 0x7F).count("1")):
                at = offset + 5 + index * size
                buf[at:at + size] = stamp
        elif signature == b"CE":
            block, where, ce_len = _u32(buf, offset + 4), _u32(buf, offset + 12), _u32(buf, offset + 20)
            ce_start = block * SECTOR + where
            if (ce_start, ce_len) not in seen:
                seen.add((ce_start, ce_len))
                _fix_system_use(buf, ce_start, ce_start + ce_len, seen)
        offset += length


def _fix_directory(buf, extent, size, seen):
    """Rewrite the dates of every record in a directory extent, recursing into subdirectories."""
    if extent in seen:
        return
    seen.add(extent)
    offset, end = extent * SECTOR, extent * SECTOR + size
    while offset < end:
        length = buf[offset]
        if length == 0:  # records never cross a sector: skip the padding to the next one
            offset = (offset // SECTOR + 1) * SECTOR
            continue
        buf[offset + 18:offset + 25] = DIR_DATE
        name_len = buf[offset + 32]
        name = bytes(buf[offset + 33:offset + 33 + name_len])
        su_start = offset + 33 + name_len + (0 if name_len % 2 else 1)
        _fix_system_use(buf, su_start, offset + length, seen)
        if buf[offset + 25] & 0x02 and name not in (b"\x00", b"\x01"):
            _fix_directory(buf, _u32(buf, offset + 2), _u32(buf, offset + 10), seen)
        offset += length


def fix_timestamps(buf):
    """Set every date in an ISO9660 image (a bytearray, changed in place) to 2000-01-01 UTC:
    volume descriptor dates, directory record dates (ISO9660 and Joliet trees) and Rock Ridge
    TF entries. Expiration dates become "not specified"."""
    seen = set()
    sector = FIRST_DESCRIPTOR
    while (sector + 1) * SECTOR <= len(buf):
        base = sector * SECTOR
        kind, ident = buf[base], bytes(buf[base + 1:base + 6])
        if ident != b"CD001" or kind == 255:
            break
        if kind in (1, 2):
            for offset, stamp in _VD_DATES:
                buf[base + offset:base + offset + 17] = stamp
            root = base + _VD_ROOT_RECORD
            buf[root + 18:root + 25] = DIR_DATE
            _fix_directory(buf, _u32(buf, root + 2), _u32(buf, root + 10), seen)
        sector += 1


def volume_label(data):
    """The volume identifier of an ISO9660 image (bytes), or None if it is not one."""
    base = FIRST_DESCRIPTOR * SECTOR
    if len(data) < base + SECTOR or data[base + 1:base + 6] != b"CD001":
        return None
    return data[base + 40:base + 72].decode("ascii", "replace").rstrip()


def read_nocloud_iso(data):
    """The NoCloud files in an ISO image as {name: text}; GhostError if it is not a seed."""
    label = volume_label(data)
    if label is None:
        raise GhostError("not an ISO9660 image")
    if label.lower() != VOLUME_LABEL:
        raise GhostError("volume label is %r, not %r" % (label, VOLUME_LABEL))
    pycdlib = PYCDLIB.require()
    iso = pycdlib.PyCdlib()
    files = {}
    try:
        iso.open_fp(io.BytesIO(data))
        for name in NOCLOUD_FILES:
            out = io.BytesIO()
            try:
                iso.get_file_from_iso_fp(out, rr_path="/" + name)
            except pycdlib.pycdlibexception.PyCdlibException:
                continue
            files[name] = out.getvalue().decode("utf-8", "replace")
    except pycdlib.pycdlibexception.PyCdlibException as exc:
        raise GhostError("cannot read the ISO: %s" % exc)
    finally:
        try:
            iso.close()
        except pycdlib.pycdlibexception.PyCdlibException:
            pass
    return files
