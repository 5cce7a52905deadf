# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_k8s_module and K8sModule over a fake AnsibleModule (AnsibleK8SModule's module_class setting)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import K8sModule, run_k8s_module
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC


class Exit(Exception):
    pass


class FakeAnsibleModule:
    """Takes AnsibleModule's arguments and records how the module ends."""

    built = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.params = {"name": "x"}
        self.check_mode = False
        self._diff = False
        self.no_log_values = set()
        self.ended = None
        FakeAnsibleModule.built.append(self)

    def exit_json(self, **kwargs):
        self.ended = ("exit", kwargs)
        raise Exit()

    def fail_json(self, **kwargs):
        self.ended = ("fail", kwargs)
        raise Exit()


FAKE = {"module_class": FakeAnsibleModule, "check_k8s": False, "check_pyyaml": False}


def run(action, **module_args):
    FakeAnsibleModule.built = []
    with pytest.raises(Exit):
        run_k8s_module({"name": {"type": "str", "required": True}}, action, **dict(FAKE, **module_args))
    return FakeAnsibleModule.built[0]


def test_module_has_the_connection_options_its_own_and_check_mode():
    seen = []
    built = run(lambda module: seen.append(module) or {"changed": False},
                required_if=[("name", "x", ("context",))])
    spec = built.kwargs["argument_spec"]
    assert set(spec) == set(AUTH_ARG_SPEC) | {"name"}
    assert built.kwargs["supports_check_mode"] is True
    assert built.kwargs["required_if"] == [("name", "x", ("context",))]
    assert isinstance(seen[0], K8sModule) and seen[0].params == {"name": "x"}
    assert built.ended[0] == "exit" and built.ended[1]["changed"] is False and "duration" in built.ended[1]


def test_ghost_errors_fail_the_module():
    def action(module):
        raise GhostError("Failed to connect to the Kubernetes API: refused")
    built = run(action)
    assert built.ended[0] == "fail"
    assert built.ended[1]["msg"] == "Failed to connect to the Kubernetes API: refused"


def test_secrets_found_at_run_time_are_hidden():
    def action(module):
        module.add_no_log_values(["token-1", "key-2"])
        return {"changed": True}
    built = run(action)
    assert built.no_log_values == {"token-1", "key-2"}
