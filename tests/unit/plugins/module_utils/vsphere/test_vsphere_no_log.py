# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""esxi_vm's no_log options (guestinfo, cloud_init content): secrets stay masked, strings that
cannot be secrets do not garble the output. main() runs with patched module args and a
runner that returns what a real run returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import spec
from ansible_collections.ghost.infra.plugins.modules import esxi_vm

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield

GUESTINFO_SECRET = "guestinfo-secret-value-5e1d"
RUNCMD_SECRET = "kubeadm join --token abcdef.0123456789abcdef"
PASSWORD = "vsphere-password-71c2"


def run_module(capsys, monkeypatch, result, **args):
    """esxi_vm's main() with ``args``; the runner returns ``result``. Returns the printed JSON."""
    monkeypatch.setattr(esxi_vm.runner, "esxi_vm", lambda params, **kwargs: dict(result))
    base = {"hostname": "vcenter", "username": "root", "password": PASSWORD, "name": "ghost-web1"}
    base.update(args)
    with patch_module_args(base), pytest.raises(SystemExit):
        esxi_vm.main()
    return json.loads(capsys.readouterr().out)


RESULT = {
    "changed": True,
    "vm": {"name": "ghost-web1", "ip_address": "192.0.2.10", "cpu": 1, "memory_mb": 1024,
           "folder": "/DC0/vm/lab1", "guestinfo": {"guestinfo.debug": "********"}},
    "changes": ["guestinfo.debug: None -> ********", "power_state: poweredOff -> poweredOn"],
}


def test_trivial_guestinfo_values_do_not_garble_the_output(capsys, monkeypatch):
    out = run_module(capsys, monkeypatch, RESULT, guestinfo={"debug": "1", "mode": "0600", "on": True,
                                                             "token": GUESTINFO_SECRET})
    assert out["vm"]["name"] == "ghost-web1"
    assert out["vm"]["ip_address"] == "192.0.2.10"
    assert out["vm"]["folder"] == "/DC0/vm/lab1"
    assert out["vm"]["cpu"] == 1
    # The invocation (shown at -vvv) keeps the keys and what cannot be a secret.
    assert out["invocation"]["module_args"]["guestinfo"] == {
        "debug": "1", "mode": "0600", "on": True, "token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}


def test_secret_guestinfo_values_stay_masked(capsys, monkeypatch):
    echoed = dict(RESULT, note="token %s in a message" % GUESTINFO_SECRET)
    out = run_module(capsys, monkeypatch, echoed, guestinfo={"debug": "1", "token": GUESTINFO_SECRET})
    assert GUESTINFO_SECRET not in json.dumps(out)
    assert out["note"] == "token ******** in a message"


def test_cloud_init_content_and_guestinfo_together(capsys, monkeypatch):
    echoed = dict(RESULT, note="%s / %s / %s" % (GUESTINFO_SECRET, RUNCMD_SECRET, PASSWORD))
    out = run_module(capsys, monkeypatch, echoed, guestinfo={"debug": "1", "token": GUESTINFO_SECRET},
                     cloud_init={"runcmd": [RUNCMD_SECRET, "1"]})
    text = json.dumps(out)
    for secret in (GUESTINFO_SECRET, RUNCMD_SECRET, PASSWORD):
        assert secret not in text
    assert out["vm"]["ip_address"] == "192.0.2.10"
    assert out["invocation"]["module_args"]["cloud_init"]["runcmd"] == ["VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "1"]


def test_visible_values():
    params = {"guestinfo": {"debug": "1", "flag": True, "count": 3, "token": GUESTINFO_SECRET,
                            "path": "/etc/agent.env"},
              "cloud_init": {"runcmd": [RUNCMD_SECRET, "-c"],
                             "write_files": [{"path": "/etc/agent.env", "owner": "root:root", "content": "x" * 20}]}}
    shown = spec.visible_values(params)
    assert {"1", "3", "-c", "root:root"} <= shown
    # A write_files path is no secret, but the same string as a guestinfo value may be one.
    for secret in (GUESTINFO_SECRET, RUNCMD_SECRET, "/etc/agent.env", "x" * 20):
        assert secret not in shown
    assert spec.visible_values({"guestinfo": None, "cloud_init": None}) == set()
