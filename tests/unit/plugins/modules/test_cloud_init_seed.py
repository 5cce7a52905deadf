# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.cloud_init_seed: main() with patched module args, and `ansible localhost -m`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import pathlib
import stat
import subprocess
import sys
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.ghost.infra.plugins.modules import cloud_init_seed

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield

HASH = "$6$saltsalt$" + "q" * 86
PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA\n-----END OPENSSH PRIVATE KEY-----"


def run_module(capsys, **args):
    """Run main() like Ansible does; returns the JSON the module printed."""
    with patch_module_args(args), pytest.raises(SystemExit):
        cloud_init_seed.main()
    return json.loads(capsys.readouterr().out)


def args_for(dest, **extra):
    args = {"dest": str(dest), "name": "web1",
            "cloud_init": {"ip": "192.0.2.10/24", "gateway": "192.0.2.1", "password_hash": HASH}}
    args.update(extra)
    return args


def test_check_mode_then_create_then_unchanged(capsys, tmp_path):
    dest = tmp_path / "seed.iso"
    checked = run_module(capsys, _ansible_check_mode=True, **args_for(dest))
    assert checked["changed"] is True
    assert not dest.exists()

    created = run_module(capsys, **args_for(dest))
    assert created["changed"] is True
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert created["sha256"] == checked["sha256"]
    assert created["instance_id"] == checked["instance_id"]
    assert created["path"] == str(dest)

    again = run_module(capsys, **args_for(dest))
    assert again["changed"] is False
    assert again["sha256"] == created["sha256"]


def test_absent(capsys, tmp_path):
    dest = tmp_path / "seed.iso"
    run_module(capsys, **args_for(dest))
    assert run_module(capsys, dest=str(dest), state="absent")["changed"] is True
    assert not dest.exists()
    assert run_module(capsys, dest=str(dest), state="absent")["changed"] is False


def test_diff_masks_and_no_log(capsys, tmp_path):
    dest = tmp_path / "seed.iso"
    result = run_module(capsys, _ansible_diff=True, **args_for(dest))
    text = json.dumps(result)
    assert HASH not in text
    assert result["diff"]["after"]["documents"]["user_data"]["cloud_config"]["users"][0]["passwd"] == "********"
    assert result["diff"]["before"]["state"] == "absent"


def test_cloud_init_required_when_present(capsys, tmp_path):
    result = run_module(capsys, dest=str(tmp_path / "seed.iso"))
    assert result["failed"] is True
    assert "cloud_init" in result["msg"]


def test_bad_input_fails_naming_option(capsys, tmp_path):
    result = run_module(capsys, **args_for(tmp_path / "seed.iso", cloud_init={"ip": "192.0.2.10/24", "gateway": "10.0.0.1"}))
    assert result["failed"] is True
    assert result["msg"].startswith("cloud_init.gateway: ")


def test_unknown_suboption_rejected_by_argspec(capsys, tmp_path):
    result = run_module(capsys, **args_for(tmp_path / "seed.iso", cloud_init={"adress": "x"}))
    assert result["failed"] is True
    assert "adress" in result["msg"]


def test_private_key_masked_in_invocation(capsys, tmp_path):
    result = run_module(capsys, **args_for(tmp_path / "seed.iso", cloud_init={"ssh_authorized_keys": [PRIVATE]}))
    assert result["failed"] is True
    assert "private key" in result["msg"]
    assert "c2VjcmV0LWtleS1tYXRlcmlhbA" not in json.dumps(result)


def _collections_root():
    here = pathlib.Path(__file__).resolve()
    for parent in here.parents:
        if parent.name == "ansible_collections":
            return str(parent.parent)
    raise AssertionError("tests must run from a staged collection (make units)")


def _adhoc(tmp_path, args, *options):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_root(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,",
           "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-m", "ghost.infra.cloud_init_seed", "-a", json.dumps(args)] + list(options)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = proc.stdout[proc.stdout.index("{") if proc.stdout.startswith("{") else proc.stdout.index("\n{\n") + 1:]
    return json.loads(report)["plays"][0]["tasks"][0]["hosts"]["localhost"], proc.stdout + proc.stderr


def test_ansible_adhoc_acceptance(tmp_path):
    """The issue's acceptance: --check creates nothing, a run creates, a second run is unchanged."""
    dest = tmp_path / "seed.iso"
    args = args_for(dest)
    checked = _adhoc(tmp_path, args, "--check")[0]
    assert checked["changed"] is True and not dest.exists()
    created, output = _adhoc(tmp_path, args, "--diff", "-vvv")
    assert created["changed"] is True and dest.is_file()
    assert HASH not in output
    again = _adhoc(tmp_path, args)[0]
    assert again["changed"] is False
    assert again["sha256"] == created["sha256"]
