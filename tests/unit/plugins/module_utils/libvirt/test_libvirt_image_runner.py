# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/image_runner.py against an in-memory pool: the cache decision, check mode, import,
records, replacement of a cut-off import, removal and its refusal while in use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import struct

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import image_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import AlreadyExists
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_runner import ensure_image

QCOW2 = b"QFI\xfb" + struct.pack(">IQIIQI", 3, 0, 0, 16, 1 << 30, 0) + b"\x00" * 600
DIGEST = hashlib.sha256(QCOW2).hexdigest()
DEFAULT = spec.default_name("sha256", DIGEST, "qcow2")
RECORD = spec.record_name(DEFAULT, "sha256", DIGEST)


class Pool:
    """ImageClient's calls over a dict of volume name -> bytes; records every change."""

    def __init__(self, volumes=None, users=None):
        self.volumes = dict(volumes or {})
        self.users = users or {}
        self.changes = []
        self.hashed = []
        self.fail_record = False

    def volume_names(self, pool):
        assert pool == "images"
        return sorted(self.volumes)

    def volume(self, pool, name):
        if name not in self.volumes:
            return None
        data = self.volumes[name]
        qcow2 = data.startswith(b"QFI\xfb")
        return {"name": name, "path": "/pool/" + name, "format": "qcow2" if qcow2 else "raw",
                "capacity": (1 << 30) if qcow2 else len(data), "allocation": len(data),
                "backing": None, "backing_format": None}

    def hash_volume(self, pool, name, algorithm):
        self.hashed.append(name)
        return hashlib.new(algorithm, self.volumes[name]).hexdigest()

    def import_file(self, pool, name, path, *, size, fmt, algorithm, digest):
        if name in self.volumes:
            raise AlreadyExists("exists")
        with open(path, "rb") as handle:
            data = handle.read()
        if hashlib.new(algorithm, data).hexdigest() != digest:
            raise GhostError("checksum mismatch")
        self.volumes[name] = data
        self.changes.append("import " + name)
        return self.volume(pool, name)

    def write_record(self, pool, name, data):
        if self.fail_record:
            raise GhostError("disk full")
        self.volumes[name] = data
        self.changes.append("record " + name)

    def delete_settled(self, pool, name):
        self.changes.append("delete " + name)
        return self.volumes.pop(name, None) is not None

    def users_of(self, path, *, pool, name):
        return self.users.get(name, [])


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "image.qcow2"
    path.write_bytes(QCOW2)
    return str(path)


def params(**over):
    base = {"src": None, "checksum": "sha256:" + DIGEST, "pool": "images", "name": None, "format": "auto",
            "timeout": 30, "validate_certs": True, "download_dir": None, "state": "present",
            "uri": "qemu:///system"}
    base.update(over)
    return base


def test_import_then_cached(image_file):
    pool = Pool({"base.qcow2": b"x"})
    result = ensure_image(pool, params(src=image_file), diff=True)
    assert result["changed"] and not result["cached"]
    assert pool.changes == ["import " + DEFAULT, "record " + RECORD]
    assert pool.volumes[RECORD] == ("%s  %s\n" % (DIGEST, DEFAULT)).encode()
    assert result["volume"]["name"] == DEFAULT and result["volume"]["capacity"] == 1 << 30
    assert result["checksum"] == "sha256:" + DIGEST
    assert result["diff"] == {"before": {}, "after": {DEFAULT: {
        "pool": "images", "format": "qcow2", "capacity": 1 << 30, "checksum": "sha256:" + DIGEST}}}

    pool.changes = []
    again = ensure_image(pool, params(src="/nowhere"), diff=True)  # src is not read when cached
    assert not again["changed"] and again["cached"]
    assert pool.changes == [] and pool.hashed == []
    assert again["diff"]["before"] == again["diff"]["after"]


def test_check_mode_reads_nothing_and_changes_nothing():
    pool = Pool()
    result = ensure_image(pool, params(src="https://example.com/x.qcow2", format="qcow2"), check_mode=True)
    assert result["changed"] and not result["cached"]
    assert result["volume"] == {"name": None, "pool": "images", "path": None, "format": "qcow2",
                                "capacity": None, "allocation": None}
    assert pool.changes == []


def test_named_import_and_conflict(image_file):
    pool = Pool()
    ensure_image(pool, params(src=image_file, name="web.qcow2"))
    assert sorted(pool.volumes) == ["web.qcow2", spec.record_name("web.qcow2", "sha256", DIGEST)]
    other = "sha256:" + "0" * 64
    with pytest.raises(GhostError) as err:
        ensure_image(pool, params(src=image_file, name="web.qcow2", checksum=other))
    assert str(err.value) == (
        "Failed to import image into volume 'images/web.qcow2': the volume holds another image "
        "(sha256:%s); remove it with state=absent or choose another name" % DIGEST)


def test_volume_without_record_is_hashed_once_then_recorded():
    pool = Pool({DEFAULT: QCOW2})
    checked = ensure_image(pool, params(src="/nowhere"), check_mode=True)
    assert checked["changed"] and checked["cached"] and pool.changes == []
    result = ensure_image(pool, params(src="/nowhere"))
    assert result["changed"] and result["cached"]
    assert pool.changes == ["record " + RECORD]
    assert pool.hashed == [DEFAULT, DEFAULT]
    assert not ensure_image(pool, params(src="/nowhere"))["changed"]
    assert pool.hashed == [DEFAULT, DEFAULT]


def test_cut_off_import_under_the_default_name_is_replaced(image_file):
    pool = Pool({DEFAULT: QCOW2[:100]})
    result = ensure_image(pool, params(src=image_file), diff=True)
    assert pool.changes == ["delete " + DEFAULT, "import " + DEFAULT, "record " + RECORD]
    assert pool.volumes[DEFAULT] == QCOW2
    assert list(result["diff"]["before"]) == [DEFAULT]


def test_foreign_volume_of_that_name_is_kept(image_file):
    pool = Pool({"web.qcow2": b"someone else's"})
    with pytest.raises(GhostError, match="exists with other content and no checksum record"):
        ensure_image(pool, params(src=image_file, name="web.qcow2"))
    assert pool.changes == []


def test_stale_record_of_a_missing_volume_is_replaced(image_file):
    stale = spec.record_name("web.qcow2", "sha256", "1" * 64)
    pool = Pool({stale: b"old"})
    ensure_image(pool, params(src=image_file, name="web.qcow2"))
    assert pool.changes == ["delete " + stale, "import web.qcow2",
                            "record " + spec.record_name("web.qcow2", "sha256", DIGEST)]


def test_failed_record_deletes_the_image(image_file):
    pool = Pool()
    pool.fail_record = True
    with pytest.raises(GhostError, match="disk full"):
        ensure_image(pool, params(src=image_file))
    assert pool.volumes == {}


def test_import_refuses_a_format_it_was_not_told(image_file):
    pool = Pool()
    with pytest.raises(GhostError, match="format: is raw but the image is qcow2"):
        ensure_image(pool, params(src=image_file, format="raw"))
    assert pool.changes == []


def test_concurrent_import_is_reported():
    class Racing(Pool):
        def import_file(self, *args, **kwargs):
            raise AlreadyExists("exists")
    with pytest.raises(GhostError, match="another run created that volume meanwhile"):
        ensure_image(Racing(), params(src=__file__))


def test_missing_checksum_or_src():
    with pytest.raises(GhostError, match="checksum: is required with state=present"):
        ensure_image(Pool(), params(src="/x", checksum=None))
    with pytest.raises(GhostError, match="src: is required: the image is not in pool images"):
        ensure_image(Pool(), params(src=None))
    with pytest.raises(GhostError, match="reached the module as a URL"):
        ensure_image(Pool(), params(src="/x", checksum="https://example.com/SHA256SUMS"))


def test_absent_by_checksum_and_by_name(image_file):
    pool = Pool({"base.qcow2": b"b"})
    ensure_image(pool, params(src=image_file))
    ensure_image(pool, params(src=image_file, name="web.qcow2"))
    checked = ensure_image(pool, params(state="absent"), check_mode=True, diff=True)
    assert checked["changed"] and checked["removed"] == [DEFAULT, "web.qcow2"]
    assert checked["diff"]["after"] == {} and sorted(checked["diff"]["before"]) == [DEFAULT, "web.qcow2"]
    assert len(pool.volumes) == 5
    result = ensure_image(pool, params(state="absent"))
    assert result["changed"] and result["volume"] is None
    assert sorted(pool.volumes) == ["base.qcow2"]
    again = ensure_image(pool, params(state="absent", name="web.qcow2", checksum=None))
    assert not again["changed"] and again["removed"] == [] and again["checksum"] is None


def test_absent_refuses_an_image_in_use(image_file):
    pool = Pool(users={DEFAULT: ["volume images/web1.qcow2", "domain web1"]})
    ensure_image(pool, params(src=image_file))
    pool.changes = []
    with pytest.raises(GhostError) as err:
        ensure_image(pool, params(state="absent"))
    assert str(err.value) == ("Failed to remove image volume 'images/%s': it is in use by volume "
                              "images/web1.qcow2, domain web1; remove those first" % DEFAULT)
    assert pool.changes == []


def test_absent_needs_name_or_checksum():
    with pytest.raises(GhostError, match="name: state=absent needs name or checksum"):
        ensure_image(Pool(), params(state="absent", checksum=None))
