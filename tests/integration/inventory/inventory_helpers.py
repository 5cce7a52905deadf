# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the inventory plugin tests: a vSphere simulator with -trace, free ports, the
group tree of an ``ansible-inventory --list`` answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time

import pytest

USER = "inventory@vsphere.local"
TEMPLATE = "ubuntu-22.04-template"


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class TracedSimulator:
    """A vcsim of our own with -trace (each SOAP request and answer on its stderr)."""

    def __init__(self, extra_args):
        cache = os.environ.get("GHOST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ghost-infra")
        self.binary = os.path.join(cache, "bin", "vcsim")
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.args = [self.binary, "-l", "127.0.0.1:%d" % self.port, "-username", USER, "-password", self.password,
                     "-template", TEMPLATE, "-trace"] + list(extra_args)
        self.proc = None
        self.log = None

    def start(self, timeout=120):
        if not os.access(self.binary, os.X_OK):
            pytest.fail("no vcsim at %s: the testbed builds it (make testbed-up)" % self.binary, pytrace=False)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - the trace outlives this method; stop() closes it
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                pytest.fail("vcsim exited: %s" % self.log.read().decode("utf-8", "replace")[-2000:], pytrace=False)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("vcsim did not listen within %d s" % timeout, pytrace=False)
                time.sleep(0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()

    def env(self):
        return {"VMWARE_HOST": "127.0.0.1", "VMWARE_PORT": str(self.port), "VMWARE_USER": USER,
                "VMWARE_PASSWORD": self.password, "VMWARE_VALIDATE_CERTS": "false"}

    def mark(self):
        """Where the trace is now; ``calls_since(mark)`` lists the SOAP requests after it."""
        time.sleep(0.3)  # the simulator writes a request's trace after answering it
        self.log.seek(0, os.SEEK_END)
        return self.log.tell()

    def calls_since(self, mark):
        time.sleep(0.3)
        self.log.seek(mark)
        text = self.log.read().decode("utf-8", "replace")
        return [m for m in re.findall(r'<([A-Za-z0-9_]+) xmlns="urn:vim25"', text) if not m.endswith("Response")]


def tree(listing):
    """{group: sorted hosts} of an ``ansible-inventory --list`` answer (groups with hosts)."""
    out = {}
    for group, data in listing.items():
        if isinstance(data, dict) and data.get("hosts"):
            out[group] = sorted(data["hosts"])
    return out
