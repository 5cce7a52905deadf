# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options every cluster pool module shares. Private to ghost.infra.

The Kubernetes connection options are kubernetes.core's (``_k8s/argspec.py``, added by
``run_k8s_module``); these are the pool's own, mirrored 1:1 by the doc fragment
``ghost.infra.cluster_pool``; a unit test compares the two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.ghost.infra.plugins.module_utils._pool.spec import DEFAULT_NAMESPACE

POOL_COMMON_SPEC = {
    "namespace": {"type": "str", "default": DEFAULT_NAMESPACE},
}


def pool_argument_spec():
    """A deep copy of POOL_COMMON_SPEC, safe to extend with a module's options."""
    return copy.deepcopy(POOL_COMMON_SPEC)
