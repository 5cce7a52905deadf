# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NoCloud ISO: label, ISO9660 + Joliet + Rock Ridge, deterministic bytes, reader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import time

import pycdlib
import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import iso, render

FILES = render.render_documents({"hostname": "web1", "ip": "192.0.2.10/24", "vendor_data": {"a": 1}},
                                backend="libvirt").files()


def open_iso(data):
    image = pycdlib.PyCdlib()
    image.open_fp(io.BytesIO(data))
    return image


def fetch(image, **path):
    out = io.BytesIO()
    image.get_file_from_iso_fp(out, **path)
    return out.getvalue()


def test_label_and_all_three_namespaces():
    data = iso.build_nocloud_iso(FILES)
    assert iso.volume_label(data) == "cidata"
    image = open_iso(data)
    try:
        assert image.has_rock_ridge() and image.has_joliet()
        for name, content in FILES.items():
            assert fetch(image, rr_path="/" + name) == content
            assert fetch(image, joliet_path="/" + name) == content
            assert fetch(image, iso_path=iso._iso_name(name)) == content
    finally:
        image.close()


def test_read_back():
    data = iso.build_nocloud_iso(FILES)
    assert iso.read_nocloud_iso(data) == {name: content.decode() for name, content in FILES.items()}
    files = {name: FILES[name] for name in ("meta-data", "user-data")}
    assert set(iso.read_nocloud_iso(iso.build_nocloud_iso(files))) == {"meta-data", "user-data"}


def _build_later(monkeypatch, build):
    """Build at another time of day, a year later, in a +05:45 time zone."""
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real() + 400 * 86400 + 3 * 3600 + 17 * 60 + 29.5)
        patch.setenv("TZ", "Asia/Kathmandu")
        time.tzset()
        try:
            return build()
        finally:
            patch.undo()
            time.tzset()


def test_deterministic_across_time_and_timezone(monkeypatch):
    first = iso.build_nocloud_iso(FILES)
    assert _build_later(monkeypatch, lambda: iso.build_nocloud_iso(FILES)) == first


def test_pycdlib_alone_is_not_deterministic(monkeypatch):
    """The control for the test above: without fix_timestamps the bytes differ."""
    monkeypatch.setattr(iso, "fix_timestamps", lambda buf: None)
    first = iso.build_nocloud_iso(FILES)
    assert _build_later(monkeypatch, lambda: iso.build_nocloud_iso(FILES)) != first


def test_dates_are_the_fixed_date():
    data = iso.build_nocloud_iso(FILES)
    pvd = 16 * 2048
    assert data[pvd + 813:pvd + 830] == iso.VD_DATE
    assert data[pvd + 847:pvd + 864] == iso.VD_DATE_UNSET
    image = open_iso(data)
    try:
        record = image.get_record(rr_path="/user-data")
        assert record.date.record() == iso.DIR_DATE
        assert image.get_record(joliet_path="/user-data").date.record() == iso.DIR_DATE
    finally:
        image.close()


def test_fix_timestamps_changes_only_dates():
    files = {"meta-data": b"instance-id: x\n", "user-data": b"#cloud-config\n"}
    data = iso.build_nocloud_iso(files)
    again = bytearray(data)
    iso.fix_timestamps(again)
    assert bytes(again) == data


@pytest.mark.parametrize("files, words", [
    ({"meta-data": b"", "user-data": b"", "extra": b""}, "not NoCloud files: extra"),
    ({"meta-data": b""}, "needs user-data"),
])
def test_build_rejects(files, words):
    with pytest.raises(GhostError) as info:
        iso.build_nocloud_iso(files)
    assert words in str(info.value)


def test_read_rejects_non_seed():
    with pytest.raises(GhostError, match="not an ISO9660 image"):
        iso.read_nocloud_iso(b"\0" * 40000)
    image = pycdlib.PyCdlib()
    image.new(interchange_level=3, vol_ident="OTHER")
    out = io.BytesIO()
    image.write_fp(out)
    image.close()
    with pytest.raises(GhostError, match="volume label is 'OTHER'"):
        iso.read_nocloud_iso(out.getvalue())
