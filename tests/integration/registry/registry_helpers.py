# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the registry and workspace tests share: a controller of their own (HOME, temp folder)
that runs modules and playbooks, kubectl, snapshots of both stores, a black-holed listener."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time

BIN = os.path.dirname(sys.executable)
RESULT = re.compile(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", re.S | re.M)


class Controller:
    """One controller: a HOME and a temp folder of its own."""

    def __init__(self, root):
        self.root = root
        self.home = os.path.join(root, "home")
        os.makedirs(self.home)
        self.env = dict(os.environ, HOME=self.home, ANSIBLE_NOCOLOR="1",
                        ANSIBLE_LOCAL_TEMP=os.path.join(root, "ansible-tmp"),
                        ANSIBLE_REMOTE_TEMP=os.path.join(root, "ansible-remote-tmp"),
                        ANSIBLE_RETRY_FILES_ENABLED="0", TMPDIR=os.path.join(root, "tmp"))
        os.makedirs(self.env["TMPDIR"])

    @property
    def store(self):
        return os.path.join(self.home, ".ghost", "clusters")

    def module(self, name, args, *, check_mode=False, diff=False, timeout=300):
        """The result of ``ghost.infra.<name>`` with ``failed``, ``_output`` and ``_wall`` (seconds)."""
        cmd = [os.path.join(BIN, "ansible"), "localhost", "-m", "ghost.infra." + name,
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        cmd += ["-a", json.dumps(args)] if args else []  # "{}" would be a raw parameter
        cmd += ["--check"] if check_mode else []
        cmd += ["--diff"] if diff else []
        started = time.monotonic()
        proc = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        wall = time.monotonic() - started
        match = RESULT.search(proc.stdout)
        assert match, proc.stdout[-3000:]
        result = json.loads(match.group(2))
        result["failed"] = match.group(1).startswith("FAILED") or result.get("failed") is True
        result["_output"] = proc.stdout
        result["_wall"] = wall
        return result

    def playbook(self, text, *, extra_vars=None, verbosity="-v", timeout=600):
        """``ansible-playbook`` of ``text``; returns (returncode, output)."""
        path = os.path.join(self.root, "play-%s.yml" % secrets.token_hex(3))
        with open(path, "w") as handle:
            handle.write(text)
        cmd = [os.path.join(BIN, "ansible-playbook"), verbosity, "-i", "localhost,", path,
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        for key, value in (extra_vars or {}).items():
            cmd += ["-e", "%s=%s" % (key, value)]
        proc = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        return proc.returncode, proc.stdout


def kubectl(*args, check=True):
    return subprocess.run(["kubectl"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=check, timeout=120)


def secrets_in(namespace):
    """The registry Secrets of ``namespace``: name -> (resourceVersion, annotations, data), or None
    when the namespace does not exist."""
    proc = kubectl("get", "secrets", "-n", namespace, "-l", "ghost.infra/registry=true", "-o", "json", check=False)
    if proc.returncode != 0:
        assert "NotFound" in proc.stderr or "not found" in proc.stderr, proc.stderr
        return None
    items = json.loads(proc.stdout)["items"]
    if not items and kubectl("get", "namespace", namespace, check=False).returncode != 0:
        return None
    return {s["metadata"]["name"]: (s["metadata"]["resourceVersion"], s["metadata"].get("annotations"), s.get("data"))
            for s in items}


def folder_bytes(folder):
    """Every file under ``folder``: path -> (bytes, mode); None when the folder does not exist."""
    if not os.path.isdir(folder):
        return None
    out = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                out[path] = (handle.read(), os.stat(path).st_mode)
    return out


class BlackHole:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.closed = True
        for conn in self.held:
            conn.close()
        self.sock.close()
