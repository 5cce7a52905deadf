# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of esxi_vm, esxi_vm_info and esxi_vm_snapshot (placeholders: see bad_campaign.py).

The connection comes from the testbed's VMWARE_* variables (the vCenter simulator); a case with
``port: "@ESXI_PORT@"`` talks to the standalone ESXi simulator instead. Cases that could create a
VM give a template, so only the bad input stands between them and a new VM.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bad_campaign import Case

VM = {"name": "@NAME@", "template": "@TEMPLATE@"}
ESXI = {"port": "@ESXI_PORT@"}
# The API unreachable (nothing listens on port 1), so the SSH fallback is what runs.
SSH_FALLBACK = {"port": 1, "fallback": "ssh", "ssh_host": "127.0.0.1", "ssh_port": 1}


def vm(*bases, **extra):
    args = dict(VM)
    for base in bases:
        args.update(base)
    args.update(extra)
    return args


CASES = [
    # Types and ranges
    Case("esxi_vm-cpu-not-int", "esxi_vm", vm(cpu="two"), "cpu", r"int"),
    Case("esxi_vm-cpu-negative", "esxi_vm", vm(cpu=-2), "cpu", r"at least"),
    Case("esxi_vm-cpu-huge", "esxi_vm", vm(cpu=100000), "cpu", r"at most|too many|exceed|maximum"),
    Case("esxi_vm-memory-not-multiple", "esxi_vm", vm(memory_mb=1030), "memory_mb", r"multiple of 4"),
    Case("esxi_vm-memory-huge", "esxi_vm", vm(memory_mb=2 ** 40), "memory_mb", r"at most|too large|exceed|maximum"),
    Case("esxi_vm-disk-negative", "esxi_vm", vm(disk_gb=-1), "disk_gb", r"at least|negative|positive"),
    Case("esxi_vm-wait-timeout-negative", "esxi_vm", vm(wait_timeout=-5), "wait_timeout",
         r"at least|negative|positive"),
    Case("esxi_vm-shutdown-timeout-negative", "esxi_vm", vm(shutdown_timeout=-1), "shutdown_timeout",
         r"at least|negative|positive"),
    Case("esxi_vm-port-out-of-range", "esxi_vm", vm(port=70000), "port", r"65535|range|invalid"),
    Case("esxi_vm-state-unknown", "esxi_vm", vm(state="on"), "state", r"one of"),
    Case("esxi_vm-guestinfo-not-dict", "esxi_vm", vm(guestinfo=["first-value", "second-value"]), "guestinfo", r"dict"),
    # Names
    Case("esxi_vm-name-empty", "esxi_vm", vm(name=""), "name", r"empty"),
    Case("esxi_vm-name-too-long", "esxi_vm", vm(name="@NAME@" + "x" * 80), "name",
         r"80|too long|at most", note="name of 91 characters (vSphere allows 80)"),
    Case("esxi_vm-name-and-folder-path", "esxi_vm", vm(name="/DC0/vm/@NAME@", folder="/DC0/vm"), "name",
         r"folder"),
    # Unknown inventory objects
    Case("esxi_vm-template-unknown", "esxi_vm", vm(template="gb-no-such-template-@TOKEN@"), "template",
         r"does not exist|not found"),
    Case("esxi_vm-datastore-unknown", "esxi_vm", vm(datastore="gb-no-such-ds-@TOKEN@"), "datastore",
         r"does not exist|not found|no datastore"),
    Case("esxi_vm-network-unknown", "esxi_vm", vm(network="gb-no-such-net-@TOKEN@"), "network",
         r"does not exist|not found|no network"),
    Case("esxi_vm-folder-unknown", "esxi_vm", vm(folder="/DC0/vm/gb-no-such-folder-@TOKEN@"), "folder",
         r"does not exist|not found"),
    Case("esxi_vm-resource-pool-unknown", "esxi_vm", vm(resource_pool="gb-no-such-rp-@TOKEN@"), "resource_pool",
         r"does not exist|not found"),
    Case("esxi_vm-datacenter-unknown", "esxi_vm", vm(datacenter="gb-no-such-dc-@TOKEN@"), "datacenter",
         r"does not exist|not found"),
    Case("esxi_vm-esxi-linked-clone", "esxi_vm", dict(vm(linked_clone=True), **ESXI), "linked_clone",
         r"standalone|vCenter|not supported"),
    # Expiry (doc fragment ghost.infra.lifetime)
    Case("esxi_vm-ttl-invalid", "esxi_vm", vm(ttl="30"), "ttl", r"not a valid TTL"),
    Case("esxi_vm-expires-at-invalid", "esxi_vm", vm(expires_at="tomorrow"), "expires_at", r"RFC 3339"),
    Case("esxi_vm-max-ttl-exceeded", "esxi_vm", vm(ttl="8h", max_ttl="1h"), "ttl", r"max_ttl"),
    # cloud_init on a VM
    Case("esxi_vm-cloud-init-ip-invalid", "esxi_vm", vm(cloud_init={"ip": "300.1.2.3/24"}), "cloud_init.ip",
         r"not an IP|not a valid|invalid"),
    Case("esxi_vm-cloud-init-gateway-outside", "esxi_vm",
         vm(cloud_init={"ip": "192.0.2.10/24", "gateway": "198.51.100.1"}), "cloud_init.gateway",
         r"not in|outside|subnet|network"),
    Case("esxi_vm-cloud-init-prefix-missing", "esxi_vm", vm(cloud_init={"ip": "192.0.2.10", "gateway": "192.0.2.1"}),
         "cloud_init.ip", r"prefix|/24|CIDR"),
    Case("esxi_vm-cloud-init-password-hash-plain", "esxi_vm",
         vm(cloud_init={"hostname": "@NAME@", "password_hash": "@SECRET@"}), "cloud_init.password_hash",
         r"hash|crypt", note="password_hash: a plain-text password (secret)"),
    # Secrets and credentials
    Case("esxi_vm-password-wrong", "esxi_vm", vm(password="@SECRET@"), "password", r"incorrect|invalid|denied",
         note="password: wrong (secret)"),
    Case("esxi_vm-guestinfo-bad-key-secret", "esxi_vm", vm(guestinfo={"bad key!": "@SECRET@"}), "guestinfo",
         r"not a valid", note="guestinfo: invalid key, secret value"),
    Case("esxi_vm-ssh-key-missing", "esxi_vm",
         vm(SSH_FALLBACK, ssh_private_key_file="@DIR@/no-such-key"), "ssh_private_key_file",
         r"not found|does not exist|no such|cannot read|readable"),
    Case("esxi_vm-ssh-known-hosts-is-dir", "esxi_vm",
         vm(SSH_FALLBACK, ssh_known_hosts_file="@DIR@"), "ssh_known_hosts_file",
         r"directory|not a file|cannot read|readable"),
    # esxi_vm_info
    Case("esxi_vm_info-port-not-int", "esxi_vm_info", {"port": "https"}, "port", r"int"),
    Case("esxi_vm_info-password-wrong", "esxi_vm_info", {"password": "@SECRET@"}, "password",
         r"incorrect|invalid|denied", note="password: wrong (secret)"),
    Case("esxi_vm_info-hostname-empty", "esxi_vm_info", {"hostname": ""}, "hostname", r"empty|required|missing"),
    # esxi_vm_snapshot
    Case("esxi_vm_snapshot-vm-unknown", "esxi_vm_snapshot", {"vm_name": "@NAME@", "name": "s1"}, "vm_name",
         r"does not exist|not found|no VM is named"),
    Case("esxi_vm_snapshot-revert-without-name", "esxi_vm_snapshot", {"vm_name": "DC0_H0_VM0", "state": "reverted"},
         "name", r"required|needs|without"),
    Case("esxi_vm_snapshot-name-empty", "esxi_vm_snapshot", {"vm_name": "DC0_H0_VM0", "name": ""}, "name",
         r"empty|required"),
    Case("esxi_vm_snapshot-password-wrong", "esxi_vm_snapshot",
         {"vm_name": "DC0_H0_VM0", "name": "@NAME@", "password": "@SECRET@"}, "password",
         r"incorrect|invalid|denied", note="password: wrong (secret)"),
]
