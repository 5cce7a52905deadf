# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Getting an image onto the controller for libvirt_image's action plugin. Private to ghost.infra.

Fetcher talks HTTP through ansible's open_url (proxies from the environment, certificate
checks, ``timeout`` for the connection and for every read, so a stalled server fails after
``timeout`` seconds without a byte). ImageCache keeps downloads in a folder of the controller:

- ``<algorithm>-<digest>.part`` is the download in progress. It survives a failed or
  interrupted run and the next run resumes it with an HTTP Range request (a server that
  ignores Range sends the whole file again). Its lock (flock) makes parallel runs for the
  same image wait for one download instead of writing the same file.
- once the digest is verified it is renamed (atomically) to ``<algorithm>-<digest>``; a file
  of that name was therefore checked. A mismatch deletes the partial file.
- each run uses its own hard link ``<algorithm>-<digest>.<pid>.<random>.use`` and deletes it
  afterwards, and the last run using the image deletes the verified file too (link count 1),
  so runs for several hypervisors at once download once and nothing stays behind. Links of
  processes that died are swept by the next run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import hashlib
import http.client
import os
import re
import socket
import time
import uuid
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.urls import open_url

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_spec import HEADER_BYTES

BLOCK = 1024 * 1024
PROGRESS_EVERY = 5.0
SUMS_LIMIT = 4 * 1024 * 1024
AGENT = "ghost.infra-libvirt_image"
MIB = 1024.0 * 1024.0
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_USE = re.compile(r"^(?P<shared>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.use$")


def safe_url(url):
    """``url`` without user and password, for messages and progress lines."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _mib(count):
    return "%.1f MiB" % (count / MIB)


class Progress:
    """Progress lines for ``report`` about ``what``: at most one every ``every`` seconds, and a
    summary; ``verbs`` are the (ongoing, finished) words, such as downloading/downloaded."""

    def __init__(self, what, report, *, verbs=("downloading", "downloaded"), every=PROGRESS_EVERY,
                 clock=time.monotonic):
        self.label = "%s %s" % (verbs[0], what)
        self.done_label = "%s %s" % (verbs[1], what)
        self.report = report or (lambda line: None)
        self.every = every
        self.clock = clock
        self.start = self.last = clock()
        self.offset = 0
        self.total = None

    def begin(self, *, offset, total):
        self.offset, self.total = offset, total
        self.start = self.last = self.clock()
        if offset:
            self.report("%s: resuming at %s" % (self.label, _mib(offset)))

    def _rate(self, received):
        elapsed = max(self.clock() - self.start, 1e-6)
        return received / MIB / elapsed, elapsed

    def update(self, received):
        if self.clock() - self.last < self.every:
            return
        self.last = self.clock()
        done = self.offset + received
        rate, _elapsed = self._rate(received)
        if self.total:
            self.report("%s: %s of %s (%d%%), %.1f MiB/s" % (self.label, _mib(done), _mib(self.total),
                                                             int(100 * done / self.total), rate))
        else:
            self.report("%s: %s, %.1f MiB/s" % (self.label, _mib(done), rate))

    def end(self, received):
        rate, elapsed = self._rate(received)
        self.report("%s: %s in %.1f s (%.1f MiB/s)" % (self.done_label, _mib(received), elapsed, rate))


class Fetcher:
    """HTTP(S) reads of images and checksum files."""

    def __init__(self, *, timeout, validate_certs, report=None, clock=time.monotonic):
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.report = report
        self.clock = clock

    def _open(self, url, what, headers=None, *, resuming=False):
        """The response; a failure becomes GhostError, except the HTTPError 416 (range not
        satisfiable) of a resumed download, which download() handles."""
        try:
            return open_url(url, headers=headers, timeout=self.timeout, validate_certs=self.validate_certs,
                            http_agent=AGENT)
        except HTTPError as exc:
            if exc.code == 416 and resuming:
                raise
            raise GhostError(failure("download", what, safe_url(url), "HTTP %s %s" % (exc.code, exc.reason)))
        except Exception as exc:  # URLError, socket errors, ansible's SSL and connection errors
            raise GhostError(failure("download", what, safe_url(url), _cause(exc, self.timeout)))

    def text(self, url):
        """A small text file (a SHA256SUMS list)."""
        response = self._open(url, "checksum file")
        data = b""
        with response:
            while len(data) <= SUMS_LIMIT:
                block = self._read(response, url, "checksum file", SUMS_LIMIT + 1 - len(data))
                if not block:
                    break
                data += block
        if len(data) > SUMS_LIMIT:
            raise GhostError(failure("download", "checksum file", safe_url(url),
                                     "it is larger than %d bytes" % SUMS_LIMIT))
        return data.decode("utf-8", "replace")

    def peek(self, url):
        """(first HEADER_BYTES bytes, file size or None) of an image, by a Range request."""
        response = self._open(url, "image", {"Range": "bytes=0-%d" % (HEADER_BYTES - 1)})
        with response:
            size = _total(response)
            header = b""
            while len(header) < HEADER_BYTES:
                data = self._read(response, url, "image", HEADER_BYTES - len(header))
                if not data:
                    break
                header += data
        return header, size

    def _read(self, response, url, what, amount, *, kept=False):
        """Up to ``amount`` bytes: what has arrived (read1), so the bytes before a stall or a cut
        connection reach the partial file instead of dying in a buffer (``kept`` says so)."""
        try:
            return getattr(response, "read1", response.read)(amount)
        except (socket.timeout, OSError, http.client.HTTPException) as exc:
            cause = _cause(exc, self.timeout)
            if kept:
                cause += "; the partial download is kept and the next run resumes it"
            raise GhostError(failure("download", what, safe_url(url), cause))

    def download(self, url, handle, *, hasher):
        """Append the rest of ``url`` to ``handle`` (a file opened r+b) and feed the whole file
        to ``hasher``. Resumes from the file's current size when the server answers the Range
        request; returns the bytes received from the network."""
        offset = handle.seek(0, os.SEEK_END)
        response = None
        if offset:
            try:
                response = self._open(url, "image", {"Range": "bytes=%d-" % offset}, resuming=True)
            except HTTPError:  # 416: the partial file is as long as the image (or longer)
                _hash_file(handle, hasher)
                return 0
            start = _range_start(response)
            if start == offset:
                _hash_file(handle, hasher)
            else:  # the server ignored Range (200: the whole file follows) or sent another range
                if start is not None:
                    response.close()
                    response = None
                handle.seek(0)
                handle.truncate()
                offset = 0
        if response is None:
            response = self._open(url, "image")
        with response:
            return self._copy(response, url, handle, hasher=hasher, offset=offset)

    def _copy(self, response, url, handle, *, hasher, offset):
        total = _total(response)
        progress = Progress(safe_url(url), self.report, clock=self.clock)
        progress.begin(offset=offset, total=total)
        received = 0
        while True:
            data = self._read(response, url, "image", BLOCK, kept=True)
            if not data:
                break
            handle.write(data)
            hasher.update(data)
            received += len(data)
            progress.update(received)
        handle.flush()
        if total is not None and offset + received < total:
            raise GhostError(failure("download", "image", safe_url(url),
                                     "the connection ended after %d of %d bytes; the partial download is "
                                     "kept and the next run resumes it" % (offset + received, total)))
        progress.end(received)
        return received


def _cause(exc, timeout):
    if isinstance(exc, socket.timeout) or isinstance(getattr(exc, "reason", None), socket.timeout):
        return "no data for %s seconds (timeout)" % timeout
    if isinstance(exc, URLError):
        return str(exc.reason)
    return str(exc) or exc.__class__.__name__


def _status(response):
    return getattr(response, "status", None) or response.getcode()


def _total(response):
    """The size of the whole file from a response: Content-Range's total, else Content-Length."""
    if _status(response) == 206:
        match = _CONTENT_RANGE.match((response.headers.get("Content-Range") or "").strip())
        return int(match.group(3)) if match and match.group(3) != "*" else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _range_start(response):
    if _status(response) != 206:
        return None
    match = _CONTENT_RANGE.match((response.headers.get("Content-Range") or "").strip())
    return int(match.group(1)) if match else None


def _hash_file(handle, hasher):
    handle.seek(0)
    for block in iter(lambda: handle.read(BLOCK), b""):
        hasher.update(block)
    handle.seek(0, os.SEEK_END)


def hash_file(path, algorithm, *, report=None, clock=time.monotonic):
    """Hex digest of a file on the controller (an image given as a local file)."""
    hasher = hashlib.new(algorithm)
    progress = Progress(path, report, verbs=("hashing", "hashed"), clock=clock)
    try:
        with open(path, "rb") as handle:
            progress.begin(offset=0, total=os.fstat(handle.fileno()).st_size)
            done = 0
            for block in iter(lambda: handle.read(BLOCK), b""):
                hasher.update(block)
                done += len(block)
                progress.update(done)
        progress.end(done)
    except (IOError, OSError) as exc:
        raise GhostError(failure("read", "image file", path, exc.strerror or str(exc)))
    return hasher.hexdigest()


def _same_file(fd, path):
    try:
        other = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (other.st_dev, other.st_ino)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ImageCache:
    """Verified downloads in ``directory`` on the controller (see the module docstring)."""

    def __init__(self, directory, *, fetcher):
        self.directory = directory
        self.fetcher = fetcher

    def _shared(self, algorithm, digest):
        return os.path.join(self.directory, "%s-%s" % (algorithm, digest))

    def acquire(self, url, *, algorithm, digest):
        """(path of this run's verified copy, bytes downloaded now); release() it afterwards."""
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._sweep()
            return self._acquire(url, algorithm=algorithm, digest=digest)
        except OSError as exc:  # not writable, disk full: a local problem, named as such
            raise GhostError(failure("use", "download folder", self.directory, exc.strerror or str(exc)),
                             option="download_dir")

    def _acquire(self, url, *, algorithm, digest):
        shared = self._shared(algorithm, digest)
        part = shared + ".part"
        mine = "%s.%d.%s.use" % (shared, os.getpid(), uuid.uuid4().hex[:12])
        while True:
            if _link(shared, mine):
                return mine, 0
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _same_file(fd, part):
                    continue  # the run that held the lock finished (or dropped) this file
                received = self._download(url, fd, part, algorithm=algorithm, digest=digest)
                os.link(part, mine)
                os.replace(part, shared)
                return mine, received
            finally:
                os.close(fd)

    def _download(self, url, fd, part, *, algorithm, digest):
        hasher = hashlib.new(algorithm)
        with os.fdopen(os.dup(fd), "r+b") as handle:
            received = self.fetcher.download(url, handle, hasher=hasher)
            os.fsync(handle.fileno())
        actual = hasher.hexdigest()
        if actual != digest:
            os.unlink(part)
            raise GhostError(failure("verify", "image", safe_url(url),
                                     "checksum mismatch: the download is %s:%s, %s:%s was expected; it was "
                                     "deleted" % (algorithm, actual, algorithm, digest)))
        return received

    def release(self, mine):
        """Delete this run's link, and the verified file when no other run uses it."""
        match = _USE.match(os.path.basename(mine))
        _unlink(mine)
        if match:
            shared = os.path.join(os.path.dirname(mine), match.group("shared"))
            try:
                if os.stat(shared).st_nlink == 1:
                    _unlink(shared)
            except FileNotFoundError:
                pass

    def _sweep(self):
        """Delete the links of runs whose process is gone (killed before release)."""
        for entry in os.listdir(self.directory):
            match = _USE.match(entry)
            if match and not _alive(int(match.group("pid"))):
                _unlink(os.path.join(self.directory, entry))


def _link(source, target):
    try:
        os.link(source, target)
    except FileNotFoundError:
        return False
    return True


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
