#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vcluster_preflight
short_description: Check that everything is there to run vCluster virtual clusters from here (ghostctl init)
version_added: 0.1.0
description:
  - The checks of C(ghostctl init), as one read-only task before M(ghost.infra.vcluster) - the
    vcluster CLI is installed (and at least O(min_version)), helm is installed, the host
    cluster's API answers, the namespace exists or may be created (asked with a
    SelfSubjectAccessReview; nothing is created), and the private folders for kubeconfigs and
    the cluster registry can be written.
  - Fails when a check fails, with the message ghostctl gives (C(vcluster CLI not found in
    PATH), C(failed to connect to Kubernetes cluster), C(failed to create namespace),
    C(failed to initialize metadata store)) and how to fix it; RV(checks) lists every check.
  - Connects to the host cluster like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*)
    environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
options:
  namespace:
    description:
      - Host namespace the virtual cluster will live in.
    type: str
    default: ghostcluster
  vcluster_binary:
    description:
      - The vcluster CLI, a name looked up on E(PATH) or a path.
    type: str
    default: vcluster
  min_version:
    description:
      - Oldest acceptable vcluster CLI version, such as V(0.25.0).
    type: str
  kubeconfig_dir:
    description:
      - Folder of the vcluster kubeconfigs; defaults to C(~/.ghost/kubeconfigs).
    type: path
  registry_dir:
    description:
      - Folder of the cluster registry; defaults to C(~/.ghost/clusters).
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
- name: Check the vcluster CLI, helm, the host cluster and the local store first
  ghost.infra.vcluster_preflight:
    namespace: review-42
    min_version: 0.25.0

- name: Report without failing
  ghost.infra.vcluster_preflight:
  register: preflight
  ignore_errors: true
"""

RETURN = r"""
checks:
  description: Every check, in order - C(vcluster_cli), C(helm), C(host_api), C(namespace), C(store).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Which check.
      type: str
      sample: vcluster_cli
    ok:
      description: Whether it passed.
      type: bool
      sample: true
    detail:
      description: What it found (for a failure, ghostctl's message).
      type: str
      sample: vcluster CLI 0.30.0 found at /usr/local/bin/vcluster
    fix:
      description: How to fix a failure; null when it passed.
      type: str
      sample: null
vcluster_version:
  description: Version of the vcluster CLI, or null when it is missing.
  returned: always
  type: str
  sample: 0.30.0
helm_version:
  description: Version of helm, or null when it is missing.
  returned: always
  type: str
  sample: 3.19.5
server_version:
  description: Kubernetes version of the host cluster, or null when it is not reachable.
  returned: always
  type: str
  sample: v1.34.4
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.8
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
import os  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.spec import default_folder  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import preflight  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.spec import (  # noqa: E402
    DEFAULT_NAMESPACE,
    default_kubeconfig_dir,
    validate_namespace,
)


def main():
    def action(module):
        namespace = validate_namespace(module.params["namespace"])
        cli_result, cli_version = preflight.cli_check(module.params["vcluster_binary"], os.environ,
                                                      minimum=module.params.get("min_version"))
        helm_result, helm_version = preflight.helm_check(os.environ)
        host, server_version = preflight.host_checks(lambda: preflight.PreflightClient(connect(module)), namespace)
        store = preflight.store_check([module.params.get("kubeconfig_dir") or default_kubeconfig_dir(),
                                       module.params.get("registry_dir") or default_folder()])
        checks = [cli_result, helm_result] + host + [store]
        result = {"changed": False, "checks": checks, "vcluster_version": cli_version,
                  "helm_version": helm_version, "server_version": server_version}
        failed = preflight.summary(checks)
        if failed:
            raise GhostError(failed, details={key: value for key, value in result.items() if key != "changed"})
        return result

    run_k8s_module({
        "namespace": {"type": "str", "default": DEFAULT_NAMESPACE},
        "vcluster_binary": {"type": "str", "default": "vcluster"},
        "min_version": {"type": "str"},
        "kubeconfig_dir": {"type": "path"},
        "registry_dir": {"type": "path"},
    }, action)


if __name__ == "__main__":
    main()
