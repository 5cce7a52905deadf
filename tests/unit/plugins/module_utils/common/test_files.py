# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.files import write_atomically


def test_writes_bytes_with_mode(tmp_path):
    path = tmp_path / "kubeconfig"
    write_atomically(str(path), b"secret", 0o600)
    assert path.read_bytes() == b"secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_replaces_existing_file_and_its_mode(tmp_path):
    path = tmp_path / "seed.iso"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    write_atomically(str(path), b"new", 0o600)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_failure_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "seed.iso"
    path.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomically(str(path), b"new", 0o600)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.iso"]
