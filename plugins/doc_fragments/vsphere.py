# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vSphere connection options; mirrors module_utils/_vsphere/argspec.py VSPHERE_CONNECTION_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - Name or address of the vCenter Server or the standalone ESXi host.
      - If not set, the environment variable E(VMWARE_HOST) is used (AWX's VMware credential
        sets it).
      - Required, from the option or the environment.
    type: str
  username:
    description:
      - User to log in as, for example C(administrator@vsphere.local) on vCenter or C(root)
        on an ESXi host.
      - If not set, the environment variable E(VMWARE_USER) is used.
      - Required, from the option or the environment.
    type: str
  password:
    description:
      - Password of O(username).
      - If not set, the environment variable E(VMWARE_PASSWORD) is used.
      - Never shown in results, errors or logs.
      - Required, from the option or the environment.
    type: str
  port:
    description:
      - HTTPS port of the vSphere API.
      - If not set, the environment variable E(VMWARE_PORT) is used.
    type: int
    default: 443
  validate_certs:
    description:
      - Verify the TLS certificate of the API endpoint against the system's trusted CAs
        and check that it names O(hostname).
      - Set to V(false) only for lab hosts with self-signed certificates.
      - If not set, the environment variable E(VMWARE_VALIDATE_CERTS) is used.
    type: bool
    default: true
notes:
  - Login, TLS and connection failures are reported with the host, port and user, never with
    the password.
requirements:
  - pyvmomi >= 8.0.3
"""
