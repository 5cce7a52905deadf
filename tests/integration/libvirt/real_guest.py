# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the real-guest tests: the Debian guest image, keys, and the serial console.

tests/testbed/guest_image.sh builds (once, cached) the guest; the tests boot it with
ghost.infra.libvirt_domain (direct kernel boot, TCG, serial console to a file) and read what the
guest prints there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import secrets
import struct
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
GUEST_IMAGE_SH = os.path.join(COLLECTION, "tests", "testbed", "guest_image.sh")
BOOT_TIMEOUT = 900  # TCG on a loaded machine: cloud-init can take minutes
# cloud-init's last line on the console, with the guest's uptime when it was done.
FINAL = re.compile(r"Cloud-init v\. \S+ finished at .*\.\s+Up ([0-9.]+) seconds")
# ``quiet``: the kernel's and systemd's messages on the serial console cost seconds under TCG.
# ``ipv6.disable=1``: the test networks are IPv4 only; with IPv6 on, systemd-networkd keeps a
# link with a static IPv4 address "configuring" until its router solicitations time out (3 x 4 s),
# and network-online.target (so cloud-init's network stage) waits for it.
CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet ipv6.disable=1"


def ed25519_public_key(comment):
    """A well-formed OpenSSH ed25519 public key (random, no private half needed) and its blob."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + secrets.token_bytes(32)
    return "ssh-ed25519 %s %s" % (base64.b64encode(blob).decode("ascii"), comment), blob


def build_image():
    """{GUEST_IMAGE, GUEST_KERNEL, GUEST_INITRD}: paths of the cached guest (built if missing)."""
    proc = subprocess.run(["bash", GUEST_IMAGE_SH], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=1500, check=False)
    assert proc.returncode == 0, "guest_image.sh failed:\n%s" % proc.stderr[-3000:]
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def boot_args(testbed, image, *, name, console, cmdline=""):
    """The libvirt_domain options that boot the guest image (no NIC, no seed yet)."""
    return {
        "name": name,
        "pool": testbed["GHOST_LIBVIRT_POOL"],
        "domain_type": testbed.get("GHOST_LIBVIRT_GUEST_DOMAIN_TYPE", "qemu"),
        "vcpus": 1,
        "memory_mb": 1024,
        "base_image": image["GUEST_IMAGE"],
        "kernel": image["GUEST_KERNEL"],
        "initrd": image["GUEST_INITRD"],
        "cmdline": CMDLINE + cmdline,
        "console_log": console,
    }


def read_console(path):
    try:
        with open(path, "r", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def wait_console(path, pattern, *, count=1, timeout=BOOT_TIMEOUT, what="the guest"):
    """The console text once ``pattern`` matched ``count`` times; fails with the console's
    tail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        text = read_console(path)
        if len(pattern.findall(text)) >= count:
            return text
        if time.monotonic() >= deadline:
            raise AssertionError("%s: %r seen %d of %d times on the serial console after %d s:\n%s" % (
                what, pattern.pattern, len(pattern.findall(text)), count, timeout, text[-4000:]))
        time.sleep(1)


def sha256_file(path):
    import hashlib  # pylint: disable=import-outside-toplevel

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
