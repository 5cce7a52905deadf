#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vcluster_info
short_description: List vCluster virtual clusters with their time-to-live
version_added: 0.1.0
description:
  - Lists the virtual clusters of a host Kubernetes cluster (the StatefulSets and Deployments
    labelled C(app=vcluster), as C(vcluster list) does), in one namespace or in all of them.
  - Reports each one's status, its lifetime from the annotations M(ghost.infra.vcluster) keeps
    (C(ghost.infra/created-at), C(ghost.infra/ttl), C(ghost.infra/expires-at)) and whether it
    has expired, so a play can delete expired virtual clusters (see C(playbooks/vcluster_reap.yml)).
  - Reports whether each local kubeconfig is fresh (O(kubeconfig_max_age)) and reaches its
    virtual API server; M(ghost.infra.vcluster) with O(ghost.infra.vcluster#module:state=refreshed)
    re-reads a stale one.
  - Reads the host cluster only; the vcluster CLI is not needed.
  - Connects like M(kubernetes.core.k8s_info) (same options, same C(K8S_AUTH_*) environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
options:
  name:
    description:
      - Only the virtual cluster with this name.
    type: str
  namespace:
    description:
      - Only virtual clusters in this namespace; all namespaces when omitted.
    type: str
  kubeconfig_max_age:
    description:
      - A local kubeconfig written or re-read from the host cluster longer ago than this (such
        as V(30m), V(1h), V(1d)) is reported with RV(vclusters[].kubeconfig_fresh=false).
    type: str
    default: 1h
  check_reachable:
    description:
      - Check, through each local kubeconfig, that the virtual API server answers C(/version)
        (RV(vclusters[].reachable)); all in parallel within O(reachable_timeout).
    type: bool
    default: true
  reachable_timeout:
    description:
      - Seconds the reachability checks of all vclusters together may take.
    type: int
    default: 10
  kubeconfig_dir:
    description:
      - Folder of the local kubeconfigs written by M(ghost.infra.vcluster), used to fill
        RV(vclusters[].kubeconfig_path) with C(KUBECONFIG_DIR/NAMESPACE/NAME.yaml).
      - Defaults to C(~/.ghost/kubeconfigs) on the host running the module.
    type: path
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.INFO_MODULE
  - ghost.infra._attributes.ACTIONGROUP_VCLUSTER
attributes:
  platform:
    platforms: posix
seealso:
  - module: ghost.infra.vcluster
"""

EXAMPLES = r"""
- name: List every virtual cluster
  ghost.infra.vcluster_info:
  register: vc

- name: Show the expired ones
  ansible.builtin.debug:
    msg: "{{ vc.vclusters | selectattr('expired') | map(attribute='name') | list }}"

- name: One virtual cluster, on a host cluster given by kubeconfig and context
  ghost.infra.vcluster_info:
    name: review-42
    namespace: ghostcluster
    kubeconfig: ~/.kube/lab.yaml
    context: lab-admin
"""

RETURN = r"""
vclusters:
  description: The virtual clusters found, sorted by namespace and name.
  returned: always
  type: list
  elements: dict
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
      description: V(running) (a vCluster pod is Ready), V(not_ready) (starting or failing) or V(offline) (paused or scaled to zero).
      type: str
      sample: running
    created_at:
      description: When it was created (annotation C(ghost.infra/created-at), else the workload's creation time; RFC 3339 UTC).
      type: str
      sample: "2025-06-01T08:00:00Z"
    ttl:
      description: Its time-to-live; null without one.
      type: str
      sample: 2h
    expires_at:
      description: When it expires; null without a TTL.
      type: str
      sample: "2025-06-01T10:00:00Z"
    expired:
      description: Whether RV(vclusters[].expires_at) has passed.
      type: bool
      sample: false
    chart_version:
      description: Version of the installed vCluster chart.
      type: str
      sample: 0.30.0
    kubeconfig_path:
      description:
        - The local kubeconfig file written by M(ghost.infra.vcluster) for this vcluster
          (C(NAMESPACE/NAME.yaml) under O(kubeconfig_dir)), or null when there is none here.
      type: str
      sample: /home/me/.ghost/kubeconfigs/ghostcluster/review-42.yaml
    kubeconfig_fresh:
      description:
        - Whether the local kubeconfig was written or re-read from the host cluster within
          O(kubeconfig_max_age); false when there is none.
      type: bool
      sample: true
    reachable:
      description:
        - Whether the virtual API server answered C(/version) through the local kubeconfig; null
          when there is no local kubeconfig or O(check_reachable=false).
      type: bool
      sample: true
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.214
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.client import VclusterClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.runner import list_vclusters  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.spec import validate_filters  # noqa: E402


def main():
    def action(module):
        # Filters first: bad input is reported before the cluster is reached.
        filters = validate_filters(module.params)
        return list_vclusters(VclusterClient(connect(module)), filters)

    run_k8s_module({"name": {"type": "str"}, "namespace": {"type": "str"}, "kubeconfig_dir": {"type": "path"},
                    "kubeconfig_max_age": {"type": "str", "default": "1h"},
                    "check_reachable": {"type": "bool", "default": True},
                    "reachable_timeout": {"type": "int", "default": 10}}, action)


if __name__ == "__main__":
    main()
