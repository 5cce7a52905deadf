# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vcluster CLI wrapper: connection options -> KUBECONFIG/--context, argv, errors (fake runner)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import sys

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import cli


@pytest.fixture
def binary(tmp_path):
    path = tmp_path / "bin" / "vcluster"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


class FakeRunner:
    """Records each call with the KUBECONFIG files' content as they were during the call."""

    def __init__(self, rc=0, out="", err=""):
        self.calls = []
        self.rc, self.out, self.err = rc, out, err

    def __call__(self, argv, env, cwd, timeout):
        files = {}
        for path in (env.get("KUBECONFIG") or "").split(os.pathsep):
            if path and os.path.isfile(path) and path.startswith(cwd):
                with open(path) as handle:
                    files[os.path.basename(path)] = (json.load(handle), stat.S_IMODE(os.stat(path).st_mode))
        values = {}
        for arg in argv:
            if arg.startswith(cwd) and os.path.isfile(arg):
                with open(arg) as handle:
                    values[os.path.basename(arg)] = json.load(handle)
        self.calls.append({"argv": argv, "env": env, "cwd": cwd, "timeout": timeout, "files": files, "values": values,
                           "cwd_mode": stat.S_IMODE(os.stat(cwd).st_mode)})
        return self.rc, self.out, self.err


def make(binary, auth=None, environ=None, runner=None, timeout=300):
    env = {"PATH": os.path.dirname(binary)}
    env.update(environ or {})
    return cli.VclusterCli(binary, auth or {}, environ=env, runner=runner or FakeRunner(), timeout=timeout)


# ---------------------------------------------------------------- argv

def test_create_argv_minimal():
    assert cli.create_argv("/b/vcluster", "vc", "ghostcluster") == [
        "/b/vcluster", "create", "vc", "--namespace", "ghostcluster", "--connect=false"]


def test_create_argv_full():
    argv = cli.create_argv("vcluster", "vc", "ns", upgrade=True, chart_version="0.30.0", chart_dir="/charts/vcluster",
                           values_paths=["/a.yaml", "/b.yaml"], context="admin")
    assert argv == ["vcluster", "create", "vc", "--namespace", "ns", "--connect=false", "--upgrade",
                    "--chart-version", "0.30.0", "--local-chart-dir", "/charts/vcluster",
                    "--values", "/a.yaml", "--values", "/b.yaml", "--context", "admin"]


def test_delete_argv():
    assert cli.delete_argv("vcluster", "vc", "ns") == [
        "vcluster", "delete", "vc", "--namespace", "ns", "--ignore-not-found", "--delete-context=false", "--wait=true"]
    assert cli.delete_argv("vcluster", "vc", "ns", wait=False, context="c")[-3:] == ["--wait=false", "--context", "c"]


# ---------------------------------------------------------------- auth

def test_resolve_auth_prefers_params_then_env():
    environ = {"K8S_AUTH_KUBECONFIG": "/env/kc", "K8S_AUTH_CONTEXT": "envctx", "K8S_AUTH_VERIFY_SSL": "no",
               "K8S_AUTH_SSL_CA_CERT": "/env/ca", "K8S_AUTH_IMPERSONATE_GROUPS": "a,b,"}
    auth = cli.resolve_auth({"context": "mine", "kubeconfig": None, "proxy_headers": None}, environ)
    assert auth == {"kubeconfig": "/env/kc", "context": "mine", "validate_certs": False, "ca_cert": "/env/ca",
                    "impersonate_groups": ["a", "b"]}
    assert cli.resolve_auth({}, {"K8S_AUTH_VALIDATE_CERTS": "true"}) == {"validate_certs": True}
    assert cli.resolve_auth({"proxy_headers": {"user_agent": None}}, {}) == {}


def test_plan_host_and_token():
    plan = cli.connection_plan({"host": "https://k8s:6443/", "api_key": "tok", "ca_cert": "/ca.pem",
                                "impersonate_user": "bob", "impersonate_groups": ["ops"], "context": "ignored",
                                "kubeconfig": "/ignored"})
    assert plan["context"] is None and plan["paths"] == []
    generated = plan["generated"]
    assert generated["current-context"] == "host"
    assert generated["clusters"][0]["cluster"] == {"server": "https://k8s:6443", "certificate-authority": "/ca.pem"}
    assert generated["users"][0]["user"] == {"token": "tok", "as": "bob", "as-groups": ["ops"]}


def test_plan_host_insecure_drops_ca_and_keeps_proxy():
    plan = cli.connection_plan({"host": "https://k8s", "username": "u", "password": "p", "validate_certs": False,
                                "ca_cert": "/ca.pem", "proxy": "http://proxy:3128", "no_proxy": "10.0.0.0/8"})
    cluster = plan["generated"]["clusters"][0]["cluster"]
    assert cluster == {"server": "https://k8s", "insecure-skip-tls-verify": True, "proxy-url": "http://proxy:3128"}
    assert plan["generated"]["users"][0]["user"] == {"username": "u", "password": "p"}
    assert plan["env"] == {"NO_PROXY": "10.0.0.0/8", "no_proxy": "10.0.0.0/8"}


def test_plan_host_client_cert():
    plan = cli.connection_plan({"host": "https://k8s", "client_cert": "/c.pem", "client_key": "/k.pem"})
    assert plan["generated"]["users"][0]["user"] == {"client-certificate": "/c.pem", "client-key": "/k.pem"}


def test_plan_kubeconfig_path_and_context():
    plan = cli.connection_plan({"kubeconfig": "~/kc.yaml", "context": "lab", "validate_certs": True,
                                "proxy": "http://p:3128"})
    assert plan["generated"] is None
    assert plan["paths"] == [os.path.expanduser("~/kc.yaml")]
    assert plan["context"] == "lab"
    assert plan["env"]["HTTPS_PROXY"] == "http://p:3128"


def test_plan_kubeconfig_dict():
    kc = {"apiVersion": "v1", "clusters": []}
    plan = cli.connection_plan({"kubeconfig": kc})
    assert plan["generated"] is kc and plan["paths"] == []


def test_plan_nothing_inherits():
    assert cli.connection_plan({}) == {"generated": None, "paths": None, "context": None, "env": {}}


@pytest.mark.parametrize("auth,named", [
    ({"kubeconfig": "/kc", "host": "https://other"}, "host"),
    ({"kubeconfig": "/kc", "ca_cert": "/ca"}, "ca_cert"),
    ({"validate_certs": False}, "validate_certs"),
    ({"impersonate_user": "bob"}, "impersonate_user"),
    ({"host": "https://k8s", "api_key": None}, "host"),
])
def test_plan_rejects_what_the_cli_cannot_do(auth, named):
    with pytest.raises(GhostError) as err:
        cli.connection_plan(auth)
    assert named in str(err.value)
    assert "vcluster CLI only reads a kubeconfig" in str(err.value)


# ---------------------------------------------------------------- binary

def test_find_binary_on_path(binary):
    assert cli.find_binary("vcluster", {"PATH": os.path.dirname(binary)}) == binary
    assert cli.find_binary(binary, {"PATH": ""}) == binary


def test_missing_binary_has_install_guidance(tmp_path):
    with pytest.raises(GhostError) as err:
        cli.find_binary("vcluster", {"PATH": str(tmp_path)})
    msg = str(err.value)
    assert msg.startswith("vcluster_binary: Failed to find the vcluster CLI: no 'vcluster' on PATH")
    assert "install the vcluster CLI" in msg and "vcluster_binary" in msg


def test_binary_path_not_executable(tmp_path):
    path = tmp_path / "vcluster"
    path.write_text("")
    with pytest.raises(GhostError) as err:
        cli.find_binary(str(path), {})
    assert "is not an executable file" in str(err.value)


# ---------------------------------------------------------------- runs

def test_create_with_kubeconfig_path_and_context(binary):
    runner = FakeRunner(out="done")
    vc = make(binary, {"kubeconfig": "/home/me/kc.yaml", "context": "lab"}, runner=runner, timeout=10)
    vc.create("vc", "ns", chart_dir="/chart", values_files=["/v.yaml"], values_documents=[{"a": 1}])
    call = runner.calls[0]
    argv = call["argv"]
    assert argv[:6] == [binary, "create", "vc", "--namespace", "ns", "--connect=false"]
    assert argv[argv.index("--context") + 1] == "lab"
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "--values"]
    assert values[0] == "/v.yaml" and values[1].startswith(call["cwd"])
    assert call["values"] == {"values-0.yaml": {"a": 1}}
    paths = call["env"]["KUBECONFIG"].split(os.pathsep)
    assert paths[1:] == ["/home/me/kc.yaml"]
    assert call["files"] == {"context.yaml": ({"apiVersion": "v1", "kind": "Config", "current-context": "lab"}, 0o600)}
    assert call["cwd_mode"] == 0o700
    assert call["timeout"] == cli.MIN_CLI_TIMEOUT  # at least a minute per CLI call
    assert not os.path.exists(call["cwd"])  # temporary files are gone afterwards


def test_create_with_host_token_writes_private_kubeconfig(binary):
    runner = FakeRunner()
    vc = make(binary, {"host": "https://k8s:6443", "api_key": "s3cr3t-token"}, runner=runner)
    vc.create("vc", "ns", upgrade=True)
    call = runner.calls[0]
    assert "--upgrade" in call["argv"] and "--context" not in call["argv"]
    content, mode = call["files"]["kubeconfig.yaml"]
    assert mode == 0o600
    assert content["users"][0]["user"]["token"] == "s3cr3t-token"
    assert "s3cr3t-token" not in " ".join(call["argv"])
    assert call["env"]["KUBECONFIG"].split(os.pathsep) == [os.path.join(call["cwd"], "kubeconfig.yaml")]
    assert not os.path.exists(call["cwd"])


def test_no_connection_options_keep_environment(binary):
    runner = FakeRunner()
    vc = make(binary, {}, environ={"KUBECONFIG": "/a:/b"}, runner=runner)
    vc.delete("vc", "ns")
    assert runner.calls[0]["env"]["KUBECONFIG"] == "/a:/b"
    runner = FakeRunner()
    vc = make(binary, {}, environ={"HOME": "/home/x"}, runner=runner)
    vc.delete("vc", "ns")
    assert "KUBECONFIG" not in runner.calls[0]["env"]


def test_context_without_kubeconfig_uses_default_files(binary, monkeypatch):
    monkeypatch.setenv("HOME", "/home/x")
    runner = FakeRunner()
    vc = make(binary, {"context": "lab"}, runner=runner)
    vc.delete("vc", "ns")
    paths = runner.calls[0]["env"]["KUBECONFIG"].split(os.pathsep)
    assert paths[1:] == ["/home/x/.kube/config"]


def test_failure_quotes_cli_output_and_masks_secrets(binary):
    out = "\x1b[31mfatal\x1b[0m  something with s3cr3t-token\n" + "\n".join("line %d" % i for i in range(30))
    runner = FakeRunner(rc=1, err=out)
    vc = make(binary, {"host": "https://k8s", "api_key": "s3cr3t-token"}, runner=runner)
    with pytest.raises(GhostError) as err:
        vc.create("vc", "ns", what="Failed to create vcluster 'ns/vc'")
    msg = str(err.value)
    assert msg.startswith("Failed to create vcluster 'ns/vc': `vcluster create` exited with 1: ")
    assert "s3cr3t-token" not in msg and "\x1b" not in msg
    assert "line 29" in msg and "line 5" not in msg  # only the tail


def test_timeout_becomes_ghost_error(binary):
    def runner(argv, env, cwd, timeout):
        raise TimeoutError("timed out after %ds" % timeout)
    vc = make(binary, {}, runner=runner, timeout=90)
    with pytest.raises(GhostError) as err:
        vc.delete("vc", "ns", what="Failed to delete vcluster 'ns/vc'")
    assert str(err.value) == "Failed to delete vcluster 'ns/vc': `vcluster delete` timed out after 90s"


def test_run_process_real(tmp_path):
    rc, out, err = cli.run_process([sys.executable, "-c", "import os,sys; print(os.getcwd()); sys.stderr.write('e')"],
                                   dict(os.environ), str(tmp_path), 30)
    assert (rc, out.strip(), err) == (0, str(tmp_path), "e")
    with pytest.raises(TimeoutError):
        cli.run_process([sys.executable, "-c", "import time; time.sleep(30)"], dict(os.environ), str(tmp_path), 0.5)


# ---------------------------------------------------------------- helm uninstall (a release without workload)

def test_uninstall_argv():
    assert cli.uninstall_argv("helm", "vc", "ns", timeout=90) == [
        "helm", "uninstall", "vc", "--namespace", "ns", "--timeout", "90s", "--wait"]
    assert cli.uninstall_argv("helm", "vc", "ns", wait=False, context="lab")[-2:] == ["--kube-context", "lab"]


def test_uninstall_runs_helm_with_the_same_connection(binary):
    helm = os.path.join(os.path.dirname(binary), "helm")
    with open(helm, "w") as handle:
        handle.write("#!/bin/sh\nexit 0\n")
    os.chmod(helm, 0o755)
    runner = FakeRunner()
    vc = make(binary, {"kubeconfig": "/home/me/kc.yaml", "context": "lab"}, runner=runner)
    vc.uninstall("vc", "ns")
    call = runner.calls[0]
    assert call["argv"][:5] == [helm, "uninstall", "vc", "--namespace", "ns"]
    assert call["argv"][-2:] == ["--kube-context", "lab"]
    assert call["env"]["KUBECONFIG"].split(os.pathsep)[1:] == ["/home/me/kc.yaml"]


def test_uninstall_failure_names_helm(binary):
    helm = os.path.join(os.path.dirname(binary), "helm")
    with open(helm, "w") as handle:
        handle.write("#!/bin/sh\nexit 0\n")
    os.chmod(helm, 0o755)
    vc = make(binary, {}, runner=FakeRunner(rc=1, err="Error: uninstall: Release not loaded: vc: release: not found"))
    with pytest.raises(GhostError) as err:
        vc.uninstall("vc", "ns", what="Failed to delete vcluster 'ns/vc'")
    assert str(err.value) == ("Failed to delete vcluster 'ns/vc': `helm uninstall` exited with 1: "
                              "Error: uninstall: Release not loaded: vc: release: not found")


def test_uninstall_without_helm(binary):
    vc = make(binary, {})
    with pytest.raises(GhostError) as err:
        vc.uninstall("vc", "ns")
    assert str(err.value).startswith("Failed to find helm: no 'helm' on PATH")
    assert "install helm 3" in str(err.value)
