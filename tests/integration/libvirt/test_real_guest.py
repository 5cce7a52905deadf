# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Linux guests booted through ghost.infra.libvirt_domain prove the NoCloud seed works.

tests/testbed/guest_image.sh builds (once, cached) a Debian bookworm root file system with
cloud-init and the network stack of Debian's cloud images (netplan.io, systemd-networkd). The
module boots it with direct kernel boot under TCG (GHOST_LIBVIRT_GUEST_DOMAIN_TYPE: this host's
KVM cannot run a Linux kernel), a serial console written to a file and a cloud_init seed with a
host name, an SSH key, a write_files marker and a static address. A runcmd prints what the guest
sees to the serial port; cloud-init's final message gives the guest's uptime when it was done.

Two guests boot at once from the image, each with one NIC on an isolated libvirt network the
test creates (no forwarding, no DHCP, no DNS: nothing leaves the machine): one as Debian's cloud
images run (cloud-init hands the network config to netplan), one with `ghost.renderer=networkd`
(cloud-init parses the config itself and renders it for networkd, as on distributions without
netplan; RHEL's sysconfig renderer goes through the same parser).

The kernel runs with net.ifnames=0, as in Debian's cloud images, so the NIC comes up as eth0: the
seed finds it by MAC. Its set-name (enp1s0) cannot rename it there, because systemd gives eth0
the altname enp1s0 and the kernel refuses a name that is taken ("File exists", a cloud-init
warning); the NIC is enp1s0 by that altname, and netplan (matching the MAC) and networkd
(matching the MAC and the name, which altnames satisfy) configure it all the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re
import secrets
import time

import pytest

from real_guest import BOOT_TIMEOUT, CMDLINE, FINAL, build_image, ed25519_public_key, read_console

RESULT = re.compile(r"GHOST-RESULT hostname=(\S*) key=(\S*) marker=(\S*) uptime=(\S*)")
LINKS = re.compile(r"GHOST-LINK (.*)")
ADDRESSES = re.compile(r"GHOST-NET (.*)")
ROUTE = re.compile(r"GHOST-ROUTE (.*)")
FILES = re.compile(r"GHOST-FILES (.*)")
# What cloud-init writes for each renderer: netplan's YAML, or networkd's own files.
RENDERED = {"netplan": "50-cloud-init.yaml", "networkd": "10-cloud-init-enp1s0.network"}
NETWORK = "ghost-it-isolated"
# An isolated network: no <forward>, no <dhcp>, DNS off (so libvirt starts no dnsmasq).
NETWORK_XML = """<network>
  <name>%s</name>
  <bridge name='ghostit0' stp='off'/>
  <dns enable='no'/>
  <ip address='198.51.100.1' prefix='24'/>
</network>""" % NETWORK

pytestmark = pytest.mark.timeout(1800)


@pytest.fixture
def isolated_network(testbed):
    """The isolated libvirt network NETWORK, created for the test and destroyed after it."""
    import libvirt  # pylint: disable=import-outside-toplevel

    conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    try:
        conn.networkLookupByName(NETWORK).destroy()  # left by an interrupted run
    except libvirt.libvirtError:
        pass
    network = conn.networkCreateXML(NETWORK_XML)
    try:
        yield NETWORK
    finally:
        network.destroy()
        conn.close()


def guest_links(text):
    """[{"name", "mac", "altnames"}] from `ip -o link show` lines joined by ";"."""
    links = []
    for line in text.split(";"):
        words = line.replace("\\", " ").split()
        if len(words) < 2 or "link/ether" not in words:
            continue
        links.append({"name": words[1].rstrip(":").split("@")[0],
                      "mac": words[words.index("link/ether") + 1],
                      "altnames": [words[i + 1] for i, word in enumerate(words[:-1]) if word == "altname"]})
    return links


def guest_args(testbed, image, network, *, name, address, cmdline, console):
    """The module options of one guest, and what it must report (hostname, key, marker)."""
    hostname = "ghost-guest-%s" % secrets.token_hex(3)
    marker = secrets.token_hex(8)
    key, blob = ed25519_public_key("ghost@test")
    args = {
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
        "interfaces": [{"network": network}],
        "cloud_init": {
            "hostname": hostname,
            "user": "ghost",
            "ssh_authorized_keys": [key],
            "ip": address,
            "gateway": "198.51.100.1",
            "write_files": [{"path": "/var/lib/ghost-marker", "content": marker}],
            "runcmd": [
                "echo \"GHOST-LINK $(ip -o link show | tr '\\n' ';')\" > /dev/ttyS0",
                "echo \"GHOST-NET $(ip -4 -br addr show scope global | tr -s ' ' | tr '\\n' ';')\" > /dev/ttyS0",
                "echo \"GHOST-ROUTE $(ip -4 route show default | tr '\\n' ';')\" > /dev/ttyS0",
                "echo \"GHOST-FILES $(ls /etc/netplan /etc/systemd/network | tr '\\n' ' ')\" > /dev/ttyS0",
                "echo \"GHOST-RESULT hostname=$(hostname) "
                "key=$(cut -d' ' -f2 /home/ghost/.ssh/authorized_keys | head -n1) "
                "marker=$(cat /var/lib/ghost-marker) uptime=$(cut -d' ' -f1 /proc/uptime)\" > /dev/ttyS0",
            ],
        },
    }
    return args, {"hostname": hostname, "marker": marker, "key": blob, "address": address}


def check_guest(text, *, mac, expect, renderer):
    """Assert what the guest printed on its console; returns cloud-init's uptime when done."""
    found, final = RESULT.search(text), FINAL.search(text)
    files = FILES.search(text).group(1).split()
    assert [name for name in RENDERED.values() if name in files] == [RENDERED[renderer]], files
    assert found.group(1) == expect["hostname"]
    assert base64.b64decode(found.group(2)) == expect["key"]
    assert found.group(3) == expect["marker"]
    # cloud-init read our seed from the virtio-scsi CD-ROM, not DataSourceNone.
    assert "DataSourceNoCloud [seed=/dev/sr0]" in final.group(0)

    # The NIC with the domain's MAC is enp1s0 (by name, or by altname when the kernel named it
    # eth0) and has the static address and the default route: `ip -o link`, `ip -4 -br addr`
    # and `ip -4 route show default` from the guest.
    links = guest_links(LINKS.search(text).group(1))
    nic = [link for link in links if link["mac"] == mac]
    assert len(nic) == 1, (mac, links)
    nic = nic[0]
    assert "enp1s0" in [nic["name"]] + nic["altnames"], nic
    addresses = [line.split() for line in ADDRESSES.search(text).group(1).split(";") if line.strip()]
    routes = [line.strip() for line in ROUTE.search(text).group(1).split(";") if line.strip()]
    assert addresses == [[nic["name"], "UP", expect["address"]]], (nic, addresses)
    assert len(routes) == 1 and routes[0].startswith("default via 198.51.100.1 dev %s " % nic["name"]), routes
    return float(final.group(1))


def test_cloud_init_applies_hostname_key_and_static_address(testbed, libvirt_domain, isolated_network,
                                                            tmp_path):
    image = build_image()
    guests = {}
    for renderer, name, address, cmdline in (("netplan", "ghost-it-guest", "198.51.100.10/24", ""),
                                             ("networkd", "ghost-it-guest-nd", "198.51.100.11/24",
                                              " ghost.renderer=networkd")):
        console = str(tmp_path / ("console-%s.log" % renderer))
        args, expect = guest_args(testbed, image, isolated_network, name=name, address=address,
                                  cmdline=cmdline, console=console)
        guests[renderer] = {"args": args, "expect": expect, "console": console}
        libvirt_domain({"name": name, "state": "absent"})
    try:
        started = time.monotonic()
        for guest in guests.values():
            result = libvirt_domain(guest["args"])
            assert result["changed"] is True
            assert result["domain"]["state"] == "running"
            assert result["domain"]["disks"][0]["backing"] == image["GUEST_IMAGE"]
            guest["mac"] = result["domain"]["interfaces"][0]["mac"]

        waiting = set(guests)
        while waiting and time.monotonic() - started < BOOT_TIMEOUT:
            for renderer in sorted(waiting):
                text = read_console(guests[renderer]["console"])
                if RESULT.search(text) and FINAL.search(text):
                    guests[renderer]["text"] = text
                    guests[renderer]["wall"] = time.monotonic() - started
                    waiting.discard(renderer)
            time.sleep(1)
        for renderer in sorted(waiting):
            pytest.fail("no cloud-init result on the serial console of the %s guest after %d s:\n%s" % (
                renderer, BOOT_TIMEOUT, read_console(guests[renderer]["console"])[-4000:]))

        for renderer, guest in sorted(guests.items()):
            uptime = check_guest(guest["text"], mac=guest["mac"], expect=guest["expect"], renderer=renderer)
            print("\nreal guest (%s): cloud-init done %.1f s after kernel start (guest uptime), %.1f s wall "
                  "from the module calls to the console line (TCG, %s)"
                  % (renderer, uptime, guest["wall"], guest["args"]["domain_type"]))

        for guest in guests.values():
            assert libvirt_domain(guest["args"])["changed"] is False
    finally:
        for guest in guests.values():
            libvirt_domain({"name": guest["args"]["name"], "state": "absent"}, check=False)
