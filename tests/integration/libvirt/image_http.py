# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small HTTP server on 127.0.0.1 for the libvirt_image tests, in a thread of the test process.

Each served path has a mode: ``range`` (honours ``Range: bytes=N-``/``N-M``, 416 past the end),
``norange`` (ignores Range, as many servers do), ``truncate-once`` (the first GET announces the
whole Content-Length, sends half and closes; later GETs behave as ``range``) and ``stall``
(headers and 64 KiB, then nothing until the server closes). Unknown paths answer 404. Every
request is recorded as ``(path, Range header or None)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("range", "norange", "truncate-once", "stall")
STALL_BYTES = 64 * 1024


class ImageServer:

    def __init__(self):
        self.files = {}
        self.modes = {}
        self.requests = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="image-http", daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.httpd.server_address[1]

    def add(self, path, data, mode="range"):
        assert mode in MODES
        self.files[path] = data
        self.modes[path] = mode
        return self.url(path)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def hits(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r[0] == path]

    def close(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args):  # keep the test output clean
            pass

        def do_GET(self):  # noqa: N802 (the http.server API)
            path = self.path
            wanted = self.headers.get("Range")
            with server.lock:
                first = not any(r[0] == path for r in server.requests)
                server.requests.append((path, wanted))
            data = server.files.get(path)
            if data is None:
                self._reply(404, b"not found\n")
                return
            mode = server.modes[path]
            if mode == "stall":
                self._head(200, len(data))
                self.wfile.write(data[:STALL_BYTES])
                self.wfile.flush()
                server.released.wait(300)
                self.close_connection = True
                return
            if mode == "truncate-once" and first:
                self._head(200, len(data))
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            match = re.match(r"^bytes=(\d+)-(\d*)$", wanted or "")
            if mode == "norange" or not match:
                self._reply(200, data)
                return
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
            if start >= len(data):
                self._reply(416, b"", {"Content-Range": "bytes */%d" % len(data)})
                return
            self._reply(206, data[start:end + 1], {"Content-Range": "bytes %d-%d/%d" % (start, end, len(data))})

        def _head(self, status, length, extra=None):
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()

        def _reply(self, status, body, extra=None):
            self._head(status, len(body), extra)
            self.wfile.write(body)

    return Handler
