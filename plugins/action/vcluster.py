# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for ghost.infra.vcluster: runs the module and hides a returned kubeconfig.

A module cannot both return a value and register it in ``no_log_values`` (Ansible would mask
the returned value itself). So when the module returns ``vcluster.kubeconfig``
(``return_kubeconfig: true``), this plugin marks the result ``_ansible_no_log``, as the
``include_vars`` action does: callbacks print it censored at any verbosity, while a
registered variable keeps the kubeconfig.

That cannot be made safe under ``async``: the module's result then goes to the job file
``~/.ansible_async/<jid>`` (written with the umask, usually world-readable) before this plugin
sees it, and ``async_status`` returns it without the censoring. So ``return_kubeconfig`` with
``async`` is refused before the module runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

ASYNC_REFUSED = (
    "return_kubeconfig cannot be used with async: Ansible writes an async task's result, kubeconfig and "
    "credentials included, to a job file under ~/.ansible_async that other users can read, and async_status "
    "returns it uncensored. Drop return_kubeconfig and read the file at vcluster.kubeconfig_path, or run "
    "the task without async")


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # no effect since Ansible 2.5
        if self._task.async_val and boolean(self._task.args.get("return_kubeconfig", False), strict=False):
            result.update(failed=True, msg=ASYNC_REFUSED)
            return result
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if isinstance(result.get("vcluster"), dict) and result["vcluster"].get("kubeconfig") is not None:
            result["_ansible_no_log"] = True
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
