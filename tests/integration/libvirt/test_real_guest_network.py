# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The real Debian guest, end to end through the collection's own modules, nothing set up by hand:

1. ghost.infra.libvirt_image imports the guest image over HTTP from 127.0.0.1 (a server in this
   test process), checks its SHA-256 and uploads it into the testbed's pool; a second run is
   served from the cache without a request;
2. ghost.infra.libvirt_network creates an isolated network (no forward) with a DHCP range;
3. ghost.infra.libvirt_domain boots the guest on it from the imported volume, with a seed that
   asks for DHCP, and waits: ``wait_for_ip`` (the lease dnsmasq gave) and ``wait_for:
   [cloud_init]`` (cloud-init's result.json read through the QEMU guest agent).

What the module returned is checked against what the guest printed on its serial console:
host name, SSH key, the write_files marker, and the address the guest itself has (the lease).
The guest boots under TCG (tests/testbed/guest_image.sh); everything stays on the bridge.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ipaddress
import re
import secrets
import time

import pytest

from adhoc import run_module
from image_http import ImageServer
from real_guest import BOOT_TIMEOUT, boot_args, build_image, ed25519_public_key, sha256_file, wait_console

NAME = "ghost-it-dhcp-guest"
VOLUME = "ghost-it-dhcp-base.qcow2"
NETWORK = "ghost-it-dhcp"
# The real-guest tests run one after another (tools/run-integration's waiting lane), so this
# test may take the 198.51.100.0/24 that test_real_guest.py uses, on a bridge of its own.
BRIDGE = "ghostit1"
HOST_IP = "198.51.100.1/24"
DHCP = {"start": "198.51.100.100", "end": "198.51.100.149"}
RESULT = re.compile(r"GHOST-RESULT hostname=(\S*) key=(\S*) marker=(\S*)")
ADDRESSES = re.compile(r"GHOST-NET (.*)")

pytestmark = pytest.mark.timeout(2400)


def _in_range(address):
    value = ipaddress.ip_address(address)
    return ipaddress.ip_address(DHCP["start"]) <= value <= ipaddress.ip_address(DHCP["end"])


def test_imported_image_boots_on_a_dhcp_network_and_reports_its_lease(testbed, libvirt_domain, tmp_path):
    image = build_image()
    digest = sha256_file(image["GUEST_IMAGE"])
    pool = testbed["GHOST_LIBVIRT_POOL"]
    console = str(tmp_path / "console.log")
    hostname = "ghost-dhcp-%s" % secrets.token_hex(3)
    marker = secrets.token_hex(8)
    key, blob = ed25519_public_key("ghost@dhcp")
    image_args = {"checksum": "sha256:" + digest, "pool": pool, "name": VOLUME,
                  "download_dir": str(tmp_path / "dl")}
    network_args = {"name": NETWORK, "mode": "isolated", "bridge": BRIDGE, "ip": HOST_IP, "dhcp": DHCP,
                    "autostart": False}

    def run(module, args, **kwargs):
        return run_module(module, args, tmp_path=tmp_path, timeout=BOOT_TIMEOUT + 300, **kwargs)

    server = ImageServer()
    libvirt_domain({"name": NAME, "state": "absent"})  # left by an interrupted run
    try:
        with open(image["GUEST_IMAGE"], "rb") as handle:
            url = server.add("/bookworm/guest.qcow2", handle.read())

        imported = run("libvirt_image", dict(image_args, src=url))
        assert imported["changed"] is True and imported["cached"] is False
        assert imported["volume"]["name"] == VOLUME and imported["volume"]["pool"] == pool
        cached = run("libvirt_image", dict(image_args, src=url))
        assert cached["changed"] is False and cached["cached"] is True
        assert [hit[0] for hit in server.hits()] == ["/bookworm/guest.qcow2"], "the cache costs no request"

        network = run("libvirt_network", dict(network_args, state="started"))
        assert network["changed"] is True and network["network"]["state"] == "started", network
        assert network["network"]["active"] is True

        args = boot_args(testbed, image, name=NAME, console=console)
        args.update({
            "base_image": "%s/%s" % (pool, VOLUME),
            "interfaces": [{"network": NETWORK}],
            "cloud_init": {
                "hostname": hostname,
                "user": "ghost",
                "ssh_authorized_keys": [key],
                "write_files": [{"path": "/var/lib/ghost-marker", "content": marker}],
                "runcmd": [
                    "echo \"GHOST-NET $(ip -4 -br addr show scope global | tr -s ' ' | tr '\\n' ';')\" > /dev/ttyS0",
                    "echo \"GHOST-RESULT hostname=$(hostname) "
                    "key=$(cut -d' ' -f2 /home/ghost/.ssh/authorized_keys | head -n1) "
                    "marker=$(cat /var/lib/ghost-marker)\" > /dev/ttyS0",
                ],
            },
            "wait_for_ip": True,
            "ip_source": "lease",
            "wait_for": ["cloud_init"],
            "wait_timeout": BOOT_TIMEOUT,
        })
        started = time.monotonic()
        created = libvirt_domain(args, timeout=2 * BOOT_TIMEOUT + 300)
        waited = time.monotonic() - started
        assert created["changed"] is True and created["domain"]["state"] == "running"
        assert created["domain"]["disks"][0]["backing"] == imported["volume"]["path"]
        nic = created["domain"]["interfaces"][0]
        assert nic["network"] == NETWORK
        assert len(nic["addresses"]) == 1 and _in_range(nic["addresses"][0]), nic
        lease = nic["addresses"][0]
        assert created["cloud_init"]["status"] == "done", created["cloud_init"]
        assert created["cloud_init"]["errors"] == []
        assert created["cloud_init"]["datasource"].startswith("DataSourceNoCloud"), created["cloud_init"]

        # The guest's own view: the seed's host name, key and marker, and the leased address.
        text = wait_console(console, RESULT, what="the DHCP guest")
        found = RESULT.search(text)
        assert found.group(1) == hostname
        assert base64.b64decode(found.group(2)) == blob
        assert found.group(3) == marker
        addresses = [line.split() for line in ADDRESSES.search(text).group(1).split(";") if line.strip()]
        assert [a[2] for a in addresses] == ["%s/24" % lease], addresses
        print("\nreal guest on a DHCP network: lease %s and cloud-init done %.1f s after the module call (TCG)"
              % (lease, waited))

        again = libvirt_domain(dict(args, wait_timeout=60))
        assert again["changed"] is False and again["domain"]["interfaces"][0]["addresses"] == [lease]
    finally:
        libvirt_domain({"name": NAME, "state": "absent"}, check=False)
        run_module("libvirt_network", {"name": NETWORK, "state": "absent"}, tmp_path=tmp_path, check=False)
        run_module("libvirt_image", dict(image_args, state="absent"), tmp_path=tmp_path, check=False)
        server.close()
