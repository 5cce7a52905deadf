# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: kubevirt
short_description: KubeVirt VirtualMachines across namespaces
version_added: 0.1.0
description:
  - Lists the KubeVirt VirtualMachines of a Kubernetes cluster (every namespace, or those in
    O(namespaces)) as inventory hosts, named C(<namespace>_<name>) by default.
  - C(ansible_host) (and C(ansible_port)) come from a Service that selects the VM and has a
    port named in O(service_port_names) (any number of SSH Services, by port name), or from
    the address of the VM instance's interface, in the order of O(ansible_host_sources).
  - Host variables are the VM's name, namespace, uid, labels, run strategy, status, its
    instance's phase, node and interfaces, the Services selecting it and its cluster pool,
    each prefixed with O(hostvars_prefix). Never the VM's spec (cloud-init user data lives
    there) nor its annotations.
  - Each host is in the groups C(kubevirt_namespace_<namespace>) and
    C(kubevirt_run_strategy_<strategy>), and C(kubevirt_pool_<pool>) when its namespace is a
    member of a M(ghost.infra.cluster_pool) (label C(ghost.infra/pool)).
  - One refresh lists VirtualMachines, their instances and Services once per namespace in
    O(namespaces) (or once for all namespaces), Nodes only when a NodePort Service is there,
    and the pool namespaces once.
  - The source file's name must end in C(ghost.infra.kubevirt.yml) or C(ghost.infra.kubevirt.yaml).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; makes the file a source for it.
    required: true
    type: str
    choices: [ghost.infra.kubevirt]
  kubeconfig:
    description:
      - Path to a kubeconfig file. Default is E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG),
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
      - Only VMs in these namespaces (one list per namespace and kind). Default is every
        namespace (one list per kind), which needs the right to list them cluster-wide.
    type: list
    elements: str
    default: []
  label_selector:
    description: Only VMs with these labels, a Kubernetes label selector (C(env=lab,tier!=db)).
    type: str
  names:
    description: Only VMs whose name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  exclude_names:
    description: Leave out VMs whose name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  ansible_host_sources:
    description:
      - Where C(ansible_host) comes from, in order of preference.
      - V(service) is a Service selecting the VM with a port named in O(service_port_names)
        (its load balancer address and port, or a node address and the node port, or its
        cluster IP, following O(service_types)); it also sets C(ansible_port).
      - V(interface) is the first usable address of the VM instance's interfaces (of
        O(network_name) when set); pod network addresses are reachable from inside the
        cluster only.
    type: list
    elements: str
    choices: [service, interface]
    default: [service, interface]
  service_port_names:
    description:
      - Names of the Service ports that lead to SSH, in order of preference. Any number of
        Services can select a VM; the first port name, then the first type of
        O(service_types), then the Service name decides.
    type: list
    elements: str
    default: [ssh]
  service_types:
    description: The Service types that can give an address, in order of preference.
    type: list
    elements: str
    choices: [LoadBalancer, NodePort, ClusterIP]
    default: [LoadBalancer, NodePort]
  network_name:
    description: The VM instance interface (its C(name) in the VM spec) whose address to use.
    type: str
  pool_groups:
    description:
      - Put VMs whose namespace is a cluster pool member in C(kubevirt_pool_<pool>) (one list
        of Namespaces labelled C(ghost.infra/pool) per refresh).
    type: bool
    default: true
  name_format:
    description:
      - The inventory host name of a VM, a Python format string with the fields
        C({namespace}), C({name}) and C({uid}).
    type: str
    default: "{namespace}_{name}"
  hostvars_prefix:
    description: Prefix of the host variables.
    type: str
    default: kubevirt_
notes:
  - An API server that does not answer, refuses the credentials or does not serve KubeVirt
    fails the source with O(strict=true); otherwise it is a warning and the source adds no
    hosts. A refresh that failed is never cached.
  - With O(cache=true), hosts come from the cache while it is fresh, so a second run makes no
    Kubernetes API call. Changing a filter or a source option reads again.
seealso:
  - name: kubevirt.core.kubevirt
    description: The inventory plugin of kubevirt.core.
    link: https://docs.ansible.com/ansible/latest/collections/kubevirt/core/kubevirt_inventory.html
"""

EXAMPLES = r"""
# Save as lab.ghost.infra.kubevirt.yml; the cluster from K8S_AUTH_KUBECONFIG or ~/.kube/config
# (AWX's Kubernetes credential injects K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and
# K8S_AUTH_SSL_CA_CERT), then:
#   ansible-inventory -i lab.ghost.infra.kubevirt.yml --graph
plugin: ghost.infra.kubevirt

---
# Two namespaces, VMs labelled env=lab, SSH through a LoadBalancer or NodePort Service whose
# port is named ssh (or ssh-alt), else the pod network address; grouped by OS label.
plugin: ghost.infra.kubevirt
namespaces: [team-a, team-b]
label_selector: env=lab
service_port_names: [ssh, ssh-alt]
keyed_groups:
  - key: kubevirt_labels['kubevirt.io/os'] | default('unknown')
    prefix: os
compose:
  ansible_user: "'fedora'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 300

---
# From a jump host inside the cluster network: the address of the secondary network.
plugin: ghost.infra.kubevirt
ansible_host_sources: [interface]
network_name: lab-net
name_format: "{name}.{namespace}"
strict: true
"""

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._inventory import k8s_connection, kubevirt_client, kubevirt_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.plugin_utils.inventory import BackendDown, GhostInventory  # noqa: E402

SHAPE_OPTIONS = ("namespaces", "label_selector", "names", "exclude_names", "ansible_host_sources",
                 "service_port_names", "service_types", "network_name", "pool_groups", "name_format",
                 "hostvars_prefix")


class InventoryModule(GhostInventory):

    NAME = "ghost.infra.kubevirt"
    SECRET_OPTIONS = k8s_connection.SECRET_OPTIONS

    def read_hosts(self):
        options = {k: self.get_option(k) for k in SHAPE_OPTIONS}
        sources = kubevirt_spec.check_options(options)  # bad options fail before any API call
        k8s_connection.KUBERNETES.require()
        connection = {k: self.get_option(k) for k in k8s_connection.CONNECTION_OPTIONS}
        try:
            read = kubevirt_client.read_vms(connection, namespaces=options["namespaces"],
                                            label_selector=options["label_selector"],
                                            services="service" in sources, pools=options["pool_groups"])
        except GhostError as exc:
            raise BackendDown("cannot read the VirtualMachines: %s" % exc)
        return kubevirt_spec.hosts(read, options)
