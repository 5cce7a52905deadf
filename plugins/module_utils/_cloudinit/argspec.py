# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared ``cloud_init`` option. Private to ghost.infra; no compatibility promise.

CLOUD_INIT_SPEC is mirrored 1:1 by the doc fragment ``ghost.infra.cloud_init``; a unit test
compares the two, so change both together. Pure: no ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# The suboptions of ``cloud_init``. Lists have no default (None means "not given"), so the
# documentation needs no ``default: []`` and "unset" stays distinguishable from "empty".
CLOUD_INIT_OPTIONS = {
    "hostname": {"type": "str"},
    "fqdn": {"type": "str"},
    "instance_id": {"type": "str"},
    "user": {"type": "str", "default": "ubuntu"},
    "ssh_authorized_keys": {"type": "list", "elements": "str", "no_log": False},
    "password_hash": {"type": "str", "no_log": True},
    "ip": {"type": "str"},
    "gateway": {"type": "str"},
    "dns": {"type": "list", "elements": "str"},
    "search_domains": {"type": "list", "elements": "str"},
    "interface": {"type": "str"},
    "network_config": {"type": "dict"},
    "packages": {"type": "list", "elements": "raw"},
    "runcmd": {"type": "list", "elements": "raw", "no_log": True},
    "write_files": {"type": "list", "elements": "dict", "no_log": True},
    "user_data": {"type": "raw", "no_log": True},
    "meta_data": {"type": "dict"},
    "vendor_data": {"type": "raw", "no_log": True},
}

# Free-form suboptions that can carry a join token or a password anywhere in their text: no_log,
# so neither argument errors nor -vvv invocations show them; modules then unmask the strings in
# them that cannot be secrets (secrets.visible_values), so a "1" there does not garble the output.
CONTENT_OPTIONS = ("runcmd", "write_files", "user_data", "vendor_data")
CONTENT_OPTION_PATHS = tuple("cloud_init." + name for name in CONTENT_OPTIONS)

# Network shorthand that network_config replaces.
NETWORK_SHORTHAND = ("ip", "gateway", "dns", "search_domains", "interface")

# The argspec fragment: ``argument_spec.update(cloud_init_argument_spec())``.
CLOUD_INIT_SPEC = {
    "cloud_init": {"type": "dict", "options": CLOUD_INIT_OPTIONS},
}


def cloud_init_argument_spec():
    """A deep copy of CLOUD_INIT_SPEC, safe to modify (e.g. to make ``cloud_init`` required)."""
    return copy.deepcopy(CLOUD_INIT_SPEC)
