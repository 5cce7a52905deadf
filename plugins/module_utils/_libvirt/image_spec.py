# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure rules of libvirt_image. Private to ghost.infra; no ansible or libvirt import.

Checksum options, SHA256SUMS files, image formats from header bytes, volume names, and what a
pool's volume names say about an image (the cache decision). Plain data in and out; bad input
raises GhostError naming the option.

How the cache is recorded: libvirt volumes carry no metadata, so next to each image volume
``<name>`` the module writes a small record volume ``<name>.<algorithm>-<digest>`` (its content
is the ``sha256sum``-style line). The record is written last, so it also says the upload
finished; and because its *name* holds the whole digest, one listing of the pool's volume names
answers "is this image here, complete, under which name" without reading any volume.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re
import struct
from urllib.parse import unquote, urlsplit

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

# Digest length in hex per supported algorithm (Debian publishes only SHA512SUMS).
ALGORITHMS = {"sha256": 64, "sha512": 128}
FORMATS = ("auto", "qcow2", "raw")
STATES = ("present", "absent")
NAME_DIGEST_CHARS = 16
HEADER_BYTES = 512
MAX_NAME = 255  # a volume of a directory pool is a file

# The image module's own options (the libvirt connection options come from argspec.py).
OPTIONS = {
    "src": {"type": "str"},
    "checksum": {"type": "str"},
    "pool": {"type": "str", "default": "default"},
    "name": {"type": "str"},
    "format": {"type": "str", "default": "auto", "choices": list(FORMATS)},
    "timeout": {"type": "int", "default": 30},
    "validate_certs": {"type": "bool", "default": True},
    "download_dir": {"type": "path"},
    "state": {"type": "str", "default": "present", "choices": list(STATES)},
}

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_RECORD = re.compile(r"^(?P<name>.+)\.(?P<algorithm>sha256|sha512)-(?P<digest>[0-9a-f]+)$")
_BSD_LINE = re.compile(r"^(?P<algorithm>SHA256|SHA512) ?\((?P<name>.+)\) ?= ?(?P<digest>[0-9a-fA-F]+)$")
_GNU_LINE = re.compile(r"^\\?(?P<digest>[0-9a-fA-F]+) [ *](?P<name>.+)$")

# Formats recognised by magic bytes that libvirt would not see as the raw disk they hold.
_OTHER_FORMATS = (
    (0, b"\xfd7zXZ\x00", "an xz-compressed file"),
    (0, b"\x1f\x8b", "a gzip-compressed file"),
    (0, b"BZh", "a bzip2-compressed file"),
    (0, b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (0, b"QFI\x00", "a QED image"),
    (0, b"KDMV", "a VMDK image"),
    (0, b"# Disk DescriptorFile", "a VMDK descriptor"),
    (0, b"vhdxfile", "a VHDX image"),
    (0, b"conectix", "a VHD image"),
    (0x40, b"\x7f\x10\xda\xbe", "a VDI image"),
)
_QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_INCOMPATIBLE = ((0, "is marked dirty (not cleanly closed)"), (1, "is marked corrupt"),
                       (2, "keeps its data in an external file"))


def is_url(src):
    return bool(src) and src.lower().startswith(("http://", "https://"))


def source_filename(src):
    """The file name of ``src`` (URL or path): the key looked up in a SHA256SUMS file."""
    name = posixpath.basename(unquote(urlsplit(src).path)) if is_url(src) else posixpath.basename(src or "")
    if not name:
        raise GhostError("has no file name to look up in a checksum file", option="src")
    return name


def check_source(src):
    """GhostError unless ``src`` is an http(s) URL or a path (no other URL scheme)."""
    if not src:
        raise GhostError("is required with state=present", option="src")
    if not is_url(src) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", src):
        raise GhostError("only http://, https:// or a file on the controller is supported, not %r"
                         % src.split("://", 1)[0], option="src")


def parse_checksum(value):
    """``{"algorithm", "digest"}`` or ``{"algorithm" (None when left to the file), "url"}``.

    Forms: ``sha256:<hex>``, ``sha512:<hex>``, ``<algorithm>:<URL>`` and a bare URL of a
    SHA256SUMS-style file (as ansible.builtin.get_url takes them). None for no checksum.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if is_url(value):
        return {"algorithm": None, "url": value}
    algorithm, sep, rest = value.partition(":")
    algorithm = algorithm.lower()
    if not sep or algorithm not in ALGORITHMS:
        raise GhostError("expected sha256:<hex>, sha512:<hex> or the URL of a SHA256SUMS file, got %r"
                         % value, option="checksum")
    if is_url(rest):
        return {"algorithm": algorithm, "url": rest}
    return {"algorithm": algorithm, "digest": check_digest(algorithm, rest, option="checksum")}


def check_digest(algorithm, digest, *, option="checksum"):
    """The digest in lower case; GhostError when it is not hex of the algorithm's length."""
    digest = (digest or "").strip()
    if not _HEX.match(digest) or len(digest) != ALGORITHMS[algorithm]:
        raise GhostError("a %s digest is %d hex digits, got %r" % (algorithm, ALGORITHMS[algorithm], digest),
                         option=option)
    return digest.lower()


def checksum_text(algorithm, digest):
    return "%s:%s" % (algorithm, digest)


def parse_sums(text, filename, *, algorithm=None, source="the checksum file"):
    """``{"algorithm", "digest"}`` of ``filename`` in a SHA256SUMS/SHA512SUMS text.

    Reads GNU lines (``<hex>  <name>``, ``<hex> *<name>``) and BSD lines (``SHA256 (<name>) =
    <hex>``), ignores anything else (comments, a PGP signature's armor). An entry matches by
    its base name. The algorithm comes from the BSD tag or the digest length, and must be
    ``algorithm`` when that is given. Entries that disagree are refused.
    """
    found = set()
    for raw in text.splitlines():
        line = raw.strip()
        match = _BSD_LINE.match(line) or _GNU_LINE.match(line)
        if not match:
            continue
        name = match.group("name").strip()
        if name.startswith("*"):
            name = name[1:]
        if posixpath.basename(name) != filename:
            continue
        digest = match.group("digest").lower()
        tagged = match.groupdict().get("algorithm")
        entry_algorithm = tagged.lower() if tagged else _algorithm_of(digest)
        if entry_algorithm is None or len(digest) != ALGORITHMS[entry_algorithm]:
            continue
        if algorithm and entry_algorithm != algorithm:
            continue
        found.add((entry_algorithm, digest))
    if not found:
        raise GhostError("no %sentry for '%s' in %s" % ((algorithm + " ") if algorithm else "", filename, source),
                         option="checksum")
    if len(found) > 1:
        raise GhostError("%s lists '%s' %d times with different digests" % (source, filename, len(found)),
                         option="checksum")
    algorithm, digest = found.pop()
    return {"algorithm": algorithm, "digest": digest}


def _algorithm_of(digest):
    for algorithm, length in ALGORITHMS.items():
        if len(digest) == length:
            return algorithm
    return None


def detect_format(header):
    """``{"format": "qcow2"|"raw", "virtual_size": int or None}`` from an image's first bytes.

    qcow2 images that libvirt could not use as a standalone base image are refused: a backing
    file (a path on the hypervisor the image would read), encryption, an external data file,
    dirty or corrupt flags. So are compressed files and other disk formats, which a raw volume
    would hand the guest as they are.
    """
    if header[:4] == _QCOW2_MAGIC:
        return _qcow2(header)
    for offset, magic, what in _OTHER_FORMATS:
        if header[offset:offset + len(magic)] == magic:
            raise GhostError("the image is %s; only qcow2 and raw images can be imported (convert or "
                             "decompress it first)" % what, option="src")
    return {"format": "raw", "virtual_size": None}


def _qcow2(header):
    if len(header) < 72:
        raise GhostError("the qcow2 header is truncated (%d bytes)" % len(header), option="src")
    version, backing_offset, _backing_size, _cluster_bits, size, crypt = struct.unpack(">IQIIQI", header[4:36])
    if version not in (2, 3):
        raise GhostError("unsupported qcow2 version %d" % version, option="src")
    if backing_offset:
        raise GhostError("the qcow2 image has a backing file; import a standalone image (qemu-img "
                         "convert flattens it)", option="src")
    if crypt:
        raise GhostError("the qcow2 image is encrypted", option="src")
    if version == 3 and len(header) >= 80:
        (incompatible,) = struct.unpack(">Q", header[72:80])
        for bit, what in _QCOW2_INCOMPATIBLE:
            if incompatible & (1 << bit):
                raise GhostError("the qcow2 image %s" % what, option="src")
    return {"format": "qcow2", "virtual_size": size}


def choose_format(option, detected):
    """The volume format: the detected one; ``option`` other than auto must agree with it."""
    if option in (None, "auto") or option == detected:
        return detected
    raise GhostError("is %s but the image is %s (by its header, which is also how libvirt sees the volume)"
                     % (option, detected), option="format")


def default_name(algorithm, digest, fmt):
    """``sha256-<first 16 hex>.qcow2``: the same image always gets the same volume."""
    return "%s-%s.%s" % (algorithm, digest[:NAME_DIGEST_CHARS], fmt)


def default_names(algorithm, digest):
    return [default_name(algorithm, digest, fmt) for fmt in FORMATS if fmt != "auto"]


def record_name(name, algorithm, digest):
    """The record volume saying ``name`` holds the image with this digest (see the docstring)."""
    return "%s.%s-%s" % (name, algorithm, digest)


def parse_record(volume_name):
    """``(name, algorithm, digest)`` of a record volume name, else None."""
    match = _RECORD.match(volume_name)
    if not match or len(match.group("digest")) != ALGORITHMS[match.group("algorithm")]:
        return None
    return match.group("name"), match.group("algorithm"), match.group("digest")


def record_content(name, digest):
    """The record's bytes: a line ``sha256sum -c`` (or ``sha512sum -c``) checks in the pool's folder."""
    return ("%s  %s\n" % (digest, name)).encode("utf-8")


def check_name(name, algorithm=None):
    """GhostError when ``name`` cannot name a volume and its record."""
    if name is None:
        return
    if not name or "/" in name or name in (".", "..") or name.startswith(".") or "\x00" in name:
        raise GhostError("%r is not a volume name (no '/', not starting with '.')" % name, option="name")
    longest = len(record_name(name, algorithm or "sha512", "0" * ALGORITHMS[algorithm or "sha512"]))
    if longest > MAX_NAME:
        raise GhostError("is too long: with its checksum record it needs %d characters of %d"
                         % (longest, MAX_NAME), option="name")
    if parse_record(name):
        raise GhostError("%r looks like a checksum record of the module" % name, option="name")


def records_of(names, name):
    """The record volumes of image volume ``name`` among ``names``."""
    return sorted(n for n in names if (parse_record(n) or (None,))[0] == name)


def find_image(names, *, name, algorithm, digest):
    """What the pool's volume ``names`` say about the image (the cache decision).

    Returns ``{"state", "name", "records", "recorded"}``:
    - ``cached``: volume ``name`` (or, without ``name``, any volume) is recorded as holding
      this digest; without ``name`` the default name wins over other names;
    - ``unverified``: the volume exists without any record (imported by hand, or an upload
      that was cut off before its record was written): hash it to know;
    - ``conflict``: volume ``name`` is recorded with another digest (``recorded`` lists them);
    - ``missing``: nothing to reuse (``name`` is the volume to create, None when it depends on
      the format, ``records`` are stale records of it to remove).
    """
    present = set(names)
    if name is not None:
        records = records_of(names, name)
        if name not in present:
            return {"state": "missing", "name": name, "records": records, "recorded": []}
        if record_name(name, algorithm, digest) in present:
            return {"state": "cached", "name": name, "records": records, "recorded": []}
        if records:
            return {"state": "conflict", "name": name, "records": records,
                    "recorded": [checksum_text(*parse_record(r)[1:]) for r in records]}
        return {"state": "unverified", "name": name, "records": [], "recorded": []}
    holders = _holders(names, algorithm, digest)
    defaults = default_names(algorithm, digest)
    for candidate in [n for n in defaults if n in holders] + holders:
        return {"state": "cached", "name": candidate, "records": records_of(names, candidate), "recorded": []}
    for candidate in defaults:
        if candidate in present:
            return {"state": "unverified", "name": candidate, "records": records_of(names, candidate),
                    "recorded": []}
    return {"state": "missing", "name": None, "records": [], "recorded": []}


def _holders(names, algorithm, digest):
    """Image volumes among ``names`` recorded as holding this digest."""
    present = set(names)
    records = [parse_record(n) for n in names]
    return sorted(r[0] for r in records if r and r[1:] == (algorithm, digest) and r[0] in present)


def removal_targets(names, *, name, algorithm=None, digest=None):
    """The image volumes and records ``state=absent`` deletes: volume ``name`` with its records;
    without ``name``, every volume recorded with the digest and the default-named volumes."""
    present = set(names)
    if name is not None:
        images = [name] if name in present else []
        return {"images": images, "records": records_of(names, name)}
    images = sorted({n for n in default_names(algorithm, digest) if n in present}
                    | set(_holders(names, algorithm, digest)))
    records = {r for image in images for r in records_of(names, image)}
    # Records of this digest whose image volume is gone already (removed by hand).
    records.update(n for n in names if (parse_record(n) or (None,))[1:] == (algorithm, digest))
    return {"images": images, "records": sorted(records)}


# -- results -------------------------------------------------------------------------------

def volume_view(volume, pool):
    """The returned ``volume``: a volume read from libvirt (see xml_parse.parse_volume)."""
    return {
        "name": volume.get("name"),
        "pool": pool,
        "path": volume.get("path"),
        "format": volume.get("format"),
        "capacity": volume.get("capacity"),
        "allocation": volume.get("allocation"),
    }


def planned_view(*, name, pool, fmt, capacity):
    """The returned ``volume`` of an import check mode reports (not created: no path yet)."""
    return {"name": name, "pool": pool, "path": None, "format": fmt, "capacity": capacity,
            "allocation": None}


def import_facts(header, size, *, fmt_option):
    """``{"format", "capacity", "size"}`` of an image from its header and file size: the
    capacity libvirt will report is the virtual size of a qcow2 image, else the file size."""
    detected = detect_format(header)
    fmt = choose_format(fmt_option, detected["format"])
    if size is not None and size <= 0:
        raise GhostError("the image is empty", option="src")
    capacity = detected["virtual_size"] if fmt == "qcow2" else size
    return {"format": fmt, "capacity": capacity, "size": size}


def diff_side(volumes, checksum):
    """One side of --diff: ``{volume name: {pool, format, capacity, checksum}}``."""
    return {v["name"]: {"pool": v["pool"], "format": v["format"], "capacity": v["capacity"],
                        "checksum": checksum}
            for v in volumes if v}
