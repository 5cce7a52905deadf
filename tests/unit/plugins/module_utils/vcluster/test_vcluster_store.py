# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The private kubeconfig store: 0600 files, 0700 folders, parallel first runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import threading

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import store


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_folder_made_is_private(tmp_path):
    previous = os.umask(0o022)
    try:
        path = tmp_path / "home" / ".ghost" / "kubeconfigs" / "ns" / "vc.yaml"
        store.write_private(str(path), b"data")
    finally:
        os.umask(previous)
    assert mode(path) == 0o600
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent, path.parent.parent.parent.parent):
        assert mode(folder) == 0o700
    assert not store.needs_write(str(path), b"data")


def test_existing_folders_keep_their_mode(tmp_path):
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    store.write_private(str(tmp_path / "shared" / "ns" / "vc.yaml"), b"x")
    assert mode(tmp_path / "shared") == 0o755
    assert mode(tmp_path / "shared" / "ns") == 0o700


def test_a_folder_made_meanwhile_by_a_parallel_run_is_no_error(tmp_path, monkeypatch):
    # The other run creates the folder between our check and our mkdir.
    target = tmp_path / "kubeconfigs"
    real_isdir = os.path.isdir
    raced = []

    def isdir(path):
        if str(path) == str(target) and not raced:
            raced.append(path)
            os.mkdir(str(target), 0o700)
            return False
        return real_isdir(path)
    monkeypatch.setattr(store.os.path, "isdir", isdir)
    store.write_private(str(target / "vc.yaml"), b"x")
    assert raced and (target / "vc.yaml").read_bytes() == b"x"
    assert mode(target) == 0o700


def test_parallel_first_runs(tmp_path):
    base = tmp_path / "home" / ".ghost" / "kubeconfigs"
    barrier = threading.Barrier(8)
    errors = []

    def run(index):
        barrier.wait()
        try:
            store.write_private(str(base / ("ns-%d" % (index % 2)) / ("vc-%d.yaml" % index)), b"x")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(os.listdir(base)) == ["ns-0", "ns-1"]
    assert mode(base) == 0o700 and mode(base / "ns-0") == 0o700


def test_check_writable_refuses_a_path_that_cannot_be_written(tmp_path):
    (tmp_path / "afile").write_text("x")
    store.check_writable(str(tmp_path / "new" / "deeper" / "vc.yaml"))      # folders to make: fine
    store.check_writable(str(tmp_path / "afile"))                           # an existing file: replaced
    with pytest.raises(GhostError, match="afile is not a directory") as raised:
        store.check_writable(str(tmp_path / "afile" / "sub" / "vc.yaml"))
    assert raised.value.option == "kubeconfig_dest"
    with pytest.raises(GhostError, match="is a directory; give the path of a file"):
        store.check_writable(str(tmp_path))
