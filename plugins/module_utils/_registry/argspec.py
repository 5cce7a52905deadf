# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry options every registry module shares. Private to ghost.infra.

``store`` says where the registry lives; ``store_auth`` holds kubernetes.core's connection
options (the same names, the same ``K8S_AUTH_*`` fallbacks) for the management cluster of
``store: k8s:<namespace>``. They are nested because cluster_join's own ``kubeconfig`` and
``context`` name the cluster being joined, and workspace's top-level ones the cluster that runs
the workspace. Mirrored 1:1 by the doc fragment ``ghost.infra.registry``; a unit test compares
the two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

REGISTRY_SPEC = {
    "store": {"type": "str"},
    "store_auth": {"type": "dict", "options": AUTH_ARG_SPEC},
}


def registry_argument_spec():
    """A deep copy of REGISTRY_SPEC, safe to extend with a module's options."""
    return copy.deepcopy(REGISTRY_SPEC)
