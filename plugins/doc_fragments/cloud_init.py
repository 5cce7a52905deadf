# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared ``cloud_init`` option; mirrors module_utils/_cloudinit/spec.py CLOUD_INIT_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  cloud_init:
    description:
      - cloud-init configuration for an Ubuntu guest (22.04 and 24.04 are tested).
      - Rendered into C(meta-data), C(user-data), C(network-config) and, when given,
        C(vendor-data). ESXi delivers them as VMware C(guestinfo) keys, libvirt as a NoCloud
        ISO labelled C(cidata).
      - The same input always gives the same documents byte for byte.
      - Bad input fails with a message naming the suboption, for example C(cloud_init.ip).
    type: dict
    suboptions:
      hostname:
        description:
          - Host name of the guest, a single RFC 1123 label (letters, digits and hyphens).
          - Defaults to the first label of O(cloud_init.fqdn) when that is set, else to the VM
            name. A VM name with dots (C(web1.example.com)) gives the first label as the host
            name and the whole name as O(cloud_init.fqdn).
        type: str
      fqdn:
        description:
          - Fully qualified domain name of the guest, for example C(web1.example.com).
        type: str
      instance_id:
        description:
          - cloud-init instance ID. cloud-init runs its once-per-instance steps again when it
            changes.
          - Defaults to C(iid-) and 16 hex digits of a SHA-256 hash of the rendered documents,
            so changed content makes cloud-init run again and unchanged content does not.
        type: str
      user:
        description:
          - Name of the user cloud-init creates, with passwordless sudo and C(/bin/bash).
          - It replaces the distribution's default user unless it has the same name.
        type: str
        default: ubuntu
      ssh_authorized_keys:
        description:
          - OpenSSH public keys for O(cloud_init.user), one per item, as in C(authorized_keys).
          - A private key given by mistake is refused and never shown.
        type: list
        elements: str
      password_hash:
        description:
          - crypt(3) hash of the password of O(cloud_init.user), for example from
            C(mkpasswd -m sha-512) or the C(ansible.builtin.password_hash) filter.
          - Without it the password is locked and only SSH keys log in. A plain password is
            refused. The value is not logged.
        type: str
      ip:
        description:
          - Static address of the first NIC in CIDR notation, for example C(192.0.2.10/24)
            (IPv6 works as well).
          - Without it the NIC uses DHCP.
        type: str
      gateway:
        description:
          - "Default gateway, inside the subnet of O(cloud_init.ip). Rendered as the route
            C(to: 0.0.0.0/0) (C(::/0) for IPv6), which every cloud-init version parses; not the
            deprecated C(gateway4), nor C(to: default), which the cloud-init parser of Debian 12
            and RHEL 9 rejects."
        type: str
      dns:
        description:
          - DNS server addresses. Also applied with DHCP.
        type: list
        elements: str
      search_domains:
        description:
          - DNS search domains.
        type: list
        elements: str
      interface:
        description:
          - Name of the NIC the network settings apply to.
          - Without it the settings apply to the first NIC, matched by its MAC address when
            the module knows it (libvirt), else by driver (C(vmxnet3) on ESXi, C(virtio_net)
            on libvirt), and named C(ens192) on ESXi or C(enp1s0) on libvirt with C(set-name),
            so guests whose kernel names it otherwise (C(ens160)) get the address too.
        type: str
      network_config:
        description:
          - "A complete netplan version 2 document (C(version: 2) with C(ethernets), C(bonds),
            and so on; a top-level C(network:) wrapper is accepted)."
          - Replaces the shorthand O(cloud_init.ip), O(cloud_init.gateway), O(cloud_init.dns),
            O(cloud_init.search_domains) and O(cloud_init.interface), which must then be unset.
        type: dict
      packages:
        description:
          - Packages to install, each a name or a C([name, version]) pair.
        type: list
        elements: raw
      runcmd:
        description:
          - Commands run once at the end of the first boot, each a shell string or an argument
            list.
          - Not logged (it can hold a token or a password); strings in it that cannot be a
            secret, such as V(1) or V(-c), stay visible so they do not garble other output.
        type: list
        elements: raw
      write_files:
        description:
          - Files to write, as in cloud-init's C(write_files) module. Each item needs an
            absolute C(path); other keys are C(content), C(source), C(owner), C(permissions),
            C(encoding), C(append) and C(defer).
          - Not logged; only C(content) is treated as secret, paths, owners and permissions stay
            visible.
        type: list
        elements: dict
      user_data:
        description:
          - Extra user data.
          - A dict, or a string starting with C(#cloud-config), is merged into the generated
            cloud-config. Dicts merge recursively, lists are appended to, other values from
            O(cloud_init.user_data) win.
          - Any other string cloud-init understands (a C(#!) script, C(#cloud-boothook),
            C(#include), a MIME message, ...) is added as a MIME part next to the generated
            cloud-config.
          - Not logged; a diff shows it by cloud-config key, with a digest in place of every value
            that may hold a secret.
        type: raw
      meta_data:
        description:
          - Extra meta-data, merged over the generated C(instance-id) and C(local-hostname).
          - C(network) is refused; use O(cloud_init.network_config).
        type: dict
      vendor_data:
        description:
          - Vendor data, a dict (rendered as C(#cloud-config)) or a string in a format
            cloud-init understands.
          - Not logged, shown in a diff like O(cloud_init.user_data).
        type: raw
"""
