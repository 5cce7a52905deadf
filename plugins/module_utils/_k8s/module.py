# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module side of the Kubernetes-backed modules. Private to ghost.infra.

Every one of them is an ``AnsibleK8SModule`` (kubernetes.core's module wrapper) over the
connection options of ``argspec.py`` plus its own, supports check mode and runs one action
through ``_common.module.run``, which turns GhostError into fail_json. ``run_k8s_module`` does
that wiring once, so a module's ``main()`` only names its options and its action.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.module import run
from ansible_collections.ghost.infra.plugins.module_utils._k8s.argspec import k8s_argument_spec
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule


class K8sModule(AnsibleK8SModule):
    """kubernetes.core's AnsibleK8SModule with a public way to hide secrets found at run time."""

    def add_no_log_values(self, values):
        """Mask ``values`` (credentials read from the cluster) wherever the module's output shows them."""
        # AnsibleK8SModule keeps the AnsibleModule it wraps, which owns no_log_values, in _module.
        self._module.no_log_values.update(values)


def run_k8s_module(options, action, **module_args):
    """Build a K8sModule with the connection options plus ``options``, then exit with ``action(module)``.

    ``module_args`` go to AnsibleModule as they are (``required_if``, ...).
    """
    argument_spec = k8s_argument_spec()
    argument_spec.update(options)
    module = K8sModule(argument_spec=argument_spec, supports_check_mode=True, **module_args)
    run(module, lambda: action(module))
