# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one secret scanner of the integration tests: targets, molecule scenarios, fault and bad-input runs.

A test collects the secrets it knows (``Secrets``: the testbed's password and admin kubeconfig
credentials, a target's ``secrets`` file, values it generated) and asks ``Scanner`` to look for
them, and for any cluster credential by its shape (``CREDENTIALS``), in:

- text: stdout and stderr of ansible-playbook at ``-vvv``, result JSON;
- async job files: ``async_wrapper`` writes a job's result to ``~/.ansible_async/<jid>`` with the
  umask's mode (readable by others) and ``async_status`` returns it uncensored, so any file there
  counts, whatever its mode;
- files left world-readable in the test's temporary and HOME folders (a secret written 0644).

Findings name where and what kind, never the value: a failing test must not print the secret it
caught. Usage::

    scan = Scanner(Secrets.from_testbed(env).add("generated", token))
    scan.text("ansible-playbook -vvv", proc.stdout)
    scan.async_jobs(tmp_path / "async")
    scan.world_readable(tmp_path)
    scan.assert_clean("target esxi_vm")
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import pathlib
import re
import stat

import yaml

SECRET_ENV = ("VMWARE_PASSWORD",)
# Credentials of any cluster a test creates, e.g. a vcluster's kubeconfig: service-account tokens
# (JWTs), PEM blocks (keys, certificates) as text or base64 ("-----BEGIN" is "LS0tLS1CRUdJTi" in
# base64, what client-key-data and client-certificate-data hold), and the kubeconfig keys that
# carry client credentials.
CREDENTIALS = {
    "a bearer token": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."),
    "a PEM block": re.compile(r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE)-----"),
    "a base64 PEM block": re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{16,}"),
    "a kubeconfig client credential": re.compile(
        r"client-(key|certificate)-data[\"']?\s*[:=]\s*[\"']?(?!\*{8}|VALUE_SPECIFIED)[A-Za-z0-9+/=]{16,}"),
}
# Files larger than this are read only up to it (a disk image is no place for a leaked token
# that the rest of the scan would miss).
MAX_FILE_BYTES = 8 * 1024 * 1024

Finding = collections.namedtuple("Finding", "where what")


def credentials_in(text):
    """The kinds of cluster credential (CREDENTIALS) that ``text`` contains."""
    return [kind for kind, pattern in CREDENTIALS.items() if pattern.search(text)]


def kubeconfig_secrets(path):
    """Tokens, passwords and client keys of every user of the kubeconfig at ``path``."""
    if not path or not os.path.isfile(path):
        return []
    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    found = []
    for user in config.get("users") or []:
        for key in ("token", "password", "client-key-data"):
            value = (user.get("user") or {}).get(key)
            if value:
                found.append(value)
    return found


def secrets_file(path):
    """The lines of a ``secrets`` file (one string per line, ``#`` comments)."""
    path = pathlib.Path(path)
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


class Secrets:
    """Known secret strings, each with a label saying where it came from (labels get printed)."""

    def __init__(self):
        self.items = []

    def add(self, label, *values):
        for value in values:
            # Short strings would match by chance (and say nothing): a secret has some length.
            if value and len(str(value)) >= 6 and str(value) not in [v for _l, v in self.items]:
                self.items.append((label, str(value)))
        return self

    @classmethod
    def from_testbed(cls, env):
        """The testbed's own: the vSphere password and the admin kubeconfig's credentials."""
        secrets = cls()
        for name in SECRET_ENV:
            secrets.add(name, env.get(name))
        secrets.add("the admin kubeconfig", *kubeconfig_secrets(env.get("K8S_AUTH_KUBECONFIG")))
        return secrets

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


class Scanner:
    """Collects findings; ``assert_clean`` fails listing them (labels and places, no values)."""

    def __init__(self, secrets, *, patterns=True):
        self.secrets = secrets
        self.patterns = patterns
        self.findings = []
        self.scanned = []

    def _search(self, where, text):
        found = [Finding(where, "a secret (%s)" % label) for label, value in self.secrets if value in text]
        if self.patterns:
            found += [Finding(where, kind) for kind in credentials_in(text)]
        self.findings.extend(found)
        return found

    def text(self, where, text):
        """Look in ``text`` (output, result JSON)."""
        self.scanned.append(where)
        return self._search(where, text or "")

    def file(self, path, *, where=None):
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES)
        except OSError:
            return []  # gone meanwhile, or a socket: nothing to read
        self.scanned.append(str(path))
        return self._search(where or str(path), data.decode("utf-8", "replace"))

    def async_jobs(self, *folders, since=None):
        """Every file in the async job folders (``~/.ansible_async``, ANSIBLE_ASYNC_DIR), whatever
        its mode; with ``since`` (a time.time() value) only files changed since."""
        found = []
        for folder in folders:
            for path in _files(folder):
                if since is None or _mtime(path) >= since:
                    found += self.file(path, where="async job file %s" % path)
        return found

    def world_readable(self, *folders, exclude=()):
        """Files under ``folders`` that others may read (mode o+r) and hold a secret."""
        skip = {os.path.realpath(str(p)) for p in exclude}
        found = []
        for folder in folders:
            for path in _files(folder):
                if os.path.realpath(path) in skip:
                    continue
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    continue
                if stat.S_ISREG(mode) and mode & stat.S_IROTH:
                    found += self.file(path, where="world-readable file %s (mode %04o)" % (path, stat.S_IMODE(mode)))
        return found

    def problems(self):
        return sorted({"%s in %s" % (f.what, f.where) for f in self.findings})

    def assert_clean(self, what):
        problems = self.problems()
        assert not problems, "%s leaked %d time(s):\n  %s" % (what, len(problems), "\n  ".join(problems))


def _files(folder):
    folder = str(folder)
    if not os.path.isdir(folder):
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in files:
            yield os.path.join(root, name)


def _mtime(path):
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0
