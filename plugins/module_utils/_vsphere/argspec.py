# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere connection options shared by every ghost.infra vSphere module. Private to ghost.infra.

VSPHERE_CONNECTION_SPEC is mirrored 1:1 by the doc fragment ``ghost.infra.vsphere``; a unit
test compares the two, so change both together. The environment fallbacks are the variables
AWX's VMware credential type injects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

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
for _name, _variables in ENV_FALLBACKS.items():
    VSPHERE_CONNECTION_SPEC[_name]["fallback"] = (env_fallback, list(_variables))


def vsphere_argument_spec():
    """A deep copy of VSPHERE_CONNECTION_SPEC, safe to extend with a module's options."""
    return copy.deepcopy(VSPHERE_CONNECTION_SPEC)
