# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: clusters
short_description: Every cluster the collection knows - registry, vclusters, pool members
version_added: 0.1.0
description:
  - One host per cluster, from the sources in O(sources).
  - V(registry) - the clusters of the cluster registry (M(ghost.infra.cluster_join), and the
    vclusters M(ghost.infra.vcluster) records there), in group C(registry), named by their id,
    and in group C(expired) once their registration has expired
    (O(ghost.infra.cluster_join#module:ttl)).
  - V(vclusters) - the vclusters of the host cluster (the Kubernetes connection options) with
    their lifetime, as M(ghost.infra.vcluster_info) lists them, in group C(vcluster), and in
    group C(expired) once their TTL has passed; named C(vc-<namespace>-<name>), the id the
    registry gives them, so a recorded vcluster is one host with both views.
  - V(pools) - the members of every cluster pool on the host cluster with their state and
    holder, as M(ghost.infra.cluster_pool_info) shows them, in groups C(pool_member),
    C(pool_<pool>) and C(pool_state_<state>), named C(<pool>-<member>).
  - Every host has C(ansible_connection=local) and C(ghost_kubeconfig), the path of a local
    file holding its kubeconfig (the registry folder's file, the vcluster module's, or the one
    M(ghost.infra.cluster_pool_lease) exported), or null when there is none on this
    controller (a registry kept in Secrets; use M(ghost.infra.kubeconfig) to export it). Plays
    pass it on, for example as the O(kubernetes.core.k8s#module:kubeconfig) of
    C(module_defaults) for C(group/kubernetes.core.k8s), or as C(K8S_AUTH_KUBECONFIG) in
    C(environment).
  - Host variables C(<prefix>registry), C(<prefix>vcluster), C(<prefix>pool_member) are the
    views of the sources that know the cluster (never a credential); C(<prefix>expires_at) the
    earliest expiry of its registration and its vcluster (RFC 3339 UTC, or null), and
    C(<prefix>expired) whether that has passed (such hosts are also in group C(expired)).
  - The source file's name must end in C(ghost.infra.clusters.yml) or C(ghost.infra.clusters.yaml).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; makes the file a source for it.
    required: true
    type: str
    choices: [ghost.infra.clusters]
  sources:
    description: What to read.
    type: list
    elements: str
    choices: [registry, vclusters, pools]
    default: [registry, vclusters, pools]
  store:
    description:
      - Where the cluster registry lives, as for M(ghost.infra.cluster_info). Default is the
        folder C(~/.ghost/clusters); a path is another folder; V(k8s:NAMESPACE) are Secrets
        in that namespace of the cluster O(store_auth) reaches.
    type: str
  store_auth:
    description:
      - How to reach the management cluster of O(store=k8s:NAMESPACE), with the connection
        options of M(kubernetes.core.k8s) (C(host), C(api_key), C(kubeconfig), C(context),
        C(ca_cert), C(validate_certs), ...); unset ones fall back to C(K8S_AUTH_*).
      - Never part of the cache key.
    type: dict
  kubeconfig:
    description:
      - Path to the kubeconfig of the host cluster (vclusters and pools). Default is E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG),
        then C(~/.kube/config), unless O(host) is set.
    type: str
    env:
      - name: K8S_AUTH_KUBECONFIG
  context:
    description: The kubeconfig context to use.
    type: str
    env:
      - name: K8S_AUTH_CONTEXT
  host:
    description: URL of the API server (AWX's Kubernetes credential sets E(K8S_AUTH_HOST)).
    type: str
    env:
      - name: K8S_AUTH_HOST
  api_key:
    description: Bearer token for the API server. Never part of the cache key.
    type: str
    env:
      - name: K8S_AUTH_API_KEY
  username:
    description: User for basic authentication.
    type: str
    env:
      - name: K8S_AUTH_USERNAME
  password:
    description: Password for basic authentication. Never part of the cache key.
    type: str
    env:
      - name: K8S_AUTH_PASSWORD
  validate_certs:
    description: Verify the API server's TLS certificate.
    type: bool
    env:
      - name: K8S_AUTH_VERIFY_SSL
      - name: K8S_AUTH_VALIDATE_CERTS
  ca_cert:
    description: CA certificate of the API server.
    type: str
    env:
      - name: K8S_AUTH_SSL_CA_CERT
      - name: K8S_AUTH_CA_CERT
  client_cert:
    description: Client certificate for the API server.
    type: str
    env:
      - name: K8S_AUTH_CERT_FILE
      - name: K8S_AUTH_CLIENT_CERT
  client_key:
    description: Key of O(client_cert).
    type: str
    env:
      - name: K8S_AUTH_KEY_FILE
      - name: K8S_AUTH_CLIENT_KEY
  proxy:
    description: HTTP proxy for the API server.
    type: str
    env:
      - name: K8S_AUTH_PROXY
  no_proxy:
    description: Hosts reached without O(proxy).
    type: str
    env:
      - name: K8S_AUTH_NO_PROXY
  impersonate_user:
    description: User to impersonate.
    type: str
    env:
      - name: K8S_AUTH_IMPERSONATE_USER
  impersonate_groups:
    description: Groups to impersonate.
    type: list
    elements: str
    env:
      - name: K8S_AUTH_IMPERSONATE_GROUPS
  namespaces:
    description:
      - Only vclusters and pool members in these namespaces. Default is every namespace.
    type: list
    elements: str
    default: []
  kubeconfig_dir:
    description:
      - Where M(ghost.infra.vcluster) writes vcluster kubeconfigs, as O(ghost.infra.vcluster_info#module:kubeconfig_dir).
      - Default is C(~/.ghost/kubeconfigs).
    type: str
  names:
    description: Only clusters whose host name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  exclude_names:
    description: Leave out clusters whose host name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  hostvars_prefix:
    description: Prefix of the host variables with the sources' views.
    type: str
    default: cluster_
notes:
  - A source that cannot be read fails the inventory with O(strict=true); otherwise it is a
    warning and the hosts of the other sources. A refresh in which a source failed is never
    cached.
  - C(expired) is computed when the sources are read; with O(cache=true) it is as old as the
    cache entry, so keep O(cache_timeout) short for plays that delete expired clusters.
seealso:
  - module: ghost.infra.cluster_info
  - module: ghost.infra.vcluster_info
  - module: ghost.infra.cluster_pool_info
"""

EXAMPLES = r"""
# Save as all.ghost.infra.clusters.yml; the registry folder ~/.ghost/clusters, and the host
# cluster from K8S_AUTH_KUBECONFIG or ~/.kube/config, then:
#   ansible-inventory -i all.ghost.infra.clusters.yml --graph
#   ansible expired -i all.ghost.infra.clusters.yml -m ansible.builtin.debug -a var=cluster_vcluster.expires_at
plugin: ghost.infra.clusters

---
# Only vclusters and pool members of two namespaces, grouped by registry label "team".
plugin: ghost.infra.clusters
sources: [registry, vclusters, pools]
namespaces: [ci, lab]
keyed_groups:
  - key: cluster_registry.labels.team | default('none')
    prefix: team
strict: true

---
# The registry AWX job templates share (Secrets in namespace ghost-registry of the management
# cluster that AWX's Kubernetes credential reaches through K8S_AUTH_*).
plugin: ghost.infra.clusters
sources: [registry]
store: k8s:ghost-registry
"""

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._inventory import clusters_client, clusters_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._inventory import k8s_connection  # noqa: E402
from ansible_collections.ghost.infra.plugins.plugin_utils.inventory import BackendDown, GhostInventory  # noqa: E402

SHAPE_OPTIONS = ("sources", "store", "namespaces", "kubeconfig_dir", "names", "exclude_names", "hostvars_prefix")


class InventoryModule(GhostInventory):

    NAME = "ghost.infra.clusters"
    SECRET_OPTIONS = k8s_connection.SECRET_OPTIONS + ("store_auth",)

    def read_hosts(self):
        options = {k: self.get_option(k) for k in SHAPE_OPTIONS}
        sources = clusters_spec.check_options(options)  # bad options fail before any read
        read, failures = {}, []
        if "registry" in sources:
            try:
                read["registry"] = clusters_client.read_registry(options["store"], self.get_option("store_auth"))
            except GhostError as exc:
                if exc.option and exc.option != "store":
                    raise
                failures.append("cannot read the cluster registry: %s" % exc)
        if "vclusters" in sources or "pools" in sources:
            self._read_host_cluster(sources, options, read, failures)
        hosts, warnings = clusters_spec.hosts(read, options)
        if failures:
            raise BackendDown("; ".join(failures), partial=hosts, warnings=warnings)
        return hosts, warnings

    def _read_host_cluster(self, sources, options, read, failures):
        k8s_connection.KUBERNETES.require()
        try:
            svc = k8s_connection.connect({k: self.get_option(k) for k in k8s_connection.CONNECTION_OPTIONS})
        except GhostError as exc:
            failures.append("cannot read the host cluster: %s" % exc)
            return
        if "vclusters" in sources:
            try:
                read["vclusters"] = clusters_client.read_vclusters(svc, namespaces=options["namespaces"],
                                                                   kubeconfig_dir=options["kubeconfig_dir"])
            except GhostError as exc:
                failures.append("cannot read the vclusters: %s" % exc)
        if "pools" in sources:
            try:
                read["pools"] = clusters_client.read_pool_members(svc, namespaces=options["namespaces"])
            except GhostError as exc:
                failures.append("cannot read the cluster pools: %s" % exc)
