# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/image_spec.py: checksum options, checksum lists, formats, names, the cache decision."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import image_spec as spec

D256 = "ab" * 32
D512 = "cd" * 64
OTHER = "ef" * 32


def qcow2_header(*, version=3, size=1 << 30, backing=0, crypt=0, incompatible=0):
    head = b"QFI\xfb" + struct.pack(">IQIIQI", version, backing, 0, 16, size, crypt)
    head += b"\x00" * (72 - len(head)) + struct.pack(">Q", incompatible)
    return head + b"\x00" * (512 - len(head))


# -- checksum option ------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("sha256:" + D256.upper(), {"algorithm": "sha256", "digest": D256}),
    ("SHA512:" + D512, {"algorithm": "sha512", "digest": D512}),
    (" sha256:%s " % D256, {"algorithm": "sha256", "digest": D256}),
    ("https://example.com/SHA256SUMS", {"algorithm": None, "url": "https://example.com/SHA256SUMS"}),
    ("sha512:http://example.com/SHA512SUMS", {"algorithm": "sha512", "url": "http://example.com/SHA512SUMS"}),
    (None, None),
    ("  ", None),
])
def test_parse_checksum(value, expected):
    assert spec.parse_checksum(value) == expected


@pytest.mark.parametrize("value, words", [
    ("md5:" + "a" * 32, "expected sha256:<hex>"),
    (D256, "expected sha256:<hex>"),
    ("sha256:" + D256[:-1], "64 hex digits"),
    ("sha256:" + "g" * 64, "64 hex digits"),
    ("sha512:" + D256, "128 hex digits"),
    ("ftp://example.com/SUMS", "expected sha256:<hex>"),
])
def test_parse_checksum_refuses(value, words):
    with pytest.raises(GhostError) as err:
        spec.parse_checksum(value)
    assert err.value.option == "checksum"
    assert words in str(err.value)


# -- sources --------------------------------------------------------------------------------

@pytest.mark.parametrize("src, name", [
    ("https://example.com/images/debian-12.qcow2", "debian-12.qcow2"),
    ("https://user:pw@example.com/a%20b.img?x=1#frag", "a b.img"),
    ("/srv/images/appliance.raw", "appliance.raw"),
    ("appliance.raw", "appliance.raw"),
])
def test_source_filename(src, name):
    assert spec.source_filename(src) == name


def test_source_without_file_name():
    with pytest.raises(GhostError, match="no file name"):
        spec.source_filename("https://example.com/")


def test_check_source():
    spec.check_source("https://example.com/x.qcow2")
    spec.check_source("HTTP://example.com/x.qcow2")
    spec.check_source("files/x.qcow2")
    with pytest.raises(GhostError, match="not 'ftp'"):
        spec.check_source("ftp://example.com/x.qcow2")
    with pytest.raises(GhostError, match="required with state=present"):
        spec.check_source("")


# -- checksum lists -------------------------------------------------------------------------

GNU = """\
%s  debian-12-genericcloud-amd64.qcow2
%s *debian-12-genericcloud-amd64.raw
%s  ./sub/other.img
""" % (D256, OTHER, D512)

BSD_SIGNED = """\
-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Fedora-Cloud-Base-40.x86_64.qcow2: 1234 bytes
SHA256 (Fedora-Cloud-Base-40.x86_64.qcow2) = %s
-----BEGIN PGP SIGNATURE-----
iQIzBAEBCAAdFiEE
-----END PGP SIGNATURE-----
""" % D256.upper()


def test_sums_gnu_lines():
    assert spec.parse_sums(GNU, "debian-12-genericcloud-amd64.qcow2") == {"algorithm": "sha256", "digest": D256}
    assert spec.parse_sums(GNU, "debian-12-genericcloud-amd64.raw") == {"algorithm": "sha256", "digest": OTHER}
    assert spec.parse_sums(GNU, "other.img") == {"algorithm": "sha512", "digest": D512}


def test_sums_bsd_lines_in_a_signed_list():
    assert spec.parse_sums(BSD_SIGNED, "Fedora-Cloud-Base-40.x86_64.qcow2") == {"algorithm": "sha256", "digest": D256}


def test_sums_algorithm_must_match_the_prefix():
    with pytest.raises(GhostError, match="no sha512 entry for 'debian-12-genericcloud-amd64.qcow2' in SUMS"):
        spec.parse_sums(GNU, "debian-12-genericcloud-amd64.qcow2", algorithm="sha512", source="SUMS")


def test_sums_missing_entry_names_file_and_list():
    with pytest.raises(GhostError) as err:
        spec.parse_sums(GNU, "nope.qcow2", source="https://example.com/SHA256SUMS")
    assert str(err.value) == "checksum: no entry for 'nope.qcow2' in https://example.com/SHA256SUMS"


def test_sums_disagreeing_entries_are_refused():
    text = "%s  a/x.qcow2\n%s  b/x.qcow2\n%s  c/x.qcow2\n" % (D256, OTHER, D256)
    with pytest.raises(GhostError, match="lists 'x.qcow2' 2 times with different digests"):
        spec.parse_sums(text, "x.qcow2")


def test_sums_same_entry_twice_is_fine():
    text = "%s  x.qcow2\nSHA256 (x.qcow2) = %s\n" % (D256, D256)
    assert spec.parse_sums(text, "x.qcow2")["digest"] == D256


# -- formats --------------------------------------------------------------------------------

def test_qcow2_header():
    assert spec.detect_format(qcow2_header(size=3 << 30)) == {"format": "qcow2", "virtual_size": 3 << 30}
    assert spec.detect_format(qcow2_header(version=2, size=5)) == {"format": "qcow2", "virtual_size": 5}


def test_raw_is_everything_else():
    assert spec.detect_format(b"\x00" * 512) == {"format": "raw", "virtual_size": None}
    assert spec.detect_format(b"") == {"format": "raw", "virtual_size": None}
    iso = b"\x00" * 0x8001 + b"CD001"
    assert spec.detect_format(iso[:512])["format"] == "raw"


@pytest.mark.parametrize("header, words", [
    (qcow2_header(backing=0x1000), "backing file"),
    (qcow2_header(crypt=1), "encrypted"),
    (qcow2_header(incompatible=1 << 2), "external file"),
    (qcow2_header(incompatible=1 << 1), "corrupt"),
    (qcow2_header(incompatible=1), "dirty"),
    (qcow2_header(version=4), "version 4"),
    (b"QFI\xfb\x00\x00\x00\x03", "truncated"),
    (b"\xfd7zXZ\x00rest", "xz-compressed"),
    (b"\x1f\x8b\x08", "gzip-compressed"),
    (b"KDMV" + b"\x00" * 60, "VMDK"),
    (b"vhdxfile", "VHDX"),
    (b"\x00" * 0x40 + b"\x7f\x10\xda\xbe", "VDI"),
])
def test_unusable_images_are_refused(header, words):
    with pytest.raises(GhostError) as err:
        spec.detect_format(header)
    assert err.value.option == "src"
    assert words in str(err.value)


def test_choose_format():
    assert spec.choose_format("auto", "qcow2") == "qcow2"
    assert spec.choose_format(None, "raw") == "raw"
    assert spec.choose_format("raw", "raw") == "raw"
    with pytest.raises(GhostError, match="format: is qcow2 but the image is raw"):
        spec.choose_format("qcow2", "raw")
    with pytest.raises(GhostError, match="format: is raw but the image is qcow2"):
        spec.choose_format("raw", "qcow2")


def test_import_facts_capacity():
    assert spec.import_facts(qcow2_header(size=1 << 30), 200704, fmt_option="auto") == {
        "format": "qcow2", "capacity": 1 << 30, "size": 200704}
    assert spec.import_facts(b"\x00" * 512, 4096, fmt_option="raw") == {"format": "raw", "capacity": 4096, "size": 4096}
    assert spec.import_facts(b"\x00" * 512, None, fmt_option="auto")["capacity"] is None
    with pytest.raises(GhostError, match="empty"):
        spec.import_facts(b"", 0, fmt_option="auto")


# -- names ----------------------------------------------------------------------------------

def test_default_name_and_record():
    assert spec.default_name("sha256", D256, "qcow2") == "sha256-abababababababab.qcow2"
    assert spec.default_names("sha512", D512) == ["sha512-cdcdcdcdcdcdcdcd.qcow2", "sha512-cdcdcdcdcdcdcdcd.raw"]
    record = spec.record_name("web.qcow2", "sha256", D256)
    assert record == "web.qcow2.sha256-" + D256
    assert spec.parse_record(record) == ("web.qcow2", "sha256", D256)
    assert spec.record_content("web.qcow2", D256) == ("%s  web.qcow2\n" % D256).encode()


@pytest.mark.parametrize("name", ["web.qcow2", "web.qcow2.sha256-abc", "x.sha512-" + D256, "a.sha256-" + D256.upper()])
def test_not_records(name):
    assert spec.parse_record(name) is None


@pytest.mark.parametrize("name, words", [
    ("a/b", "not a volume name"),
    ("..", "not a volume name"),
    (".hidden", "not a volume name"),
    ("", "not a volume name"),
    ("x" * 120, "too long"),
    ("web.sha256-" + D256, "looks like a checksum record"),
])
def test_check_name_refuses(name, words):
    with pytest.raises(GhostError) as err:
        spec.check_name(name)
    assert err.value.option == "name"
    assert words in str(err.value)


def test_check_name_length_depends_on_the_algorithm():
    spec.check_name("x" * 180, "sha256")
    with pytest.raises(GhostError, match="too long"):
        spec.check_name("x" * 180, "sha512")
    spec.check_name(None)


# -- the cache decision ---------------------------------------------------------------------

DEFAULT = spec.default_name("sha256", D256, "qcow2")


def find(names, name=None):
    return spec.find_image(names, name=name, algorithm="sha256", digest=D256)


def test_default_name_recorded_is_cached():
    names = ["base.qcow2", DEFAULT, spec.record_name(DEFAULT, "sha256", D256)]
    assert find(names) == {"state": "cached", "name": DEFAULT, "records": [names[2]], "recorded": []}


def test_without_name_any_recorded_volume_is_reused_default_first():
    names = ["web.qcow2", spec.record_name("web.qcow2", "sha256", D256)]
    assert find(names)["name"] == "web.qcow2"
    names += [DEFAULT, spec.record_name(DEFAULT, "sha256", D256)]
    assert find(names)["name"] == DEFAULT


def test_a_record_without_its_volume_is_not_the_image():
    names = [spec.record_name(DEFAULT, "sha256", D256)]
    assert find(names)["state"] == "missing"


def test_default_named_volume_without_record_is_unverified():
    raw = spec.default_name("sha256", D256, "raw")
    assert find([raw]) == {"state": "unverified", "name": raw, "records": [], "recorded": []}


def test_nothing_is_missing():
    assert find(["base.qcow2"]) == {"state": "missing", "name": None, "records": [], "recorded": []}


def test_named_volume_states():
    mine = spec.record_name("web.qcow2", "sha256", D256)
    theirs = spec.record_name("web.qcow2", "sha256", OTHER)
    assert find(["web.qcow2", mine], "web.qcow2")["state"] == "cached"
    assert find(["web.qcow2"], "web.qcow2")["state"] == "unverified"
    assert find([theirs], "web.qcow2") == {"state": "missing", "name": "web.qcow2", "records": [theirs],
                                           "recorded": []}
    assert find(["web.qcow2", theirs], "web.qcow2") == {
        "state": "conflict", "name": "web.qcow2", "records": [theirs], "recorded": ["sha256:" + OTHER]}
    # A named run does not take the image stored under another name.
    assert find([DEFAULT, spec.record_name(DEFAULT, "sha256", D256)], "web.qcow2")["state"] == "missing"


def test_removal_by_name():
    names = ["web.qcow2", spec.record_name("web.qcow2", "sha256", OTHER), DEFAULT]
    assert spec.removal_targets(names, name="web.qcow2") == {
        "images": ["web.qcow2"], "records": [names[1]]}
    assert spec.removal_targets(["x"], name="web.qcow2") == {"images": [], "records": []}


def test_removal_by_checksum_takes_every_holder_and_orphan_records():
    web = spec.record_name("web.qcow2", "sha256", D256)
    orphan = spec.record_name("gone.qcow2", "sha256", D256)
    other = spec.record_name("keep.qcow2", "sha256", OTHER)
    names = ["web.qcow2", web, DEFAULT, orphan, "keep.qcow2", other]
    assert spec.removal_targets(names, name=None, algorithm="sha256", digest=D256) == {
        "images": sorted([DEFAULT, "web.qcow2"]), "records": sorted([web, orphan])}


# -- views ----------------------------------------------------------------------------------

def test_views_and_diff():
    volume = {"name": DEFAULT, "path": "/p/" + DEFAULT, "format": "qcow2", "capacity": 10, "allocation": 5,
              "backing": None, "backing_format": None}
    view = spec.volume_view(volume, "default")
    assert view == {"name": DEFAULT, "pool": "default", "path": "/p/" + DEFAULT, "format": "qcow2",
                    "capacity": 10, "allocation": 5}
    planned = spec.planned_view(name=DEFAULT, pool="default", fmt="qcow2", capacity=10)
    assert planned["path"] is None and planned["allocation"] is None
    assert spec.diff_side([view, None], "sha256:" + D256) == {
        DEFAULT: {"pool": "default", "format": "qcow2", "capacity": 10, "checksum": "sha256:" + D256}}
