# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere connection options shared by every ghost.infra vSphere module. Private to ghost.infra.

VSPHERE_CONNECTION_SPEC is mirrored 1:1 by the doc fragment ``ghost.infra.vsphere``; a unit
test compares the two, so change both together. The environment fallbacks are the variables
AWX's VMware credential type injects. No ansible import: AnsibleModule resolves ``env_fallback``
by name, so the spec stays plain data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# Environment variable per option, in the order AnsibleModule should try them.
ENV_FALLBACKS = {
    "hostname": ("VMWARE_HOST",),
    "username": ("VMWARE_USER",),
    "password": ("VMWARE_PASSWORD",),
    "port": ("VMWARE_PORT",),
    "validate_certs": ("VMWARE_VALIDATE_CERTS",),
}

VSPHERE_CONNECTION_SPEC = {
    "hostname": {"type": "str"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "port": {"type": "int", "default": 443},
    "validate_certs": {"type": "bool", "default": True},
}


def vsphere_argument_spec(env_fallback):
    """A deep copy of VSPHERE_CONNECTION_SPEC with the environment fallbacks wired in.

    ``env_fallback`` is ``ansible.module_utils.basic.env_fallback`` (passed in so this file
    stays importable without ansible).
    """
    spec = copy.deepcopy(VSPHERE_CONNECTION_SPEC)
    for name, variables in ENV_FALLBACKS.items():
        spec[name]["fallback"] = (env_fallback, list(variables))
    return spec
