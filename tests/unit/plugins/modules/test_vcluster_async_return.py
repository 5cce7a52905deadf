# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ghost.infra.vcluster's action plugin lets a task return: a returned kubeconfig is hidden
from callbacks, and refused under async, where the job file and async_status would show it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest

from ansible_collections.ghost.infra.plugins.action import vcluster as action

KUBECONFIG = "apiVersion: v1\nusers: [{name: u, user: {client-key-data: S0VZ}}]\n"


def make(args, async_val=0):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = async_val
    task.check_mode = False
    task.diff = False
    task.environment = []
    connection = mock.MagicMock()
    connection.has_native_async = False
    plugin = action.ActionModule(task, connection, mock.MagicMock(), loader=None, templar=mock.MagicMock(),
                                 shared_loader_obj=None)
    plugin._execute_module = mock.MagicMock(return_value={
        "changed": False, "vcluster": {"name": "vc", "kubeconfig": KUBECONFIG if args.get("return_kubeconfig") else None}})
    plugin._remove_tmp_path = mock.MagicMock()
    return plugin


@pytest.mark.parametrize("value", [True, "yes", "true"])
def test_return_kubeconfig_under_async_is_refused_before_the_module_runs(value):
    plugin = make({"name": "vc", "return_kubeconfig": value}, async_val=300)
    result = plugin.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"].startswith("return_kubeconfig cannot be used with async")
    assert "~/.ansible_async" in result["msg"] and "async_status" in result["msg"]
    plugin._execute_module.assert_not_called()  # no job file is ever written


def test_async_without_return_kubeconfig_runs():
    plugin = make({"name": "vc"}, async_val=300)
    result = plugin.run(task_vars={})
    assert "failed" not in result and "_ansible_no_log" not in result
    assert plugin._execute_module.call_args.kwargs["wrap_async"] is True


def test_returned_kubeconfig_hides_the_result():
    plugin = make({"name": "vc", "return_kubeconfig": True})
    result = plugin.run(task_vars={})
    assert result["_ansible_no_log"] is True and result["vcluster"]["kubeconfig"] == KUBECONFIG
    assert not plugin._execute_module.call_args.kwargs["wrap_async"]
