# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""workspace's connection options; mirrors module_utils/_workspace/argspec.py WORKSPACE_CONNECTION_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  host:
    description:
      - URL of the API server (E(K8S_AUTH_HOST)).
      - These connection options are those of M(kubernetes.core.k8s) without C(username) and
        C(password) (HTTP basic authentication, which Kubernetes removed in 1.19); in M(ghost.infra.workspace), its C(password)
        is the workspace's password.
    type: str
  api_key:
    description: Bearer token (E(K8S_AUTH_API_KEY)).
    type: str
  kubeconfig:
    description:
      - Path of a kubeconfig file, or a kubeconfig as a dictionary (E(K8S_AUTH_KUBECONFIG)); without
        any connection option, C(~/.kube/config) (or the in-cluster configuration).
    type: raw
  context:
    description: Context of the kubeconfig (E(K8S_AUTH_CONTEXT)).
    type: str
  client_cert:
    description: Path of a client certificate (E(K8S_AUTH_CERT_FILE)).
    type: path
    aliases: [cert_file]
  client_key:
    description: Path of the client certificate's key (E(K8S_AUTH_KEY_FILE)).
    type: path
    aliases: [key_file]
  ca_cert:
    description: Path of the CA certificate of the API server (E(K8S_AUTH_SSL_CA_CERT)).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description: Whether to verify the API server's certificate (E(K8S_AUTH_VERIFY_SSL)).
    type: bool
    aliases: [verify_ssl]
  proxy:
    description: URL of an HTTP proxy (E(K8S_AUTH_PROXY)).
    type: str
  no_proxy:
    description: Hosts, domains and networks reached without the proxy (E(K8S_AUTH_NO_PROXY)).
    type: str
  proxy_headers:
    description: Headers for the HTTP proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description: C(username:password) for the proxy.
        type: str
      basic_auth:
        description: C(username:password) for a basic authentication header.
        type: str
      user_agent:
        description: The user agent.
        type: str
  persist_config:
    description: Whether to save refreshed tokens to the kubeconfig (E(K8S_AUTH_PERSIST_CONFIG)).
    type: bool
  impersonate_user:
    description: User to impersonate (E(K8S_AUTH_IMPERSONATE_USER)).
    type: str
  impersonate_groups:
    description: Groups to impersonate (E(K8S_AUTH_IMPERSONATE_GROUPS)).
    type: list
    elements: str
"""
