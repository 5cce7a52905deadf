# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options of the workspace module. Private to ghost.infra.

kubernetes.core's (``_k8s/argspec.py``) without ``username`` and ``password``: HTTP basic
authentication, which Kubernetes removed in 1.19, and whose ``password`` would collide with the
workspace's own password. Mirrored 1:1 by the doc fragment ``ghost.infra.workspace_connection``;
a unit test compares the two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.ghost.infra.plugins.module_utils._k8s.argspec import K8S_CONNECTION_SPEC

BASIC_AUTH = ("username", "password")
WORKSPACE_CONNECTION_SPEC = {name: option for name, option in K8S_CONNECTION_SPEC.items() if name not in BASIC_AUTH}


def workspace_argument_spec():
    """A deep copy of WORKSPACE_CONNECTION_SPEC, safe to extend with the module's options."""
    return copy.deepcopy(WORKSPACE_CONNECTION_SPEC)
