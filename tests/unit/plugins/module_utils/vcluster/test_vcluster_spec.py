# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure vcluster rules: names, TTLs, lifetime annotations, upgrade hash, status, kubeconfigs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec

NOW = datetime.datetime(2025, 6, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("name", ["a", "review-42", "x" * 53, "a1-b2"])
def test_valid_names(name):
    assert spec.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "Review", "1abc", "-abc", "abc-", "a_b", "a.b", "x" * 54, None])
def test_invalid_names(name):
    with pytest.raises(GhostError) as err:
        spec.validate_name(name)
    assert err.value.option == "name"


def test_invalid_name_message_says_why():
    with pytest.raises(GhostError) as err:
        spec.validate_name("Bad_Name")
    assert "'Bad_Name' is not a valid vcluster name" in str(err.value)
    assert str(err.value).startswith("name: ")


@pytest.mark.parametrize("namespace", ["ghostcluster", "1ns", "a" * 63])
def test_valid_namespaces(namespace):
    assert spec.validate_namespace(namespace) == namespace


@pytest.mark.parametrize("namespace", ["", "Ns", "a" * 64, "ns-", "n.s"])
def test_invalid_namespaces(namespace):
    with pytest.raises(GhostError) as err:
        spec.validate_namespace(namespace)
    assert err.value.option == "namespace"


@pytest.mark.parametrize("text,seconds", [
    ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1d12h", 129600), ("90s", 90), ("1w", 604800),
    (" 2H ", 7200), ("1h30m", 5400),
])
def test_parse_ttl(text, seconds):
    assert spec.parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "2x", "h", "-1h", "1.5h", "0m", "0h0m", "1 h", "2hours"])
def test_parse_ttl_rejects(text):
    with pytest.raises(GhostError) as err:
        spec.parse_ttl(text)
    assert err.value.option == "ttl"
    assert "not a valid TTL" in err.value.msg


def test_parse_ttl_none():
    assert spec.parse_ttl(None) is None


@pytest.mark.parametrize("text", ["99999999d", "366d", "53w", "8761h", "9" * 40 + "s"])
def test_parse_ttl_caps_at_the_documented_maximum(text):
    # 99999999d used to pass here and overflow datetime later (an OverflowError traceback).
    with pytest.raises(GhostError) as err:
        spec.parse_ttl(text)
    assert err.value.option == "ttl"
    assert str(err.value) == "ttl: '%s' is too long: a TTL is at most 365d" % text


def test_parse_ttl_accepts_the_maximum():
    assert spec.parse_ttl(spec.MAX_TTL) == spec.MAX_TTL_SECONDS == spec.parse_ttl("52w1d")
    created = "2025-06-01T08:00:00Z"
    assert spec.expires_at(created, spec.MAX_TTL_SECONDS) == "2026-06-01T08:00:00Z"


def test_validate_params_refuses_an_overflowing_ttl():
    params = {"name": "vc", "namespace": "ns", "ttl": "99999999d"}
    with pytest.raises(GhostError) as err:
        spec.validate_params(params)
    assert err.value.option == "ttl"


def test_validate_params_checks_expose():
    assert spec.validate_params({"name": "vc", "expose": "nodeport"})["expose"] == "nodeport"
    with pytest.raises(GhostError) as err:
        spec.validate_params({"name": "vc", "expose": "ingress"})
    assert err.value.option == "expose"


def test_lifetime_values_put_the_annotations_on_the_workload():
    wanted = spec.lifetime({}, None, 3600, NOW)
    wanted[spec.CONFIG_HASH] = "sha256:00"  # recorded only after a successful run, never in values
    assert spec.lifetime_values(wanted) == {"controlPlane": {"statefulSet": {"annotations": {
        spec.CREATED_AT: "2025-06-01T08:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T09:00:00Z"}}}}
    assert spec.lifetime_values(spec.lifetime({}, None, None, NOW)) == {"controlPlane": {"statefulSet": {
        "annotations": {spec.CREATED_AT: "2025-06-01T08:00:00Z"}}}}


@pytest.mark.parametrize("seconds,text", [(1800, "30m"), (7200, "2h"), (86400, "1d"), (5400, "1h30m"),
                                          (129600, "1d12h"), (61, "1m1s"), (604800, "7d")])
def test_format_ttl(seconds, text):
    assert spec.format_ttl(seconds) == text
    assert spec.parse_ttl(text) == seconds


def test_times_roundtrip():
    assert spec.format_time(NOW) == "2025-06-01T08:00:00Z"
    assert spec.parse_time("2025-06-01T08:00:00Z") == NOW
    assert spec.parse_time("yesterday") is None
    assert spec.parse_time(None) is None
    naive = datetime.datetime(2025, 6, 1, 8, 0, 0)
    assert spec.format_time(naive) == "2025-06-01T08:00:00Z"


def test_expires_at():
    assert spec.expires_at("2025-06-01T08:00:00Z", 3600) == "2025-06-01T09:00:00Z"
    assert spec.expires_at("2025-06-01T23:30:00Z", 86400) == "2025-06-02T23:30:00Z"
    assert spec.expires_at(None, 3600) is None
    assert spec.expires_at("2025-06-01T08:00:00Z", None) is None


def test_is_expired():
    assert spec.is_expired("2025-06-01T07:59:59Z", NOW)
    assert spec.is_expired("2025-06-01T08:00:00Z", NOW)  # at the second it expires
    assert not spec.is_expired("2025-06-01T08:00:01Z", NOW)
    assert not spec.is_expired(None, NOW)
    assert not spec.is_expired("garbage", NOW)


def test_lifetime_new_vcluster():
    out = spec.lifetime({}, None, 3600, NOW)
    assert out == {spec.CREATED_AT: "2025-06-01T08:00:00Z", spec.TTL: "1h",
                   spec.EXPIRES_AT: "2025-06-01T09:00:00Z"}


def test_lifetime_uses_workload_creation_time():
    out = spec.lifetime(None, "2025-05-31T08:00:00Z", 86400, NOW)
    assert out[spec.CREATED_AT] == "2025-05-31T08:00:00Z"
    assert out[spec.EXPIRES_AT] == "2025-06-01T08:00:00Z"


def test_lifetime_rerun_does_not_extend():
    stored = {spec.CREATED_AT: "2025-06-01T06:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T07:00:00Z"}
    assert spec.lifetime(stored, "2025-06-01T06:00:05Z", 3600, NOW) == stored
    assert spec.annotation_patch(stored, spec.lifetime(stored, None, 3600, NOW)) == {}


def test_lifetime_new_ttl_counts_from_creation():
    stored = {spec.CREATED_AT: "2025-06-01T06:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T07:00:00Z"}
    out = spec.lifetime(stored, None, 4 * 3600, NOW)
    assert out[spec.EXPIRES_AT] == "2025-06-01T10:00:00Z"
    assert spec.annotation_patch(stored, out) == {spec.TTL: "4h", spec.EXPIRES_AT: "2025-06-01T10:00:00Z"}


def test_lifetime_without_ttl_keeps_stored_one():
    stored = {spec.CREATED_AT: "2025-06-01T06:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T07:00:00Z"}
    assert spec.lifetime(stored, None, None, NOW) == stored
    assert spec.lifetime({}, None, None, NOW) == {spec.CREATED_AT: "2025-06-01T08:00:00Z"}


def test_lifetime_same_ttl_other_spelling_is_no_change():
    stored = {spec.CREATED_AT: "2025-06-01T06:00:00Z", spec.TTL: "1h30m", spec.EXPIRES_AT: "2025-06-01T07:30:00Z"}
    assert spec.annotation_patch(stored, spec.lifetime(stored, None, spec.parse_ttl("90m"), NOW)) == {}


def test_config_hash_is_stable_and_sensitive():
    base = spec.config_hash("0.30.0", {"a": {"b": 1, "c": [1, 2]}}, ["d1"], "v1.33.4")
    assert base.startswith("sha256:")
    # Key order, a v prefix and None vs empty do not matter.
    assert spec.config_hash("v0.30.0", {"a": {"c": [1, 2], "b": 1}}, ["d1"], "1.33.4") == base
    assert spec.config_hash(None, None, [], None) == spec.config_hash("", {}, None, "")
    for other in (
        spec.config_hash("0.30.1", {"a": {"b": 1, "c": [1, 2]}}, ["d1"], "v1.33.4"),
        spec.config_hash("0.30.0", {"a": {"b": 2, "c": [1, 2]}}, ["d1"], "v1.33.4"),
        spec.config_hash("0.30.0", {"a": {"b": 1, "c": [1, 2]}}, ["d2"], "v1.33.4"),
        spec.config_hash("0.30.0", {"a": {"b": 1, "c": [1, 2]}}, ["d1"], "v1.34.0"),
        spec.config_hash("0.30.0", {"a": {"b": 1, "c": [1, 2]}}, ["d1"], "v1.33.4", reach={"x": 1}),
    ):
        assert other != base
    # No values of its own to reach the vcluster (the user's values do it): the hash of before.
    assert spec.config_hash("0.30.0", {"a": {"b": 1, "c": [1, 2]}}, ["d1"], "v1.33.4", reach={}) == base


def test_kubernetes_version_values():
    assert spec.kubernetes_version_values("1.33.4") == {
        "controlPlane": {"distro": {"k8s": {"image": {"tag": "v1.33.4"}}}}}
    assert spec.kubernetes_version_values(None) is None


@pytest.mark.parametrize("label,version", [("vcluster-0.30.0", "0.30.0"), ("vcluster-k8s-0.19.5", "0.19.5"),
                                           ("vcluster-0.30.0-rc.1", "0.30.0-rc.1"), ("other-1.0", None), ("", None)])
def test_chart_version_from_label(label, version):
    assert spec.chart_version_from_label({"chart": label}) == version


def pod(ready, deleting=False):
    meta = {"name": "p"}
    if deleting:
        meta["deletionTimestamp"] = "2025-06-01T08:00:00Z"
    return {"metadata": meta, "status": {"phase": "Running",
                                         "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def workload(annotations=None, replicas=1, labels=None, created="2025-06-01T07:00:00Z"):
    return {"kind": "StatefulSet",
            "metadata": {"name": "vc", "namespace": "ns", "annotations": annotations or {},
                         "labels": labels or {"app": "vcluster", "release": "vc", "chart": "vcluster-0.30.0"},
                         "creationTimestamp": created},
            "spec": {"replicas": replicas}}


def test_status():
    assert spec.status(workload(), [pod(True)]) == spec.RUNNING
    assert spec.status(workload(), [pod(False), pod(True)]) == spec.RUNNING
    assert spec.status(workload(), [pod(False)]) == spec.NOT_READY
    assert spec.status(workload(), [pod(True, deleting=True)]) == spec.NOT_READY
    assert spec.status(workload(), []) == spec.NOT_READY
    assert spec.status(workload(replicas=0), []) == spec.OFFLINE
    assert spec.status(workload({"loft.sh/paused": "true"}), [pod(True)]) == spec.OFFLINE
    assert spec.status(None, []) is None


def test_summary_of_an_expired_vcluster():
    annotations = {spec.CREATED_AT: "2025-06-01T06:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T07:00:00Z"}
    out = spec.summary("vc", "ns", workload=workload(annotations), pods=[pod(True)], now=NOW, kubeconfig_path="/k/vc.yaml")
    assert out == {"name": "vc", "namespace": "ns", "status": "running", "created_at": "2025-06-01T06:00:00Z",
                   "ttl": "1h", "expires_at": "2025-06-01T07:00:00Z", "expired": True, "chart_version": "0.30.0",
                   "kubeconfig_path": "/k/vc.yaml"}


def test_summary_without_annotations_uses_creation_time():
    out = spec.summary("vc", "ns", workload=workload(), pods=[], now=NOW)
    assert out["created_at"] == "2025-06-01T07:00:00Z"
    assert out["ttl"] is None and out["expires_at"] is None and out["expired"] is False


def test_default_kubeconfig_path_is_namespace_qualified():
    assert spec.default_kubeconfig_path("vc", "ns-a", home="/home/me") == "/home/me/.ghost/kubeconfigs/ns-a/vc.yaml"
    assert spec.default_kubeconfig_path("vc", "ns-a") != spec.default_kubeconfig_path("vc", "ns-b")
    assert spec.kubeconfig_dest(None, "vc", "ns-b", home="/h") == "/h/.ghost/kubeconfigs/ns-b/vc.yaml"
    assert spec.kubeconfig_dest("/tmp/x.yaml", "vc", "ns-b", home="/h") == "/tmp/x.yaml"


@pytest.mark.parametrize("server", ["https://vc.example.com", "https://10.0.0.1:31443/", "http://127.0.0.1:8080/prefix"])
def test_validate_server(server):
    assert spec.validate_server(server) == server.rstrip("/")


@pytest.mark.parametrize("server", ["vc.example.com", "ftp://x", "https://", "https://a b"])
def test_validate_server_rejects(server):
    with pytest.raises(GhostError) as err:
        spec.validate_server(server)
    assert err.value.option == "server"


KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "Default",
    "clusters": [{"name": "local", "cluster": {"server": "https://localhost:8443", "certificate-authority-data": "Q0E="}}],
    "contexts": [{"name": "Default", "context": {"cluster": "local", "user": "user"}}],
    "users": [{"name": "user", "user": {"token": "tok-123", "client-key-data": "S0VZ", "client-certificate-data": "Q0VSVA=="}}],
}


def test_rewrite_server_copies():
    out = spec.rewrite_server(KUBECONFIG, "https://vc.example.com")
    assert spec.kubeconfig_servers(out) == ["https://vc.example.com"]
    assert spec.kubeconfig_servers(KUBECONFIG) == ["https://localhost:8443"]
    assert out["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    assert spec.rewrite_server(KUBECONFIG, None) == KUBECONFIG


def test_kubeconfig_secrets():
    # A real vcluster authenticates with a client certificate: certificate and key are hidden.
    assert sorted(spec.kubeconfig_secrets(KUBECONFIG)) == ["Q0VSVA==", "S0VZ", "tok-123"]
    assert spec.kubeconfig_secrets({}) == []
