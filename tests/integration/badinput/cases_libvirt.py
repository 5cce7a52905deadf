# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of libvirt_domain, libvirt_network, libvirt_pool and libvirt_image (placeholders:
see bad_campaign.py). The connection is the testbed's LIBVIRT_DEFAULT_URI; a domain case gives
the testbed's pool and base image, so only the bad input stands between it and a new domain."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bad_campaign import Case

DOMAIN = {"name": "@NAME@", "pool": "@POOL@", "base_image": "@BASE_IMAGE@", "domain_type": "@DOMAIN_TYPE@",
          "memory_mb": 64, "uri": "qemu:///system"}
NET = {"name": "@NAME@", "mode": "isolated", "ip": "198.51.100.1/24"}


def domain(**extra):
    return dict(DOMAIN, **extra)


def net(**extra):
    return dict(NET, **extra)


CASES = [
    # libvirt_domain: types, ranges, names
    Case("libvirt_domain-memory-not-int", "libvirt_domain", domain(memory_mb="lots"), "memory_mb", r"int"),
    Case("libvirt_domain-memory-negative", "libvirt_domain", domain(memory_mb=-64), "memory_mb",
         r"at least|negative|positive"),
    Case("libvirt_domain-memory-huge", "libvirt_domain", domain(memory_mb=2 ** 40), "memory_mb",
         r"at most|too large|exceed|more than|maximum|host"),
    Case("libvirt_domain-vcpus-zero", "libvirt_domain", domain(vcpus=0), "vcpus", r"at least|positive"),
    Case("libvirt_domain-vcpus-huge", "libvirt_domain", domain(vcpus=100000), "vcpus",
         r"at most|too many|exceed|maximum|host"),
    Case("libvirt_domain-disk-negative", "libvirt_domain", domain(disk_gb=-1), "disk_gb",
         r"at least|negative|positive"),
    Case("libvirt_domain-wait-timeout-negative", "libvirt_domain", domain(wait_timeout=-1), "wait_timeout",
         r"at least|negative|positive"),
    Case("libvirt_domain-name-slash", "libvirt_domain", domain(name="gb@TOKEN@/slash"), "name",
         r"not a valid|invalid|not allowed"),
    Case("libvirt_domain-name-empty", "libvirt_domain", domain(name=""), "name", r"empty|required|not a valid"),
    Case("libvirt_domain-name-too-long", "libvirt_domain", domain(name="@NAME@" + "x" * 300), "name",
         r"too long|at most|1 to 64", note="name of 311 characters"),
    Case("libvirt_domain-domain-type-unknown", "libvirt_domain", domain(domain_type="xen"), "domain_type", r"one of"),
    Case("libvirt_domain-wait-for-unknown", "libvirt_domain", domain(wait_for=["ssh"]), "wait_for", r"one (or more )?of"),
    # Unknown pool, image, network; bad paths
    Case("libvirt_domain-pool-unknown", "libvirt_domain", domain(pool="gb-no-such-pool-@TOKEN@"), "pool",
         r"not found|does not exist|no such pool"),
    Case("libvirt_domain-base-image-unknown", "libvirt_domain", domain(base_image="@POOL@/gb-no-such-@TOKEN@.qcow2"),
         "base_image", r"not found|does not exist|no such|no volume"),
    Case("libvirt_domain-network-unknown", "libvirt_domain",
         domain(interfaces=[{"network": "gb-no-such-net-@TOKEN@"}]), "network", r"not found|does not exist"),
    Case("libvirt_domain-mac-invalid", "libvirt_domain",
         domain(interfaces=[{"network": "default", "mac": "zz:zz:zz:00:00:01"}]), "mac", r"not a valid|invalid|MAC"),
    Case("libvirt_domain-kernel-missing", "libvirt_domain", domain(kernel="@DIR@/no-such-vmlinuz"), "kernel",
         r"not found|does not exist|no such"),
    Case("libvirt_domain-initrd-is-dir", "libvirt_domain", domain(kernel="@DIR@/vmlinuz", initrd="@DIR@"), "initrd",
         r"directory|not a file|not found|regular file",
         files={"vmlinuz": "not a kernel"}),
    # libvirt_domain: expiry
    Case("libvirt_domain-ttl-invalid", "libvirt_domain", domain(ttl="30"), "ttl", r"not a valid TTL|unit"),
    Case("libvirt_domain-expires-at-invalid", "libvirt_domain", domain(expires_at="tomorrow"), "expires_at",
         r"RFC 3339|date-time"),
    Case("libvirt_domain-uri-unknown-driver", "libvirt_domain", domain(uri="gbnosuchdriver:///system"), "uri",
         r"driver|connect|unsupported|no connection"),
    # cloud_init on a domain
    Case("libvirt_domain-cloud-init-gateway-outside", "libvirt_domain",
         domain(cloud_init={"ip": "198.51.100.10/24", "gateway": "203.0.113.1"}), "cloud_init.gateway",
         r"not in|outside|subnet|network"),
    Case("libvirt_domain-cloud-init-dns-invalid", "libvirt_domain", domain(cloud_init={"dns": ["not-an-ip"]}),
         "cloud_init.dns", r"not a valid|invalid|address"),
    Case("libvirt_domain-cloud-init-runcmd-secret", "libvirt_domain",
         domain(cloud_init={"runcmd": [{"bad": "@SECRET@"}]}), "cloud_init.runcmd",
         r"string|list|must", note="runcmd: a mapping holding a secret"),
    Case("libvirt_domain-cloud-init-password-hash-plain", "libvirt_domain",
         domain(cloud_init={"password_hash": "@SECRET@"}), "cloud_init.password_hash", r"hash|crypt",
         note="password_hash: a plain-text password (secret)"),
    # libvirt_network
    Case("libvirt_network-ip-prefix-33", "libvirt_network", net(ip="198.51.100.1/33"), "ip",
         r"not a valid|invalid|prefix"),
    Case("libvirt_network-ip-network-address", "libvirt_network", net(ip="198.51.100.0/24"), "ip",
         r"network address|host address|not a valid|cannot"),
    Case("libvirt_network-dhcp-outside", "libvirt_network",
         net(dhcp={"start": "203.0.113.10", "end": "203.0.113.20"}), "dhcp", r"not in|outside|subnet|network"),
    Case("libvirt_network-dhcp-reversed", "libvirt_network",
         net(dhcp={"start": "198.51.100.200", "end": "198.51.100.10"}), "dhcp", r"before|after|order|greater|less"),
    Case("libvirt_network-host-mac-invalid", "libvirt_network",
         net(hosts=[{"mac": "not-a-mac", "ip": "198.51.100.5"}]), "mac", r"not a valid|invalid|MAC"),
    Case("libvirt_network-bridge-too-long", "libvirt_network", net(bridge="gb@TOKEN@toolongbridge"), "bridge",
         r"15|too long|at most"),
    Case("libvirt_network-mode-unknown", "libvirt_network", net(mode="routed-ish"), "mode", r"one of"),
    Case("libvirt_network-name-too-long", "libvirt_network", net(name="@NAME@" + "n" * 300), "name",
         r"too long|at most|1 to 64", note="name of 311 characters"),
    # libvirt_pool
    Case("libvirt_pool-path-relative", "libvirt_pool", {"name": "@NAME@", "type": "dir", "path": "relative/dir"},
         "path", r"absolute"),
    Case("libvirt_pool-path-under-file", "libvirt_pool", {"name": "@NAME@", "type": "dir", "path": "@DIR@/afile/sub"},
         "path", r"not a directory|is a file|cannot|exists", files={"afile": "x"}),
    Case("libvirt_pool-name-slash", "libvirt_pool", {"name": "gb@TOKEN@/x", "type": "dir", "path": "@DIR@/p"},
         "name", r"not a valid|invalid|not allowed"),
    # libvirt_image
    Case("libvirt_image-src-missing", "libvirt_image", {"name": "@NAME@.qcow2", "pool": "@POOL@",
                                                        "src": "@DIR@/no-such-image.qcow2"},
         "src", r"not found|does not exist|no such"),
    Case("libvirt_image-src-is-dir", "libvirt_image", {"name": "@NAME@.qcow2", "pool": "@POOL@", "src": "@DIR@"},
         "src", r"directory|not a file|regular file"),
    Case("libvirt_image-checksum-malformed", "libvirt_image",
         {"name": "@NAME@.qcow2", "pool": "@POOL@", "src": "@DIR@/img.raw", "checksum": "md5:nothex"},
         "checksum", r"not a valid|invalid|hex|algorithm|format", files={"img.raw": "raw bytes"}),
    Case("libvirt_image-checksum-mismatch", "libvirt_image",
         {"name": "@NAME@.raw", "pool": "@POOL@", "src": "@DIR@/img.raw", "format": "raw",
          "checksum": "sha256:" + "0" * 64},
         "checksum", r"mismatch|does not match|differs|expected", files={"img.raw": "raw bytes"}),
    Case("libvirt_image-timeout-negative", "libvirt_image",
         {"name": "@NAME@.qcow2", "pool": "@POOL@", "src": "http://127.0.0.1:9/x.qcow2", "timeout": -1,
          "checksum": "sha256:" + "0" * 64},
         "timeout", r"at least|negative|positive"),
    Case("libvirt_image-src-scheme", "libvirt_image",
         {"name": "@NAME@.qcow2", "pool": "@POOL@", "src": "gopher://127.0.0.1:9/x.qcow2"},
         "src", r"scheme|not supported|unsupported|http"),
    Case("libvirt_image-download-dir-under-file", "libvirt_image",
         {"name": "@NAME@.qcow2", "pool": "@POOL@", "src": "http://127.0.0.1:9/x.qcow2",
          "checksum": "sha256:" + "0" * 64, "download_dir": "@DIR@/afile/dl"},
         "download_dir", r"not a directory|cannot|exists|create", files={"afile": "x"}),
    Case("libvirt_image-pool-unknown", "libvirt_image",
         {"name": "@NAME@.raw", "pool": "gb-no-such-pool-@TOKEN@", "src": "@DIR@/img.raw", "format": "raw"},
         "pool", r"not found|does not exist|no such pool", files={"img.raw": "raw bytes"}),
]
