# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirtd restarted under ghost.infra.libvirt_domain: the client reconnects, re-runs converge.

libvirtd is stopped with SIGTERM (its domains keep running, as on a package upgrade) and
brought back by the testbed's own ``python -m testbed up``. Meanwhile a LibvirtClient that was
open before the restart reads again: it must wait for the daemon and reconnect by itself. Then
the module runs again and finds everything as it left it, and can still change it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.client import LibvirtClient

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
NAME = "ghost-it-fault"

pytestmark = pytest.mark.timeout(1800)


def module(env, args, check=True):
    proc = subprocess.run(
        [ANSIBLE, "localhost", "-m", "ghost.infra.libvirt_domain", "-a", json.dumps(args),
         "-e", "ansible_python_interpreter=%s" % sys.executable, "-o"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        timeout=600, check=False)
    match = re.search(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", proc.stdout, re.S | re.M)
    assert match, proc.stdout[-3000:]
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads(match.group(2))


def libvirtd_pid(env):
    """The running libvirtd: the testbed's pid file, else libvirtd's default one."""
    candidates = [os.path.join(env.get("GHOST_TESTBED_DIR", ""), "run", "libvirtd.pid"), "/var/run/libvirtd.pid",
                  "/run/libvirtd.pid"]
    for path in candidates:
        try:
            with open(path) as handle:
                pid = int(handle.read().split()[0])
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                if b"libvirtd" in handle.read():
                    return pid
        except (OSError, ValueError, IndexError):
            continue
    pytest.fail("cannot find the pid of libvirtd (looked in %s)" % ", ".join(candidates))
    return None


def wait_gone(pid, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.1)
    pytest.fail("libvirtd %d did not exit after SIGTERM" % pid)


def test_restart_between_runs(testbed, testbed_control, tmp_path):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    args = {"name": NAME, "pool": testbed["GHOST_LIBVIRT_POOL"], "base_image": testbed["GHOST_BASE_IMAGE"],
            "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], "memory_mb": 64,
            "cloud_init": {"hostname": "fault"}}
    module(env, {"name": NAME, "state": "absent"})
    try:
        first = module(env, args)
        assert first["changed"] and first["domain"]["state"] == "running"

        client = LibvirtClient(testbed["LIBVIRT_DEFAULT_URI"], connect_timeout=900).open()
        before = client.domain_xml(NAME, inactive=True)

        pid = libvirtd_pid(testbed)
        os.kill(pid, signal.SIGTERM)
        wait_gone(pid)

        up = {}

        def bring_back():
            time.sleep(2)  # the client must really wait for a missing daemon
            up["proc"] = testbed_control.run("up", timeout=1200)

        thread = threading.Thread(target=bring_back)
        thread.start()
        try:
            after = client.domain_xml(NAME, inactive=True)
        finally:
            thread.join()
            client.close()
        assert up["proc"].returncode == 0, (up["proc"].stdout + up["proc"].stderr)[-3000:]
        assert client.reconnects == 1
        assert after == before
        assert libvirtd_pid(testbed) != pid

        again = module(env, args)
        assert again["changed"] is False, again["actions"]
        assert again["domain"] == first["domain"]

        stopped = module(env, dict(args, state="stopped", shutdown_timeout=2, force=True))
        assert stopped["changed"] and stopped["domain"]["state"] == "stopped"
    finally:
        gone = module(env, {"name": NAME, "state": "absent"}, check=False)
        assert gone.get("failed") is not True, gone
