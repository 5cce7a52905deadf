# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults under libvirt_domain, on a libvirtd of the test's own (fault_helpers.PrivateLibvirtd;
the testbed's libvirtd is shared and never touched): a clear error or a finished create the
first time, then a re-run that converges with one domain and exactly its two volumes.

- libvirtd SIGKILLed while the create is under way (frozen the moment the domain's overlay
  appears, so the kill lands mid-task), and started again;
- ansible-playbook SIGKILLed at the same moment: the re-run adopts the volumes it left.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time

import pytest
from fault_helpers import Playbook, PrivateLibvirtd, no_traceback, task_result, wait_for
from secret_scan import Scanner, Secrets

pytestmark = pytest.mark.timeout(900)
PASSWORD_HASH = "$6$faultlv$Q2xvdWRJbml0SGFzaEZvckZhdWx0VGVzdHM"


@pytest.fixture(scope="module")
def libvirtd(testbed, tmp_path_factory):
    daemon = PrivateLibvirtd(tmp_path_factory.mktemp("libvirtd")).prepare()
    try:
        daemon.start()
        daemon.base_image = daemon.make_pool()
        yield daemon
    finally:
        daemon.close()


def task(daemon, name):
    return """\
        - name: libvirt_domain
          ghost.infra.libvirt_domain:
            uri: "%s"
            name: %s
            pool: %s
            base_image: %s
            domain_type: qemu
            memory_mb: 64
            state: running
            cloud_init: {hostname: %s, password_hash: '%s'}
        """ % (daemon.uri, name, daemon.pool, daemon.base_image, name, PASSWORD_HASH)


def overlay_appeared(daemon, name):
    return any(entry.startswith(name) for entry in os.listdir(daemon.pool_dir))


def own_volumes(daemon, name):
    return [v for v in daemon.volumes() if v.startswith(name)]


def converged(daemon, tmp_path, name, scan):
    play = Playbook(tmp_path, task(daemon, name), name="rerun")
    _seconds, again, out = play.run()
    scan.text("the re-run", out)
    assert again is not None and not again.get("failed"), out[-3000:]
    assert daemon.domains().count(name) == 1, daemon.domains()
    volumes = own_volumes(daemon, name)
    # Its qcow2 overlay and its NoCloud seed: nothing duplicated, nothing orphaned.
    assert len(volumes) == 2, volumes
    assert daemon.virsh("domstate", name).strip() == "running"
    return again


def scanner():
    return Scanner(Secrets().add("the cloud-init password hash", PASSWORD_HASH))


def test_libvirtd_killed_during_create(libvirtd, tmp_path):
    name = "fault-lv-daemon"
    play = Playbook(tmp_path, task(libvirtd, name)).start()
    wait_for("the overlay of %s" % name, lambda: overlay_appeared(libvirtd, name), timeout=300, interval=0.02)
    libvirtd.freeze()
    was_running = play.proc.poll() is None
    libvirtd.kill()
    # Back a little later, as a supervisor would bring it (the module waits up to 30 s for it).
    restart = threading.Timer(3, libvirtd.start)
    restart.start()
    out, _err = play.proc.communicate(timeout=600)
    restart.join()
    assert was_running, "the create ended before the fault:\n%s" % out[-3000:]

    first = task_result(out)
    assert first is not None, out[-3000:]
    assert not no_traceback(first, out), no_traceback(first, out)
    if first.get("failed"):
        assert "libvirt" in first["msg"] and name in first["msg"], first["msg"]
    scan = scanner()
    scan.text("the first run", out)
    converged(libvirtd, tmp_path, name, scan)
    scan.assert_clean("libvirt_domain after libvirtd was killed")


def test_playbook_killed_during_create(libvirtd, tmp_path):
    name = "fault-lv-killed"
    play = Playbook(tmp_path, task(libvirtd, name)).start()
    wait_for("the overlay of %s" % name, lambda: overlay_appeared(libvirtd, name), timeout=300, interval=0.02)
    out = play.kill()
    assert play.proc.returncode == -9
    time.sleep(1)
    left = own_volumes(libvirtd, name)
    assert left, "the killed run left nothing to adopt"
    scan = scanner()
    scan.text("the killed run", out)
    converged(libvirtd, tmp_path, name, scan)
    scan.assert_clean("libvirt_domain after a SIGKILL")
