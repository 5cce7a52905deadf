#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vcluster
short_description: Create or delete a vCluster virtual cluster with a time-to-live and a private kubeconfig
version_added: 0.1.0
description:
  - Creates a L(vCluster,https://www.vcluster.com/) virtual cluster in a namespace of a host
    Kubernetes cluster with the real C(vcluster) CLI (C(vcluster create NAME -n NAMESPACE --connect=false)),
    waits until it is ready and its API server answers, and writes its kubeconfig to a private
    file (mode C(0600)).
  - A vcluster publishes a kubeconfig for C(https://localhost:8443), which only a port-forward
    reaches, so O(state=present) needs to know how its API server is reached from the host
    running the module, through O(expose) (the host cluster publishes it through a LoadBalancer
    or a NodePort Service) or O(server) (a URL that reaches it), or C(exportKubeConfig.server) in
    the chart values. Without any of them the module fails before it creates anything.
  - Upgrades it (C(vcluster create --upgrade)) only when the requested O(chart_version),
    O(values), O(values_files) or O(kubernetes_version) differ from what was installed, as
    recorded by a hash in the annotation C(ghost.infra/config-hash).
  - Keeps the vcluster's lifetime on the host cluster, as annotations on its StatefulSet or
    Deployment (the object C(vcluster list) reads) C(ghost.infra/created-at),
    C(ghost.infra/ttl) and C(ghost.infra/expires-at), so every machine sees the same state and
    M(ghost.infra.vcluster_info) can tell which vclusters have expired. They are chart values
    (C(controlPlane.statefulSet.annotations)), so helm creates the workload with them and a
    vcluster whose CLI run failed halfway is still reaped once expired.
  - The kubeconfig is read from the Secret C(vc-NAME) the vcluster publishes (key C(config)), not
    from C(vcluster connect --print), which can hang or print extra lines.
  - Deletes it with C(vcluster delete) and removes the local kubeconfig when O(state=absent); a
    helm release that never got its StatefulSet (which C(vcluster delete) cannot see) is
    removed with C(helm uninstall).
  - Connects to the host cluster like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*)
    environment variables). The CLI has no C(--kubeconfig) flag, so it gets C(KUBECONFIG) and
    C(--context); with O(host) and credentials it gets a temporary kubeconfig (mode C(0600),
    removed afterwards).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
  - the vcluster CLI (tested with v0.30.0) and helm 3 on the host running the module
options:
  name:
    description:
      - Name of the virtual cluster, a DNS-1123 label that starts with a letter, at most 53
        characters (it names a Service and a helm release).
    type: str
    required: true
  namespace:
    description:
      - Host namespace of the virtual cluster; created when missing.
      - vCluster (since v0.25) allows one virtual cluster per namespace.
      - A namespace the module created is removed by C(vcluster delete) once no virtual cluster
        is left in it.
    type: str
    default: ghostcluster
  state:
    description:
      - V(present) creates (or upgrades) the virtual cluster, V(absent) deletes it.
      - V(refreshed) only makes sure the local kubeconfig is fresh (ghostctl's self-refreshing
        kubeconfigs) - it re-reads it from Secret C(vc-NAME) when it is missing, older than
        O(kubeconfig_max_age) or no longer reaches the virtual API server (C(/version) within
        10 seconds), keeping the address it was written with (or O(server) / O(expose) when
        given), and proves it with C(/version). Nothing is created or upgraded; a vcluster that
        does not exist is an error. Content that did not change is not rewritten, only its
        modification time renewed. See RV(refresh).
    type: str
    choices: [present, absent, refreshed]
    default: present
  ttl:
    description:
      - How long the virtual cluster should live, counted from its creation, such as V(30m),
        V(2h), V(1d) or V(1d12h) (units C(s), C(m), C(h), C(d), C(w)).
      - Stored in the annotations C(ghost.infra/ttl) and C(ghost.infra/expires-at). A new value
        moves C(expires-at) (still counted from the creation time); a re-run never extends it.
        Without O(ttl) the stored TTL is kept.
      - At most V(365d).
      - Nothing deletes an expired virtual cluster by itself; run C(playbooks/vcluster_reap.yml)
        (from cron or an AWX schedule) to delete every expired one.
    type: str
  values:
    description:
      - Helm values for the vCluster chart (the C(vcluster.yaml) format), applied after O(values_files).
    type: dict
  values_files:
    description:
      - Paths of helm values files on the host running the module, in order. Their content is
        part of the upgrade decision.
    type: list
    elements: path
  chart_version:
    description:
      - Version of the vCluster chart. Defaults to the version of the CLI.
    type: str
  chart_dir:
    description:
      - Local folder of the vCluster chart, passed as C(--local-chart-dir) (air-gapped hosts,
        or a CLI built without the embedded chart). Its C(Chart.yaml) version is part of the
        upgrade decision.
    type: path
  kubernetes_version:
    description:
      - Kubernetes version of the virtual control plane, such as V(v1.33.4).
      - Sets the chart value C(controlPlane.distro.k8s.image.tag), over O(values).
    type: str
  vcluster_binary:
    description:
      - The vcluster CLI to run, a name looked up on E(PATH) or a path.
    type: str
    default: vcluster
  wait:
    description:
      - Wait until the virtual cluster's pod is Ready, its kubeconfig is published, an exposed
        Service has an address (O(expose)) and its API server answers C(/version) through the
        exported kubeconfig (O(state=present)), or until its workload, pods and kubeconfig
        Secret are gone (O(state=absent)).
      - Without waiting, the kubeconfig is written only if it is already published (and, with
        O(expose), the Service already has an address).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait in all. Each CLI call may take this long too (at least 60 seconds).
    type: int
    default: 300
  kubeconfig_dest:
    description:
      - Where to write the virtual cluster's kubeconfig (mode C(0600); missing folders are
        created with mode C(0700)); removed when O(state=absent).
      - Defaults to C(~/.ghost/kubeconfigs/NAMESPACE/NAME.yaml) on the host running the module,
        so vclusters of the same name in different namespaces never share a file.
    type: path
  server:
    description:
      - URL at which the virtual cluster's API server is reached from the host running the
        module (and wherever the kubeconfig is used), such as the address of an ingress with
        TLS passthrough, a DNS name of a load balancer, or C(https://NAME.NAMESPACE.svc) for a
        controller inside the host cluster.
      - Set as the chart value C(exportKubeConfig.server), so the vcluster publishes it in its
        own kubeconfig, and its host added to C(controlPlane.proxy.extraSANs), so the
        vcluster's certificate is valid for it; written into the exported kubeconfig.
      - One of O(server), O(expose) or C(exportKubeConfig.server) in the values is required
        with O(state=present).
    type: str
  expose:
    description:
      - Publish the virtual cluster's API server through its Service, as C(vcluster create
        --expose) does (chart value C(controlPlane.service.spec.type)), and write the address
        into the exported kubeconfig, as C(vcluster connect) finds it.
      - V(loadbalancer) - a LoadBalancer Service; the address is its load balancer's hostname
        or IP (port 443). Needs a load balancer controller on the host cluster (a cloud, MetalLB,
        k3s servicelb, ...); the module waits for the address within O(wait_timeout).
      - V(nodeport) - a NodePort Service; the address is the host IP of the node running the
        vcluster pod (the vcluster's certificate is valid for it) and the node port. That node
        must be reachable from the host running the module.
      - With O(server) too, the Service type is set and O(server) is the address.
    type: str
    choices: [loadbalancer, nodeport]
  kubeconfig_max_age:
    description:
      - How long a local kubeconfig stays fresh after it was written or re-read from the host
        cluster (its modification time), as a duration such as V(30m), V(1h) or V(1d).
      - O(state=present) re-reads it on every run (and renews its time);
        O(state=refreshed) re-reads it only once it is older, or does not reach the API.
    type: str
    default: 1h
  registry:
    description:
      - Also record the virtual cluster in the cluster registry's folder store, as
        C(~/.ghost/clusters/vc-NAMESPACE-NAME.json) pointing at its kubeconfig (no second copy
        of its credentials), so M(ghost.infra.cluster_info), M(ghost.infra.kubeconfig) and
        M(ghost.infra.workspace) see it under the id C(vc-NAMESPACE-NAME) (shortened with a hash
        beyond 63 characters). O(state=absent) removes the record.
      - An id that M(ghost.infra.cluster_join) gave to another cluster is left alone, with a warning.
    type: bool
    default: true
  return_kubeconfig:
    description:
      - Also return the kubeconfig content as RV(vcluster.kubeconfig).
      - It holds credentials, so the task result is then hidden from the output as with
        C(no_log) (a registered variable still has it).
      - Refused under C(async), because Ansible writes an async task's result to a job file under
        C(~/.ansible_async) that other users can read, and C(async_status) returns it
        uncensored. Read the file at RV(vcluster.kubeconfig_path) instead.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_VCLUSTER
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the virtual cluster's name, namespace, status, lifetime and config hash
        before and after; never the kubeconfig.
  platform:
    platforms: posix
notes:
  - The kubeconfig content and its credentials (token, client certificate and key) never
    appear in the module's output or diff, unless O(return_kubeconfig=true).
seealso:
  - module: ghost.infra.vcluster_info
  - module: ghost.infra.cluster_info
  - module: kubernetes.core.k8s
  - name: vCluster documentation
    description: What a virtual cluster is and how the vcluster CLI deploys it.
    link: https://www.vcluster.com/docs
"""

EXAMPLES = r"""
- name: A virtual cluster for two hours, its API server on a NodePort of the host cluster
  ghost.infra.vcluster:
    name: review-42
    ttl: 2h
    expose: nodeport
  register: review

- name: Use it
  kubernetes.core.k8s_info:
    kubeconfig: "{{ review.vcluster.kubeconfig_path }}"
    kind: Namespace

- name: Pin the Kubernetes version and some chart values, on a host cluster given by context
  ghost.infra.vcluster:
    name: cks-lab
    namespace: cks-lab
    ttl: 1d
    kubernetes_version: v1.33.4
    values:
      controlPlane:
        statefulSet:
          persistence:
            volumeClaim:
              enabled: false
    context: lab-admin
    server: https://cks-lab.vc.example.com

- name: Air-gapped host with a local chart and a host cluster reached by token, on a cloud load balancer
  ghost.infra.vcluster:
    name: ci
    expose: loadbalancer
    chart_dir: /opt/vcluster/chart
    host: https://k8s.example.com:6443
    api_key: "{{ k8s_token }}"
    ca_cert: /etc/ssl/k8s-ca.pem

- name: Hand the kubeconfig to a later task without printing it
  ghost.infra.vcluster:
    name: review-42
    expose: nodeport
    return_kubeconfig: true
  register: review

- name: Make sure its kubeconfig is fresh before using it (re-read when older than 30 minutes or unreachable)
  ghost.infra.vcluster:
    name: review-42
    state: refreshed
    kubeconfig_max_age: 30m
  register: review

- name: Delete it and its local kubeconfig
  ghost.infra.vcluster:
    name: review-42
    state: absent
"""

RETURN = r"""
vcluster:
  description:
    - The virtual cluster after the change (as it would be, in check mode).
    - With O(state=absent), the deleted virtual cluster as it was; empty when there was nothing to delete.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the virtual cluster.
      type: str
      sample: review-42
    namespace:
      description: Its host namespace.
      type: str
      sample: ghostcluster
    status:
      description:
        - V(running) (a vCluster pod is Ready), V(not_ready) (starting or failing) or V(offline)
          (paused or scaled to zero), as seen on the host cluster.
        - Null in check mode for a virtual cluster that would be created.
      type: str
      sample: running
    created_at:
      description: When it was created (annotation C(ghost.infra/created-at), RFC 3339 UTC).
      type: str
      sample: "2025-06-01T08:00:00Z"
    ttl:
      description: Its time-to-live (annotation C(ghost.infra/ttl)); null without one.
      type: str
      sample: 2h
    expires_at:
      description: When it expires (annotation C(ghost.infra/expires-at)); null without a TTL.
      type: str
      sample: "2025-06-01T10:00:00Z"
    expired:
      description: Whether RV(vcluster.expires_at) has passed.
      type: bool
      sample: false
    chart_version:
      description: Version of the installed vCluster chart (from the workload's C(chart) label).
      type: str
      sample: 0.30.0
    kubeconfig_path:
      description: The local kubeconfig file, or null when none was written.
      type: str
      sample: /home/me/.ghost/kubeconfigs/ghostcluster/review-42.yaml
    server:
      description:
        - The API server URL in the exported kubeconfig (O(state=present)); null when none was written.
      type: str
      sample: https://192.0.2.10:31443
    kubeconfig:
      description: The kubeconfig content (with credentials).
      type: str
      returned: when O(return_kubeconfig=true) and the kubeconfig is published
      sample: "apiVersion: v1\nkind: Config\n..."
refresh:
  description: What O(state=refreshed) found and did.
  returned: when O(state=refreshed)
  type: dict
  contains:
    needed:
      description: Whether the kubeconfig was re-read from the host cluster.
      type: bool
      sample: true
    reason:
      description:
        - Why - V(missing), V(unreadable), V(stale) (older than O(kubeconfig_max_age)) or
          V(unreachable) (it did not answer C(/version)); null when it was fresh and reachable.
      type: str
      sample: stale
    age:
      description: Seconds since the local kubeconfig was last written or re-read, before this run; null when there was none.
      type: int
      sample: 4210
duration:
  description: Seconds the module took, including waiting.
  returned: always
  type: float
  sample: 12.831
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
import os  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.cli import VclusterCli, resolve_auth  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.client import VclusterClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.runner import ensure_vcluster  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.spec import DEFAULT_NAMESPACE, validate_params  # noqa: E402


def main():
    def action(module):
        # Options first: bad input is reported before the CLI is looked for or the cluster reached.
        options = validate_params(module.params)
        cli = VclusterCli(options["vcluster_binary"], resolve_auth(module.params, os.environ),
                          timeout=options["wait_timeout"])
        result, secrets = ensure_vcluster(VclusterClient(connect(module)), cli, options,
                                          check_mode=module.check_mode, diff=module._diff)
        module.add_no_log_values(secrets)
        return result

    run_k8s_module(
        {
            "name": {"type": "str", "required": True},
            "namespace": {"type": "str", "default": DEFAULT_NAMESPACE},
            "state": {"type": "str", "choices": ["present", "absent", "refreshed"], "default": "present"},
            "ttl": {"type": "str"},
            "values": {"type": "dict"},
            "values_files": {"type": "list", "elements": "path"},
            "chart_version": {"type": "str"},
            "chart_dir": {"type": "path"},
            "kubernetes_version": {"type": "str"},
            "vcluster_binary": {"type": "str", "default": "vcluster"},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 300},
            "kubeconfig_dest": {"type": "path"},
            "server": {"type": "str"},
            "expose": {"type": "str", "choices": ["loadbalancer", "nodeport"]},
            "return_kubeconfig": {"type": "bool", "default": False},
            "registry": {"type": "bool", "default": True},
            "kubeconfig_max_age": {"type": "str", "default": "1h"},
        },
        action,
    )


if __name__ == "__main__":
    main()
