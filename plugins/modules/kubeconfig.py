#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubeconfig
short_description: Write one kubeconfig with a context per cluster of the ghost.infra cluster registry
version_added: 0.1.0
description:
  - Writes one merged kubeconfig file holding every cluster of the registry (or those in
    O(ids)), with a context, cluster and user named after each cluster's id, so
    C(kubectl --context ID), k9s, Lens or an IDE can reach all of them.
  - The file is written atomically with mode C(0600) (missing folders are created with mode
    C(0700)) and only when its content changes.
  - A registered cluster whose kubeconfig cannot be read is left out with a warning.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - PyYAML >= 3.11
  - kubernetes >= 24.2.0 (only for O(store=k8s:NAMESPACE))
options:
  dest:
    description:
      - Path of the kubeconfig to write on the host running the module.
    type: path
    default: ~/.ghost/kubeconfig
  ids:
    description:
      - Only these clusters, in this order; all of them (sorted by id) when omitted.
    type: list
    elements: str
  current_context:
    description:
      - The context to make current; defaults to the first one.
    type: str
extends_documentation_fragment:
  - ghost.infra.registry
  - ghost.infra._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The path and the context names before and after; never a credential.
  platform:
    platforms: posix
notes:
  - The file holds the credentials of every cluster it lists; they never appear in the output.
seealso:
  - module: ghost.infra.cluster_join
  - module: ghost.infra.cluster_info
"""

EXAMPLES = r"""
- name: One kubeconfig for every registered cluster
  ghost.infra.kubeconfig:
    dest: ~/.kube/ghost.yaml
  register: merged

- name: Use it
  ansible.builtin.debug:
    msg: "KUBECONFIG={{ merged.path }} kubectl --context {{ merged.contexts | first }} get nodes"

- name: Two clusters of the shared registry, the second one current
  ghost.infra.kubeconfig:
    dest: /tmp/pair.yaml
    ids: [lab, edge-1]
    current_context: edge-1
    store: k8s:ghost-registry
"""

RETURN = r"""
path:
  description: The kubeconfig written (or that would be, in check mode).
  returned: always
  type: str
  sample: /home/me/.ghost/kubeconfig
contexts:
  description: Its contexts, one per cluster id, in order.
  returned: always
  type: list
  elements: str
  sample: [edge-1, lab]
current_context:
  description: Its current context, or null when the registry is empty.
  returned: always
  type: str
  sample: edge-1
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.104
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry import client, runner, stores  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.argspec import registry_argument_spec  # noqa: E402


def main():
    argument_spec = registry_argument_spec()
    argument_spec.update(
        dest={"type": "path", "default": "~/.ghost/kubeconfig"},
        ids={"type": "list", "elements": "str"},
        current_context={"type": "str"},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_libraries(module, client.YAML)

    def action():
        # Options first: bad input is reported before the store is opened.
        runner.validate_export(module.params)
        store = stores.from_options(module.params.get("store"), module.params.get("store_auth"),
                                    check_mode=module.check_mode)
        return runner.export(store, module.params, check_mode=module.check_mode, diff=module._diff,
                             hide=module.no_log_values.update)

    run(module, action)


if __name__ == "__main__":
    main()
