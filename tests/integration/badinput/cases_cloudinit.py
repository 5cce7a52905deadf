# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of cloud_init_seed (placeholders: see bad_campaign.py): the seed would be written
under @DIR@, which must hold nothing new afterwards."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bad_campaign import Case

SEED = {"name": "@NAME@", "dest": "@DIR@/@NAME@-seed.iso", "cloud_init": {"hostname": "@NAME@"}}


def seed(**cloud_init):
    return dict(SEED, cloud_init=cloud_init)


CASES = [
    Case("cloud_init_seed-dest-dir-missing", "cloud_init_seed", dict(SEED, dest="@DIR@/no-such-dir/@NAME@.iso"),
         "dest", r"does not exist|no such|directory"),
    Case("cloud_init_seed-dest-is-dir", "cloud_init_seed", dict(SEED, dest="@DIR@"), "dest",
         r"not a regular file|directory"),
    Case("cloud_init_seed-mode-not-octal", "cloud_init_seed", dict(SEED, mode="u=rw"), "mode", r"octal"),
    Case("cloud_init_seed-mode-out-of-range", "cloud_init_seed", dict(SEED, mode="99999"), "mode",
         r"octal|range"),
    Case("cloud_init_seed-cloud-init-not-dict", "cloud_init_seed", dict(SEED, cloud_init="hostname: x"),
         "cloud_init", r"dict"),
    Case("cloud_init_seed-hostname-invalid", "cloud_init_seed", seed(hostname="bad_host!"), "cloud_init.hostname",
         r"not a valid|RFC 1123|label"),
    Case("cloud_init_seed-hostname-too-long", "cloud_init_seed", seed(hostname="h" * 64), "cloud_init.hostname",
         r"63|too long|label|not a valid", note="hostname of 64 characters"),
    Case("cloud_init_seed-ip-network-address", "cloud_init_seed", seed(ip="192.0.2.0/24"), "cloud_init.ip",
         r"network or broadcast"),
    Case("cloud_init_seed-gateway-is-ip", "cloud_init_seed", seed(ip="192.0.2.10/24", gateway="192.0.2.10"),
         "cloud_init.gateway", r"address of the VM"),
    Case("cloud_init_seed-gateway-ipv6-mix", "cloud_init_seed", seed(ip="192.0.2.10/24", gateway="2001:db8::1"),
         "cloud_init.gateway", r"IPv6|IPv4"),
    Case("cloud_init_seed-gateway-without-ip", "cloud_init_seed", seed(gateway="192.0.2.1"), "cloud_init.ip",
         r"needs cloud_init.ip|DHCP"),
    Case("cloud_init_seed-interface-invalid", "cloud_init_seed", seed(ip="192.0.2.10/24", interface="eth 0" * 5),
         "cloud_init.interface", r"interface name"),
    Case("cloud_init_seed-ssh-key-invalid", "cloud_init_seed", seed(ssh_authorized_keys=["not a key"]),
         "cloud_init.ssh_authorized_keys", r"key"),
    Case("cloud_init_seed-write-files-no-path", "cloud_init_seed", seed(write_files=[{"content": "@SECRET@"}]),
         "cloud_init.write_files", r"path", note="write_files: an entry without path, secret content"),
    Case("cloud_init_seed-write-files-unknown-key", "cloud_init_seed",
         seed(write_files=[{"path": "/etc/x", "content": "@SECRET@", "contents": "typo"}]),
         "cloud_init.write_files", r"unknown key", note="write_files: a misspelt key, secret content"),
    Case("cloud_init_seed-user-data-bad-yaml", "cloud_init_seed",
         seed(user_data="#cloud-config\npassword: @SECRET@\nruncmd: [unclosed\n"), "cloud_init.user_data",
         r"YAML|parse|cloud-config", note="user_data: broken #cloud-config holding a password (secret)"),
    Case("cloud_init_seed-user-data-not-mapping", "cloud_init_seed", seed(user_data="#cloud-config\n- @SECRET@\n"),
         "cloud_init.user_data", r"mapping", note="user_data: a #cloud-config list holding a secret"),
    Case("cloud_init_seed-user-data-unrecognised", "cloud_init_seed", seed(user_data="chpasswd @SECRET@"),
         "cloud_init.user_data", r"recogni|format|#cloud-config|#!",
         note="user_data: text cloud-init does not recognise (secret)"),
    Case("cloud_init_seed-vendor-data-type", "cloud_init_seed", seed(vendor_data=42), "cloud_init.vendor_data",
         r"dict or a string"),
    Case("cloud_init_seed-packages-bad", "cloud_init_seed", seed(packages=[{"name": "x"}]), "cloud_init.packages",
         r"package name"),
    Case("cloud_init_seed-meta-data-network", "cloud_init_seed", seed(meta_data={"network": {"version": 2}}),
         "cloud_init.meta_data", r"network"),
    Case("cloud_init_seed-network-config-not-netplan", "cloud_init_seed", seed(network_config={"foo": 1}),
         "cloud_init.network_config", r"netplan"),
    Case("cloud_init_seed-password-hash-plain", "cloud_init_seed", seed(password_hash="@SECRET@"),
         "cloud_init.password_hash", r"hash|crypt", note="password_hash: a plain-text password (secret)"),
]
