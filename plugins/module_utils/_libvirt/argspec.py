# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The libvirt connection options every libvirt module shares. Private to ghost.infra.

Mirrored 1:1 by the doc fragment ``ghost.infra.libvirt``; a unit test compares the two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

DEFAULT_URI = "qemu:///system"

# libvirt's own clients read LIBVIRT_DEFAULT_URI too, as does AWX's credential type.
LIBVIRT_CONNECTION_SPEC = {
    "uri": {
        "type": "str",
        "default": DEFAULT_URI,
        "fallback": (env_fallback, ["LIBVIRT_DEFAULT_URI"]),
    },
}


def libvirt_argument_spec():
    """A deep copy of LIBVIRT_CONNECTION_SPEC, safe to extend with a module's options."""
    return copy.deepcopy(LIBVIRT_CONNECTION_SPEC)
