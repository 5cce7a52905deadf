# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghostctl init's checks: each failure says ghostctl's words and the fix; nothing is created."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import cli, preflight


def executable(path, text="#!/bin/sh\n"):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_parse_version():
    assert preflight.parse_version("vcluster version 0.30.0\n") == "0.30.0"
    assert preflight.parse_version("v3.19.5+g1234abc") == "3.19.5+g1234abc"
    assert preflight.parse_version("no version here") is None
    assert preflight.version_tuple("0.30.0") > preflight.version_tuple("0.25.1")


def test_cli_missing_is_ghostctls_message_with_the_fix(tmp_path):
    result, version = preflight.cli_check("vcluster", {"PATH": str(tmp_path)})
    assert version is None and result["ok"] is False
    assert result["detail"].startswith("vcluster CLI not found in PATH: no 'vcluster' on PATH")
    assert cli.INSTALL_HINT not in result["detail"] and result["fix"] == cli.INSTALL_HINT


def test_cli_version_and_minimum(tmp_path):
    binary = executable(tmp_path / "vcluster")

    def runner(argv, env, cwd, timeout):
        assert argv == [binary, "version"]
        return 0, "vcluster version 0.24.0\n", ""
    result, version = preflight.cli_check(binary, {"PATH": ""}, runner=runner)
    assert result["ok"] and version == "0.24.0" and result["fix"] is None
    old, _version = preflight.cli_check(binary, {"PATH": ""}, runner=runner, minimum="0.25.0")
    assert not old["ok"] and "older than 0.25.0" in old["detail"]

    def broken(argv, env, cwd, timeout):
        return 1, "", "exec format error"
    failed, _version = preflight.cli_check(binary, {"PATH": ""}, runner=broken)
    assert not failed["ok"] and "failed (exit 1): exec format error" in failed["detail"]


def test_helm(tmp_path):
    executable(tmp_path / "helm")
    ok, version = preflight.helm_check({"PATH": str(tmp_path)}, runner=lambda *a: (0, "v3.19.5+gabc\n", ""))
    assert ok["ok"] and version == "3.19.5+gabc"
    missing, _version = preflight.helm_check({"PATH": str(tmp_path / "none")})
    assert not missing["ok"] and "helm not found in PATH" in missing["detail"]


class Api:
    def __init__(self, namespace=None, allowed=True):
        self.existing = namespace
        self.allowed = allowed
        self.asked = []

    def server_version(self):
        return "v1.34.4"

    def namespace(self, name):
        return {"metadata": {"name": name}} if name == self.existing else None

    def can(self, verb, resource, namespace=None, group=""):
        self.asked.append((verb, resource))
        return self.allowed, None if self.allowed else "no RBAC policy matched"


def test_host_checks():
    checks, version = preflight.host_checks(lambda: Api("ghostcluster"), "ghostcluster")
    assert version == "v1.34.4" and [c["ok"] for c in checks] == [True, True]
    assert checks[1]["detail"] == "namespace already exists: ghostcluster"
    api = Api()
    checks, _version = preflight.host_checks(lambda: api, "review")
    assert checks[1]["ok"] and api.asked == [("create", "namespaces")]
    checks, _version = preflight.host_checks(lambda: Api(allowed=False), "review")
    assert not checks[1]["ok"]
    assert checks[1]["detail"] == ("failed to create namespace 'review': the user may not create namespaces "
                                   "(no RBAC policy matched)")
    assert "kubectl create namespace review" in checks[1]["fix"]

    def unreachable():
        raise GhostError("Failed to connect to the Kubernetes API: connection refused")
    checks, version = preflight.host_checks(unreachable, "review")
    assert version is None and [c["ok"] for c in checks] == [False, False]
    assert checks[0]["detail"].startswith("failed to connect to Kubernetes cluster: ")


def test_store_check(tmp_path):
    assert preflight.store_check([str(tmp_path / "home" / ".ghost" / "kubeconfigs")])["ok"]
    assert not os.path.exists(tmp_path / "home")  # only asked, nothing made
    (tmp_path / "home-is-a-file").write_text("")  # fails for root too, unlike a read-only folder
    result = preflight.store_check([str(tmp_path / "home-is-a-file" / ".ghost" / "clusters")])
    assert not result["ok"] and result["detail"].startswith("failed to initialize metadata store: cannot write")
    assert "home-is-a-file is not writable" in result["detail"]


def test_summary():
    assert preflight.summary([preflight.check("a", True, "fine")]) is None
    message = preflight.summary([preflight.check("a", True, "fine"), preflight.check("b", False, "broken", "mend it")])
    assert message == "Preflight failed: broken (fix: mend it)"
