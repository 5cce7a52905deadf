# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the libvirt tests: ``libvirt_domain`` runs the module as Ansible does, and
``libvirt_events`` records what libvirtd reports as changed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import threading

import pytest

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")


@pytest.fixture
def libvirt_domain(testbed, tmp_path):
    """``run(args, check=True, check_mode=False)``: ghost.infra.libvirt_domain through
    ``ansible localhost -m``, its result dict with ``failed`` (plus ``_output``: what ansible
    printed, warnings included); ``check`` asserts that it did not fail."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))

    def run(args, *, check=True, check_mode=False, timeout=900):
        cmd = [ANSIBLE, "localhost", "-m", "ghost.infra.libvirt_domain", "-a", json.dumps(args),
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        if check_mode:
            cmd.append("--check")
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        match = re.search(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", proc.stdout, re.S | re.M)
        assert match, proc.stdout[-3000:]
        if check:
            assert proc.returncode == 0, proc.stdout[-3000:]
        result = json.loads(match.group(2))
        result["failed"] = match.group(1).startswith("FAILED") or result.get("failed") is True
        result["_output"] = proc.stdout
        return result

    return run


class Events:
    """libvirtd's storage pool and domain events, as (kind, name, detail) tuples."""

    def __init__(self, libvirt, uri):
        self.libvirt = libvirt
        self.conn = libvirt.open(uri)
        self.seen = []
        self.lock = threading.Lock()
        self.ids = []
        pool_ids = (("pool", libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE),
                    ("pool refresh", libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH))
        for kind, event in pool_ids:
            self.ids.append(("pool", self.conn.storagePoolEventRegisterAny(
                None, event, self._pool_callback(kind), None)))
        domain_ids = (("domain", libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE),
                      ("domain metadata", libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE))
        for kind, event in domain_ids:
            self.ids.append(("domain", self.conn.domainEventRegisterAny(
                None, event, self._domain_callback(kind), None)))

    def _add(self, item):
        with self.lock:
            self.seen.append(item)

    def _pool_callback(self, kind):
        return lambda _conn, pool, *rest: self._add((kind, pool.name(), rest[:-1]))

    def _domain_callback(self, kind):
        return lambda _conn, dom, *rest: self._add((kind, dom.name(), rest[:-1]))

    def take(self):
        """The events seen since the last take(), after libvirtd had a moment to send them."""
        # A round trip on the event connection: events queued before it are delivered first.
        self.conn.getLibVersion()
        threading.Event().wait(0.5)
        with self.lock:
            seen, self.seen = self.seen, []
        return seen

    def close(self):
        for kind, callback_id in self.ids:
            try:
                if kind == "pool":
                    self.conn.storagePoolEventDeregisterAny(callback_id)
                else:
                    self.conn.domainEventDeregisterAny(callback_id)
            except self.libvirt.libvirtError:
                pass
        self.conn.close()


_EVENT_LOOP = []


def _event_loop(libvirt):
    """libvirt's default event loop, run once per process in a daemon thread."""
    if not _EVENT_LOOP:
        libvirt.virEventRegisterDefaultImpl()

        def loop():
            while True:
                libvirt.virEventRunDefaultImpl()
        thread = threading.Thread(target=loop, name="libvirt-events", daemon=True)
        thread.start()
        _EVENT_LOOP.append(thread)


@pytest.fixture
def libvirt_events(testbed):
    """An Events recorder on the testbed's libvirtd."""
    import libvirt  # pylint: disable=import-outside-toplevel

    _event_loop(libvirt)
    events = Events(libvirt, testbed["LIBVIRT_DEFAULT_URI"])
    try:
        yield events
    finally:
        events.close()
