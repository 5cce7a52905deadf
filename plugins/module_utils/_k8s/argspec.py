# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes connection options every Kubernetes-backed module shares. Private to ghost.infra.

They are kubernetes.core's own (``AUTH_ARG_SPEC``: kubeconfig, context, host, api_key, ...),
mirrored 1:1 by kubernetes.core's ``k8s_auth_options`` doc fragment; a unit test compares the
two. kubernetes.core resolves the ``K8S_AUTH_*`` environment fallbacks itself when it connects
(``get_api_client``), so the spec carries no ``fallback``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

K8S_CONNECTION_SPEC = AUTH_ARG_SPEC


def k8s_argument_spec():
    """A deep copy of K8S_CONNECTION_SPEC, safe to extend with a module's options."""
    return copy.deepcopy(K8S_CONNECTION_SPEC)
