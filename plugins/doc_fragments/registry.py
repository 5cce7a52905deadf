# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster registry options; mirrors module_utils/_registry/argspec.py REGISTRY_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  store:
    description:
      - Where the cluster registry lives.
      - Omitted or empty - the folder C(~/.ghost/clusters) on the host running the module
        (mode C(0700); per cluster a kubeconfig C(ID.yaml) and a record C(ID.json), both
        C(0600), written atomically). M(ghost.infra.vcluster) records its virtual clusters
        there too.
      - A path - another folder, with the same layout.
      - V(k8s:NAMESPACE) - Kubernetes Secrets in that namespace of a management cluster (given
        by O(store_auth)), one Secret C(ghost-cluster-ID) per cluster, labelled
        C(ghost.infra/registry=true), the kubeconfig under the key C(kubeconfig) and the record
        in the annotation C(ghost.infra/record). This is the store AWX job templates (each job
        in a fresh execution environment) and several controllers share.
    type: str
  store_auth:
    description:
      - How to reach the management cluster of O(store=k8s:NAMESPACE), with the connection
        options of M(kubernetes.core.k8s) (same names, same meaning).
      - Each option not given falls back to its C(K8S_AUTH_*) environment variable, as in
        kubernetes.core (so AWX's Kubernetes credential works as is), then to C(~/.kube/config).
      - Ignored by the folder store.
    type: dict
    suboptions:
      host:
        description: URL of the API server (E(K8S_AUTH_HOST)).
        type: str
      api_key:
        description: Bearer token (E(K8S_AUTH_API_KEY)).
        type: str
      kubeconfig:
        description:
          - Path of a kubeconfig file, or a kubeconfig as a dictionary (E(K8S_AUTH_KUBECONFIG)).
        type: raw
      context:
        description: Context of the kubeconfig (E(K8S_AUTH_CONTEXT)).
        type: str
      username:
        description: User name for HTTP basic authentication (E(K8S_AUTH_USERNAME)).
        type: str
      password:
        description: Password for HTTP basic authentication (E(K8S_AUTH_PASSWORD)).
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
requirements:
  - kubernetes >= 24.2.0 and PyYAML on the host running the module
"""
