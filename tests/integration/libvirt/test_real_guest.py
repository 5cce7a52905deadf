# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Linux guest booted through ghost.infra.libvirt_domain proves the NoCloud seed works.

tests/testbed/guest_image.sh builds (once, cached) a Debian bookworm root file system with
cloud-init. The module boots it with direct kernel boot under TCG (GHOST_LIBVIRT_GUEST_DOMAIN_TYPE:
this host's KVM cannot run a Linux kernel), a serial console written to a file and a cloud_init
seed with a host name, an SSH key and a write_files marker. A runcmd prints what the guest sees
to the serial port; cloud-init's final message gives the guest's uptime when it was done. The
guest has no network at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
GUEST_IMAGE_SH = os.path.join(COLLECTION, "tests", "testbed", "guest_image.sh")
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
BOOT_TIMEOUT = 600
RESULT = re.compile(r"GHOST-RESULT hostname=(\S*) key=(\S*) marker=(\S*) uptime=(\S*)")
FINAL = re.compile(r"Cloud-init v\. \S+ finished at .*\.\s+Up ([0-9.]+) seconds")

pytestmark = pytest.mark.timeout(1800)


def ed25519_public_key(comment):
    """A well-formed OpenSSH ed25519 public key (random, no private half needed)."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + secrets.token_bytes(32)
    return "ssh-ed25519 %s %s" % (base64.b64encode(blob).decode("ascii"), comment), blob


def build_image():
    proc = subprocess.run(["bash", GUEST_IMAGE_SH], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=1500, check=False)
    assert proc.returncode == 0, "guest_image.sh failed:\n%s" % proc.stderr[-3000:]
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def module(env, args, check=True):
    """Run ghost.infra.libvirt_domain through `ansible localhost -m`; returns its result."""
    proc = subprocess.run(
        [ANSIBLE, "localhost", "-m", "ghost.infra.libvirt_domain", "-a", json.dumps(args),
         "-e", "ansible_python_interpreter=%s" % sys.executable, "-o"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        timeout=900, check=False)
    out = proc.stdout
    match = re.search(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", out, re.S | re.M)
    assert match, out[-3000:]
    result = json.loads(match.group(2))
    if check:
        assert proc.returncode == 0, out[-3000:]
    return result


def test_cloud_init_applies_hostname_and_key(testbed, tmp_path):
    image = build_image()
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    name = "ghost-it-guest"
    hostname = "ghost-guest-%s" % secrets.token_hex(3)
    marker = secrets.token_hex(8)
    key, blob = ed25519_public_key("ghost@test")
    console = str(tmp_path / "console.log")
    args = {
        "name": name,
        "pool": testbed["GHOST_LIBVIRT_POOL"],
        "domain_type": testbed.get("GHOST_LIBVIRT_GUEST_DOMAIN_TYPE", "qemu"),
        "vcpus": 2,
        "memory_mb": 1024,
        "base_image": image["GUEST_IMAGE"],
        "kernel": image["GUEST_KERNEL"],
        "initrd": image["GUEST_INITRD"],
        "cmdline": "root=/dev/vda rw console=ttyS0",
        "console_log": console,
        "cloud_init": {
            "hostname": hostname,
            "user": "ghost",
            "ssh_authorized_keys": [key],
            "write_files": [{"path": "/var/lib/ghost-marker", "content": marker}],
            "runcmd": [
                "echo \"GHOST-RESULT hostname=$(hostname) "
                "key=$(cut -d' ' -f2 /home/ghost/.ssh/authorized_keys | head -n1) "
                "marker=$(cat /var/lib/ghost-marker) uptime=$(cut -d' ' -f1 /proc/uptime)\" > /dev/ttyS0",
            ],
        },
    }
    module(env, {"name": name, "state": "absent"})
    try:
        started = time.monotonic()
        result = module(env, args)
        assert result["changed"] is True
        assert result["domain"]["state"] == "running"
        assert result["domain"]["disks"][0]["backing"] == image["GUEST_IMAGE"]

        found = final = text = None
        while time.monotonic() - started < BOOT_TIMEOUT:
            try:
                with open(console, "r", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                text = ""
            found, final = RESULT.search(text), FINAL.search(text)
            if found and final:
                break
            time.sleep(1)
        wall = time.monotonic() - started
        assert found and final, "no cloud-init result on the serial console after %d s:\n%s" % (
            BOOT_TIMEOUT, (text or "")[-4000:])

        assert found.group(1) == hostname
        assert base64.b64decode(found.group(2)) == blob
        assert found.group(3) == marker
        # cloud-init read our seed from the virtio-scsi CD-ROM, not DataSourceNone.
        assert "DataSourceNoCloud [seed=/dev/sr0]" in final.group(0)
        uptime = float(final.group(1))
        print("\nreal guest: cloud-init done %.1f s after kernel start (guest uptime), %.1f s wall "
              "from the module call to the console line (TCG, %s)" % (uptime, wall, args["domain_type"]))

        again = module(env, args)
        assert again["changed"] is False
    finally:
        module(env, {"name": name, "state": "absent"}, check=False)
