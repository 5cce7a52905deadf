# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An HTTPS reverse proxy of our own in front of a Kubernetes API server: counts every request
and can answer some itself (a 409 Conflict once on the next PUT/PATCH, ...).

It ends TLS with a self-signed certificate for 127.0.0.1 (openssl, made once per proxy) and
forwards each request, headers (the bearer token) and body as they are, to the real API server
over TLS; responses, watch streams included, are copied back as they come. ``kubeconfig()``
writes a copy of a kubeconfig that points at the proxy (insecure-skip-tls-verify: only this
proxy's own certificate is skipped; the hop to the API server verifies nothing either, it is on
127.0.0.1). Used by the fault tests (409s, counting) and by benchmarks/kubevirt_snapshot_restore.py
(API calls per task).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import urllib.parse

import yaml

Request = collections.namedtuple("Request", "method path query status")
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"}


def self_signed(folder):
    cert, key = os.path.join(folder, "proxy.crt"), os.path.join(folder, "proxy.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass  # quiet: the proxy's callers read ``requests``

    def _any(self):
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        parsed = urllib.parse.urlsplit(self.path)
        canned = proxy.intercept(self.command, parsed.path, parsed.query, body)
        if canned is not None:
            status, payload = canned
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            proxy.record(Request(self.command, parsed.path, parsed.query, status))
            self.close_connection = True
            return
        upstream = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=proxy.upstream_timeout,
                                               context=proxy.upstream_context)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            proxy.record(Request(self.command, parsed.path, parsed.query, response.status))
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in HOP_HEADERS and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            pass  # the client or the API server went away: so does this exchange
        finally:
            upstream.close()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any  # noqa: N815  (the handler's names)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class ApiProxy:
    """``with ApiProxy("https://127.0.0.1:16443") as proxy:`` - ``proxy.url``, ``proxy.requests``,
    ``proxy.fail_next(method, status, count=1, path_contains="")``, ``proxy.kubeconfig(src, dest)``."""

    def __init__(self, upstream, *, upstream_timeout=120):
        parsed = urllib.parse.urlsplit(upstream)
        self.host, self.port = parsed.hostname, parsed.port or 443
        self.upstream_timeout = upstream_timeout
        self.upstream_context = ssl._create_unverified_context()  # 127.0.0.1 only
        self.requests = []
        self.rules = []
        self.lock = threading.Lock()
        self.folder = tempfile.mkdtemp(prefix="apiproxy-")
        self.server = None
        self.thread = None
        self.url = None

    def __enter__(self):
        cert, key = self_signed(self.folder)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="apiproxy", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return False

    def record(self, request):
        with self.lock:
            self.requests.append(request)

    def take(self):
        """The requests since the last take()."""
        with self.lock:
            taken, self.requests = self.requests, []
        return taken

    def fail_next(self, methods, status, *, count=1, path_contains="", reason="injected by the test's proxy"):
        """Answer the next ``count`` requests whose method is in ``methods`` (and whose path holds
        ``path_contains``) with ``status`` and a Kubernetes Status body, without forwarding them."""
        with self.lock:
            self.rules.append({"methods": set(methods), "status": status, "left": count, "path": path_contains,
                               "reason": reason, "fired": 0})

    def fired(self):
        with self.lock:
            return sum(rule["fired"] for rule in self.rules)

    def intercept(self, method, path, _query, _body):
        with self.lock:
            for rule in self.rules:
                if rule["left"] and method in rule["methods"] and rule["path"] in path:
                    rule["left"] -= 1
                    rule["fired"] += 1
                    return rule["status"], _status(rule["status"], rule["reason"])
        return None

    def kubeconfig(self, source, dest):
        """Write ``dest``: the kubeconfig ``source`` with every cluster pointing at the proxy."""
        with open(source) as handle:
            config = yaml.safe_load(handle)
        for cluster in config.get("clusters") or []:
            data = cluster["cluster"]
            data["server"] = self.url
            data.pop("certificate-authority-data", None)
            data.pop("certificate-authority", None)
            data["insecure-skip-tls-verify"] = True
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config, handle)
        return dest


def _status(code, reason):
    names = {409: "Conflict", 500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Operation cannot be fulfilled: %s" % reason if code == 409 else reason,
            "reason": names.get(code, "InternalError"), "code": code}


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
