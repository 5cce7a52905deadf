# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ensure_seed(): the file logic behind ghost.infra.cloud_init_seed, without Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import iso, runner

HASH = "$6$saltsalt$" + "z" * 86
CLOUD_INIT = {"ip": "192.0.2.10/24", "gateway": "192.0.2.1", "password_hash": HASH,
              "user_data": "#!/bin/sh\necho script-secret\n"}


def ensure(path, **kwargs):
    kwargs.setdefault("cloud_init", CLOUD_INIT)
    kwargs.setdefault("name", "web1")
    return runner.ensure_seed(dest=str(path), **kwargs)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_create_then_unchanged(tmp_path):
    dest = tmp_path / "seed.iso"
    first = ensure(dest)
    assert first["changed"] is True
    data = dest.read_bytes()
    assert first["sha256"] == hashlib.sha256(data).hexdigest()
    assert first["path"] == str(dest)
    assert first["instance_id"].startswith("iid-")
    assert iso.read_nocloud_iso(data)["meta-data"].startswith("instance-id: " + first["instance_id"])
    assert mode_of(dest) == 0o600
    second = ensure(dest)
    assert second["changed"] is False
    assert second["sha256"] == first["sha256"]
    assert os.listdir(str(tmp_path)) == ["seed.iso"]  # no temporary file left behind


def test_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "seed.iso"
    result = ensure(dest, check_mode=True)
    assert result["changed"] is True and result["sha256"]
    assert not dest.exists()
    ensure(dest)
    dest.chmod(0o644)
    before = dest.read_bytes()
    result = ensure(dest, cloud_init={"hostname": "other"}, check_mode=True)
    assert result["changed"] is True
    assert dest.read_bytes() == before and mode_of(dest) == 0o644


def test_content_change_rewrites(tmp_path):
    dest = tmp_path / "seed.iso"
    first = ensure(dest)
    second = ensure(dest, cloud_init=dict(CLOUD_INIT, packages=["htop"]))
    assert second["changed"] is True
    assert second["instance_id"] != first["instance_id"]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == second["sha256"]


@pytest.mark.parametrize("mode, expected", [("0640", 0o640), ("644", 0o644), ("0o600", 0o600), (0o400, 0o400)])
def test_mode(tmp_path, mode, expected):
    dest = tmp_path / "seed.iso"
    ensure(dest, mode=mode)
    assert mode_of(dest) == expected


def test_mode_only_change(tmp_path):
    dest = tmp_path / "seed.iso"
    ensure(dest)
    dest.chmod(0o644)
    assert ensure(dest, check_mode=True)["changed"] is True
    assert mode_of(dest) == 0o644
    assert ensure(dest)["changed"] is True
    assert mode_of(dest) == 0o600
    assert ensure(dest)["changed"] is False


@pytest.mark.parametrize("mode", ["u=rw", "0999", True, "12345", 0o10000])
def test_bad_mode(tmp_path, mode):
    with pytest.raises(GhostError) as info:
        ensure(tmp_path / "seed.iso", mode=mode)
    assert info.value.option == "mode"


def test_absent(tmp_path):
    dest = tmp_path / "seed.iso"
    ensure(dest)
    assert ensure(dest, state="absent", check_mode=True)["changed"] is True
    assert dest.exists()
    result = ensure(dest, state="absent")
    assert result == {"changed": True, "path": str(dest)}
    assert not dest.exists()
    assert ensure(dest, state="absent")["changed"] is False


def test_diff_is_masked(tmp_path):
    dest = tmp_path / "seed.iso"
    result = ensure(dest, diff=True)
    assert result["diff"]["before"] == {"path": str(dest), "state": "absent"}
    after = result["diff"]["after"]
    assert after["sha256"] == result["sha256"] and after["mode"] == "0600"
    assert after["instance_id"] == result["instance_id"]
    users = after["documents"]["user_data"]["cloud_config"]["users"]
    assert users[0]["passwd"] == "********"
    text = repr(result)
    assert HASH not in text and "script-secret" not in text
    # The other side of the diff is read back from the file and shown the same way.
    again = ensure(dest, diff=True)
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"] == after
    gone = ensure(dest, state="absent", diff=True)
    assert gone["diff"] == {"before": after, "after": {"path": str(dest), "state": "absent"}}


def test_diff_of_unreadable_file(tmp_path):
    dest = tmp_path / "seed.iso"
    dest.write_bytes(b"not an iso")
    result = ensure(dest, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["documents"] == "unreadable: not an ISO9660 image"


def test_no_diff_unless_asked(tmp_path):
    assert "diff" not in ensure(tmp_path / "seed.iso")


def test_missing_directory(tmp_path):
    dest = tmp_path / "nowhere" / "seed.iso"
    with pytest.raises(GhostError) as info:
        ensure(dest)
    assert info.value.option == "dest"
    assert str(info.value).startswith("dest: Failed to write NoCloud seed '%s'" % dest)


def test_dest_is_a_directory(tmp_path):
    with pytest.raises(GhostError) as info:
        ensure(tmp_path)
    assert "not a regular file" in str(info.value)


def test_write_failure_cleans_up(tmp_path, monkeypatch):
    dest = tmp_path / "seed.iso"

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(GhostError) as info:
        ensure(dest)
    assert "No space left on device" in str(info.value)
    assert os.listdir(str(tmp_path)) == []


def test_bad_cloud_init_names_option(tmp_path):
    with pytest.raises(GhostError) as info:
        ensure(tmp_path / "seed.iso", cloud_init={"ip": "192.0.2.10"})
    assert info.value.option == "cloud_init.ip"
    assert not (tmp_path / "seed.iso").exists()
