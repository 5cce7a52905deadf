# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared parts of the vSphere benchmarks: a private vcsim and timed ansible-playbook runs.

Each benchmark starts its OWN simulator (the testbed's vcsim binary, $GHOST_CACHE/bin/vcsim)
on a free 127.0.0.1 port with a random password and stops it by PID when done. Playbooks run
with the venv's ansible-playbook against a staged copy of the collection (tools/in-stage) and the
community.vmware copy the `ansible` package ships.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pathlib
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
USER = "bench@vsphere.local"


def vcsim_binary():
    cache = os.environ.get("GHOST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ghost-infra")
    binary = os.path.join(cache, "bin", "vcsim")
    if not os.access(binary, os.X_OK):
        sys.exit("no vcsim at %s: run `make testbed-up` (it builds the simulator) first" % binary)
    return binary


def collections_path():
    path = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / "build" / "collections")
    if not (pathlib.Path(path) / "ansible_collections" / "ghost" / "infra").is_dir():
        sys.exit("the collection is not staged at %s: run it through tools/in-stage (see benchmarks/README.md)" % path)
    return path


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Simulator:
    """A vcsim process of our own: ``with Simulator(args) as sim:`` (sim.port, sim.password)."""

    def __init__(self, inventory_args, *, delay_ms=0, trace=False, start_timeout=1200):
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.args = [vcsim_binary(), "-l", "127.0.0.1:%d" % self.port, "-username", USER,
                     "-password", self.password] + list(inventory_args)
        if delay_ms:
            self.args += ["-delay", str(int(delay_ms))]
        if trace:
            self.args.append("-trace")  # every SOAP request and answer on stderr: calls can be counted
        self.start_timeout = start_timeout
        self.proc = None
        self.log = None

    def __enter__(self):
        self.log = tempfile.TemporaryFile()
        started = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                sys.exit("vcsim exited: %s" % self.log.read().decode("utf-8", "replace")[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() - started > self.start_timeout:
                    self.__exit__()
                    sys.exit("vcsim did not listen within %d s" % self.start_timeout)
                time.sleep(0.5)
        self.startup = time.monotonic() - started
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()
        return False

    def soap_calls(self, func, *args):
        """Run ``func(*args)`` and return the SOAP methods the simulator received meanwhile
        (needs ``trace=True``), as {method: count}."""
        self.log.seek(0, os.SEEK_END)
        start = self.log.tell()
        func(*args)
        time.sleep(0.5)
        self.log.seek(start)
        text = self.log.read().decode("utf-8", "replace")
        calls = {}
        for method in re.findall(r'<([A-Za-z0-9_]+) xmlns="urn:vim25"', text):
            if not method.endswith("Response"):
                calls[method] = calls.get(method, 0) + 1
        return calls

    def env(self):
        return {"VMWARE_HOST": "127.0.0.1", "VMWARE_PORT": str(self.port), "VMWARE_USER": USER,
                "VMWARE_PASSWORD": self.password, "VMWARE_VALIDATE_CERTS": "false"}


def run_playbook(text, env_extra, *, timeout=3600):
    """Run a playbook (YAML text); return its wall time in seconds. Fails loudly."""
    with tempfile.TemporaryDirectory() as tmp:
        play = os.path.join(tmp, "play.yml")
        with open(play, "w") as handle:
            handle.write(textwrap.dedent(text))
        env = dict(os.environ)
        env.update(env_extra)
        env.update({"ANSIBLE_COLLECTIONS_PATH": collections_path(), "ANSIBLE_NOCOLOR": "1",
                    "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "0"})
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", play,
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit("playbook failed:\n%s" % "\n".join(proc.stdout.splitlines()[-40:]))
    return elapsed


def module_path(fqcn):
    """The file of a collection module, from the staged ghost.infra or the `ansible` package."""
    namespace, name, module = fqcn.split(".")
    for root in [collections_path()] + [os.path.dirname(p) for p in _collection_roots()]:
        path = os.path.join(root, "ansible_collections", namespace, name, "plugins", "modules", module + ".py")
        if os.path.isfile(path):
            return root, path
    sys.exit("module %s not found" % fqcn)


def _collection_roots():
    import ansible_collections

    return list(ansible_collections.__path__)


def run_module(fqcn, args, count, env_extra):
    """Run a module's own process ``count`` times, as Ansible does on the target (Python start,
    imports, argument parsing, the work); return the total wall time. Every run must succeed
    and report no change."""
    root, path = module_path(fqcn)
    env = dict(os.environ)
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([root, collections_path()])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    try:
        started = time.monotonic()
        for _run in range(count):
            proc = subprocess.run([sys.executable, path, handle.name], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, timeout=600, check=False)
            result = json.loads(proc.stdout or "{}")
            if proc.returncode != 0 or result.get("failed") or result.get("changed"):
                sys.exit("%s did not run as a no-op: %s %s" % (fqcn, proc.stdout[-2000:], proc.stderr[-2000:]))
        return time.monotonic() - started
    finally:
        os.unlink(handle.name)


def best(samples):
    return min(samples), statistics.median(samples)


def report(title, rows, baseline=None):
    """Print ``rows`` [(label, [seconds])] and the ratios of the first row to the others."""
    print(title)
    for label, samples in rows:
        low, mid = best(samples)
        print("  %-44s best %8.2f s   median %8.2f s   (%d runs)" % (label, low, mid, len(samples)))
    if baseline is not None:
        print("  %-44s best %8.2f s" % ("baseline (same playbook, trivial module)", min(baseline)))
    ours = min(rows[0][1])
    for label, samples in rows[1:]:
        theirs = min(samples)
        line = "  ratio %s / %s: %.1fx (wall time)" % (label, rows[0][0], theirs / ours)
        if baseline is not None:
            base = min(baseline)
            if ours > base:
                line += ", %.1fx (without the playbook's own time)" % ((theirs - base) / (ours - base))
        print(line)
