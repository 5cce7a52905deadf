# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/image_fetch.py without a network: the controller's download folder (resume, verify,
rename, one download for parallel runs, nothing left behind) and the progress lines. The HTTP
side runs against a real server in tests/integration/libvirt/test_libvirt_image.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import subprocess
import sys
import threading

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_fetch import (
    ImageCache,
    Progress,
    hash_file,
    safe_url,
)

IMAGE = os.urandom(3 * 1024 * 1024 + 17)
DIGEST = hashlib.sha256(IMAGE).hexdigest()
URL = "https://example.com/image.qcow2"


class FakeFetcher:
    """Fetcher.download() over IMAGE: resumes from the file's size; can stop after ``cut``
    bytes (as a dropped connection does) and wait on ``gate`` before writing."""

    def __init__(self, data=IMAGE, *, cut=None, gate=None):
        self.data = data
        self.cut = cut
        self.gate = gate
        self.calls = []

    def download(self, url, handle, *, hasher):
        offset = handle.seek(0, os.SEEK_END)
        self.calls.append(offset)
        if self.gate is not None:
            self.gate.wait(10)
        handle.seek(0)
        hasher.update(handle.read())
        end = len(self.data) if self.cut is None else min(self.cut, len(self.data))
        handle.write(self.data[offset:end])
        hasher.update(self.data[offset:end])
        handle.flush()
        if end < len(self.data):
            raise GhostError("the connection ended after %d of %d bytes" % (end, len(self.data)))
        return end - offset


def listing(folder):
    return sorted(os.listdir(str(folder)))


def test_download_verify_use_release(tmp_path):
    cache = ImageCache(str(tmp_path / "dl"), fetcher=FakeFetcher())
    path, received = cache.acquire(URL, algorithm="sha256", digest=DIGEST)
    assert received == len(IMAGE)
    with open(path, "rb") as handle:
        assert handle.read() == IMAGE
    assert oct(os.stat(str(tmp_path / "dl")).st_mode & 0o777) == "0o700"
    assert listing(tmp_path / "dl") == sorted(["sha256-" + DIGEST, os.path.basename(path)])
    cache.release(path)
    assert listing(tmp_path / "dl") == []


def test_cut_download_is_kept_and_resumed(tmp_path):
    folder = tmp_path / "dl"
    with pytest.raises(GhostError, match="ended after 1000000"):
        ImageCache(str(folder), fetcher=FakeFetcher(cut=1000000)).acquire(URL, algorithm="sha256", digest=DIGEST)
    assert listing(folder) == ["sha256-%s.part" % DIGEST]
    assert os.path.getsize(str(folder / ("sha256-%s.part" % DIGEST))) == 1000000
    fetcher = FakeFetcher()
    cache = ImageCache(str(folder), fetcher=fetcher)
    path, received = cache.acquire(URL, algorithm="sha256", digest=DIGEST)
    assert fetcher.calls == [1000000] and received == len(IMAGE) - 1000000
    cache.release(path)
    assert listing(folder) == []


def test_mismatch_deletes_the_download(tmp_path):
    folder = tmp_path / "dl"
    cache = ImageCache(str(folder), fetcher=FakeFetcher(data=b"not the image"))
    with pytest.raises(GhostError) as err:
        cache.acquire("https://u:secret@example.com/x", algorithm="sha256", digest=DIGEST)
    text = str(err.value)
    assert "checksum mismatch" in text and DIGEST in text and "it was deleted" in text
    assert "secret" not in text and "https://example.com/x" in text
    assert listing(folder) == []


def test_parallel_runs_download_once_and_clean_up(tmp_path):
    gate = threading.Event()
    fetcher = FakeFetcher(gate=gate)
    cache = ImageCache(str(tmp_path / "dl"), fetcher=fetcher)
    results, errors = [], []

    def one():
        try:
            results.append(cache.acquire(URL, algorithm="sha256", digest=DIGEST))
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=one) for _run in range(4)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert fetcher.calls == [0], "one download for four runs"
    assert sorted(r[1] for r in results) == [0, 0, 0, len(IMAGE)]
    paths = [r[0] for r in results]
    assert len(set(paths)) == 4
    for path in paths[:-1]:
        cache.release(path)
        assert os.path.exists(str(tmp_path / "dl" / ("sha256-" + DIGEST))), "still used by another run"
    cache.release(paths[-1])
    assert listing(tmp_path / "dl") == []


def test_links_of_dead_processes_are_swept(tmp_path):
    folder = tmp_path / "dl"
    cache = ImageCache(str(folder), fetcher=FakeFetcher())
    path, _received = cache.acquire(URL, algorithm="sha256", digest=DIGEST)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = str(folder / ("sha256-%s.%s.0123abcd.use" % (DIGEST, dead)))
    os.link(path, stale)
    cache.release(path)
    assert os.path.exists(stale), "the dead run's link kept the image"
    again, received = cache.acquire(URL, algorithm="sha256", digest=DIGEST)
    assert received == 0 and not os.path.exists(stale)
    cache.release(again)
    assert listing(folder) == []


def test_download_dir_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GhostError) as err:
        ImageCache(str(blocker / "dl"), fetcher=FakeFetcher()).acquire(URL, algorithm="sha256", digest=DIGEST)
    assert err.value.option == "download_dir"


def test_full_disk_names_the_download_folder(tmp_path):
    class FullDisk(FakeFetcher):
        def download(self, url, handle, *, hasher):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(GhostError) as err:
        ImageCache(str(tmp_path / "dl"), fetcher=FullDisk()).acquire(URL, algorithm="sha256", digest=DIGEST)
    assert str(err.value) == "download_dir: Failed to use download folder '%s': No space left on device" % (
        tmp_path / "dl")


def test_hash_file(tmp_path):
    path = tmp_path / "img"
    path.write_bytes(IMAGE)
    lines = []
    assert hash_file(str(path), "sha256", report=lines.append) == DIGEST
    assert lines[-1].startswith("hashed %s: 3.0 MiB in " % path)
    with pytest.raises(GhostError, match="Failed to read image file"):
        hash_file(str(tmp_path / "missing"), "sha256")


def test_progress_lines_are_spaced():
    now = [100.0]
    lines = []
    progress = Progress("https://example.com/x", lines.append, every=5.0, clock=lambda: now[0])
    progress.begin(offset=1048576, total=10 * 1048576)
    for step in range(1, 10):
        now[0] += 1.0
        progress.update(1048576 * step)
    progress.end(9 * 1048576)
    assert lines == [
        "downloading https://example.com/x: resuming at 1.0 MiB",
        "downloading https://example.com/x: 6.0 MiB of 10.0 MiB (60%), 1.0 MiB/s",
        "downloaded https://example.com/x: 9.0 MiB in 9.0 s (1.0 MiB/s)",
    ]


def test_safe_url():
    assert safe_url("https://user:pw@example.com:8443/a?b") == "https://example.com:8443/a?b"
    assert safe_url("http://example.com/a") == "http://example.com/a"
