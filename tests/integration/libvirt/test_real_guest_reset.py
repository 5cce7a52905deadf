# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Golden reset of a real Debian guest: what the guest wrote is gone, the base image untouched.

The guest (tests/testbed/guest_image.sh, TCG, direct kernel boot) gets a seed whose ``bootcmd``
(every boot) prints the content of /var/lib/ghost-state on the serial console, and whose
``runcmd`` (once per instance, on the first boot of a disk) writes a fresh random value there
and prints it. So:

1. first boot: state absent, then runcmd writes value A;
2. a plain restart (stop, start): state A (the disk keeps what the guest wrote; runcmd does not
   run again);
3. ``reset_token`` changed: the overlay is recreated from the base image; the next boot finds
   no state (absent) and, on a disk that never booted, runcmd runs again and writes value B;
4. the same task again: no change, no boot.

The base image's SHA-256 is the same before and after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from real_guest import boot_args, build_image, read_console, sha256_file, wait_console

NAME = "ghost-it-reset"
BOOT = re.compile(r"GHOST-BOOT state=(\S+)")
WROTE = re.compile(r"GHOST-WROTE (\S+)")

pytestmark = pytest.mark.timeout(3600)


def test_reset_discards_what_the_guest_wrote(testbed, libvirt_domain, tmp_path):
    import libvirt  # pylint: disable=import-outside-toplevel

    image = build_image()
    base_before = sha256_file(image["GUEST_IMAGE"])
    console = str(tmp_path / "console.log")
    args = boot_args(testbed, image, name=NAME, console=console)
    args["interfaces"] = []
    args["cloud_init"] = {
        "hostname": "ghost-reset",
        "user_data": {"bootcmd": [
            "echo \"GHOST-BOOT state=$(cat /var/lib/ghost-state 2>/dev/null || echo absent)\" > /dev/ttyS0"]},
        "runcmd": [
            "cat /proc/sys/kernel/random/uuid > /var/lib/ghost-state && sync",
            "echo \"GHOST-WROTE $(cat /var/lib/ghost-state)\" > /dev/ttyS0",
        ],
    }
    args["reset_token"] = "golden-1"
    conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    libvirt_domain({"name": NAME, "state": "absent"})
    try:
        created = libvirt_domain(args)
        assert created["reset"] == {"token": "golden-1", "count": 0, "performed": False}
        uuid, disks = created["domain"]["uuid"], created["domain"]["disks"]
        text = wait_console(console, WROTE, what="first boot")
        assert BOOT.findall(text) == ["absent"]
        first = WROTE.findall(text)
        assert len(first) == 1

        # A plain restart keeps the disk: the state is there, runcmd does not run again.
        assert libvirt_domain({"name": NAME, "state": "stopped", "shutdown_timeout": 300, "force": True})["changed"]
        assert libvirt_domain({"name": NAME, "state": "running"})["changed"]
        text = wait_console(console, BOOT, count=2, what="restart")
        assert BOOT.findall(text) == ["absent", first[0]]
        overlay = conn.storageVolLookupByPath(created["domain"]["disks"][0]["path"])
        written = overlay.info()[2]

        # The reset: a new token; the disk is back to the base image.
        reset = libvirt_domain(dict(args, reset_token="golden-2"))
        assert reset["changed"] is True
        assert reset["reset"] == {"token": "golden-2", "count": 1, "performed": True}
        assert reset["actions"][:2] == ["power off for the reset",
                                        "reset: recreate volume %s/%s.qcow2 from %s"
                                        % (testbed["GHOST_LIBVIRT_POOL"], NAME, image["GUEST_IMAGE"])]
        assert reset["domain"]["uuid"] == uuid and reset["domain"]["disks"] == disks
        assert reset["domain"]["state"] == "running"
        overlay = conn.storageVolLookupByPath(created["domain"]["disks"][0]["path"])
        assert overlay.info()[2] < written, (overlay.info(), written)
        text = wait_console(console, WROTE, count=2, what="boot after the reset")
        assert BOOT.findall(text) == ["absent", first[0], "absent"]
        second = WROTE.findall(text)
        assert len(second) == 2 and second[1] != first[0]

        # The same task again: nothing to do, no further boot.
        again = libvirt_domain(dict(args, reset_token="golden-2"))
        assert again["changed"] is False and again["reset"]["performed"] is False
        assert len(BOOT.findall(read_console(console))) == 3
    finally:
        libvirt_domain({"name": NAME, "state": "absent"}, check=False)
        conn.close()
    assert sha256_file(image["GUEST_IMAGE"]) == base_before
