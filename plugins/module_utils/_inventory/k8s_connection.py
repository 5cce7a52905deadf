# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes connection of the inventory plugins (kubevirt, clusters). Private to ghost.infra.

kubernetes.core's ``get_api_client`` with the plugin's connection options (unset ones fall back
to kubernetes.core's K8S_AUTH_* variables and the default kubeconfig), wrapped in its
``K8sService`` as the collection's Kubernetes client base (_k8s/client.py) expects it. The
service wants a module; an inventory plugin is none, so ``_Caller`` stands in: reads only,
never a dry run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message

KUBERNETES = optional_import("kubernetes")
# kubernetes.core's connection options, as get_api_client takes them.
CONNECTION_OPTIONS = ("kubeconfig", "context", "host", "api_key", "username", "password", "validate_certs",
                      "ca_cert", "client_cert", "client_key", "proxy", "no_proxy", "impersonate_user",
                      "impersonate_groups")
PATH_OPTIONS = ("kubeconfig", "ca_cert", "client_cert", "client_key")
# Never part of a cache key.
SECRET_OPTIONS = ("api_key", "password")


class _Caller:
    """What kubernetes.core's K8sService wants of a module, for a caller that is no module."""

    check_mode = False
    server_side_dry_run = False

    def __init__(self, params):
        self.params = params

    def warn(self, msg):
        pass  # reads do not warn

    def requires(self, *args, **kwargs):
        pass  # the plugin checks the kubernetes library itself


def connect(options):
    """A kubernetes.core K8sService for the connection ``options``."""
    KUBERNETES.require()
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService

    params = {}
    for key in CONNECTION_OPTIONS:
        value = options.get(key)
        if value in (None, "", []):
            continue  # unset, or an empty variable: kubernetes.core's own defaults apply
        params[key] = os.path.expanduser(value) if key in PATH_OPTIONS else value
    try:
        client = get_api_client(**params)
    except Exception as exc:  # CoreException, ConfigException, a bad kubeconfig path...
        raise GhostError("Failed to connect to the Kubernetes API: %s" % api_error_message(exc))
    return K8sService(client, _Caller(params))
