# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt connection options; mirrors module_utils/_libvirt/argspec.py LIBVIRT_CONNECTION_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  uri:
    description:
      - libvirt connection URI of the hypervisor, for example V(qemu:///system) or
        V(qemu+ssh://root@kvm1.example.com/system).
      - Everything goes through the libvirt API, so remote URIs work as local ones; paths in
        other options are paths on the hypervisor.
      - If not set, the environment variable E(LIBVIRT_DEFAULT_URI) is used, then
        V(qemu:///system).
      - When the daemon is restarting (its socket is missing or refuses connections), the
        module waits up to 30 seconds for it, and reconnects once when a connection breaks
        while it reads.
    type: str
    default: qemu:///system
requirements:
  - libvirt-python >= 9.0 on the host that runs the module
"""
