# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""no_log values: which strings stay masked, which a module may show again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import types

import pytest

from ansible.module_utils.common.parameters import _list_no_log_values

from ansible_collections.ghost.infra.plugins.module_utils._common import module as module_base
from ansible_collections.ghost.infra.plugins.module_utils._common import secrets
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import argspec
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import secrets as cloudinit_secrets

SPEC = dict(argspec.cloud_init_argument_spec(), password={"type": "str", "no_log": True})
CLOUD_INIT = {
    "runcmd": ["kubeadm join --token abcdef.0123456789abcdef", ["sh", "-c", "echo 1"], "1"],
    "write_files": [{"path": "/etc/agent.env", "permissions": "0600", "owner": "root:root",
                     "content": "TOKEN=s3cr3t-file"}],
    "user_data": {"bootcmd": ["yes", "setup --password hunter2-long"]},
    "vendor_data": None,
    "password_hash": "$6$salt$hash",
}


@pytest.mark.parametrize("value", ["1", "-c", "sh", "yes", "TRUE", "0600", "192.0.2.1", "10:30", "none"])
def test_trivial(value):
    assert secrets.is_trivial(value)


@pytest.mark.parametrize("value", ["hunter2", "abcdef.0123456789abcdef", "root:root", "echo 1 > x"])
def test_not_trivial(value):
    assert not secrets.is_trivial(value)


def test_leaves_collects_like_ansible():
    params = {"cloud_init": CLOUD_INIT, "password": "pw-123456"}
    ours = set(secrets.leaves(CLOUD_INIT["runcmd"])) | set(secrets.leaves(CLOUD_INIT["write_files"]))
    ansible = _list_no_log_values(SPEC, params)
    assert ours <= ansible
    assert secrets.no_log_leaves(SPEC, params) == ansible


def test_no_log_leaves_skips_the_unmasked_options():
    params = {"cloud_init": CLOUD_INIT, "password": "1"}
    kept = secrets.no_log_leaves(SPEC, params, skip=argspec.CONTENT_OPTION_PATHS)
    assert kept == {"1", "$6$salt$hash"}


def test_visible_values_of_cloud_init():
    shown = cloudinit_secrets.visible_values(CLOUD_INIT)
    assert {"1", "sh", "-c", "yes", "/etc/agent.env", "0600", "root:root"} <= shown
    for secret in ("TOKEN=s3cr3t-file", "setup --password hunter2-long",
                   "kubeadm join --token abcdef.0123456789abcdef", "echo 1"):
        assert secret not in shown


def test_unmask_keeps_values_another_no_log_option_holds():
    params = {"cloud_init": CLOUD_INIT, "password": "1"}
    module = types.SimpleNamespace(argument_spec=SPEC, params=params,
                                   no_log_values=_list_no_log_values(SPEC, params))
    module_base.unmask(module, cloudinit_secrets.visible_values(CLOUD_INIT), options=argspec.CONTENT_OPTION_PATHS)
    assert "1" in module.no_log_values  # it is also the password
    assert "-c" not in module.no_log_values and "/etc/agent.env" not in module.no_log_values
    assert {"TOKEN=s3cr3t-file", "setup --password hunter2-long", "$6$salt$hash"} <= module.no_log_values
