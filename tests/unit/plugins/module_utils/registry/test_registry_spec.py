# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry's pure rules: ids, stores, join artifacts, context choice, flattening, the CA
fingerprint, records and change decisions, failure causes, the merged kubeconfig."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._registry import spec

# A throwaway self-signed CA certificate (no key anywhere) and what `openssl x509 -fingerprint
# -sha256` says about it.
CA_PEM = b"""-----BEGIN CERTIFICATE-----
MIIBejCCASGgAwIBAgIURDiN6XV3PW3mve7jaMfvwy2T8U4wCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdC1jYTAgFw0yNjEyMDExNTEyMjFaGA8yMTI2MTEwNzE1
MTIyMVowEjEQMA4GA1UEAwwHdGVzdC1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABB6Knl0My2TRYKjimsQhbVn77iGSxFOc7MTgE09kyoc2dLVMYSu7/ZQRGF0s
IRKDrNZjaQtMdikT7Lj/SadnIQujUzBRMB0GA1UdDgQWBBQ0BaA0NV4xMwM7+Ort
06904YEflDAfBgNVHSMEGDAWgBQ0BaA0NV4xMwM7+Ort06904YEflDAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCID0r4m/X/EyGZYCg65zgSH5ZcEay
Rzolm/pa77hDziPVAiAfB8E35ZnbACATNYYkvJEftO/gPlWFbKYrPLeP+DiESw==
-----END CERTIFICATE-----
"""
CA_FINGERPRINT = ("SHA256:9B:2C:A1:3E:50:05:FE:9D:B3:8D:14:C1:11:69:C7:60:81:5E:6C:D5:DC:EA:F5:58:ED:C2:DB:5B:"
                  "B5:08:F1:8D")


def kubeconfig(current="b"):
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "ca", "cluster": {"server": "https://a.example:6443",
                                                "certificate-authority-data": base64.b64encode(CA_PEM).decode()}},
                     {"name": "cb", "cluster": {"server": "https://b.example:6443", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "ua", "user": {"token": "token-a"}}, {"name": "ub", "user": {"token": "token-b"}}],
        "contexts": [{"name": "a", "context": {"cluster": "ca", "user": "ua", "namespace": "dev"}},
                     {"name": "b", "context": {"cluster": "cb", "user": "ub"}}],
    }


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("value", ["lab", "a", "edge-1", "x" * 63])
def test_valid_ids(value):
    assert spec.validate_id(value) == value


@pytest.mark.parametrize("value", ["", "Lab", "-a", "a-", "a_b", "a.b", "x" * 64, None])
def test_invalid_ids_name_the_option(value):
    with pytest.raises(GhostError) as info:
        spec.validate_id(value)
    assert info.value.option == "id" and "DNS-1123" in info.value.msg


def test_store_forms(tmp_path):
    home = str(tmp_path)
    assert spec.parse_store(None, home) == {"kind": "folder", "path": os.path.join(home, ".ghost", "clusters")}
    assert spec.parse_store("", home)["path"] == os.path.join(home, ".ghost", "clusters")
    assert spec.parse_store("k8s:ghost-registry") == {"kind": "k8s", "namespace": "ghost-registry"}
    assert spec.parse_store("~/reg", home) == {"kind": "folder", "path": os.path.join(home, "reg")}
    assert spec.parse_store("/srv/reg") == {"kind": "folder", "path": "/srv/reg"}
    for bad in ("k8s:", "k8s:Bad_NS"):
        with pytest.raises(GhostError) as info:
            spec.parse_store(bad)
        assert info.value.option == "store"


def test_labels_are_flat_strings():
    assert spec.validate_labels({"env": "lab", "tier": 2, "gpu": True}) == {"env": "lab", "tier": "2", "gpu": "true"}
    with pytest.raises(GhostError) as info:
        spec.validate_labels({"nested": {"a": 1}})
    assert info.value.option == "labels"


# ---------------------------------------------------------------- sources

def test_join_artifact_keeps_kubeconfig_name_and_hints_only():
    artifact = spec.join_artifact({
        "version": 2, "cluster": {"name": "Lab", "kubeconfig": "apiVersion: v1", "namespace": "ws",
                                  "ingress_domain": "lab.example", "use_port_forward": True, "empty": ""},
        "tailscale": {"preauth_key": "tskey-secret"}, "hostapp": {"url": "https://127.0.0.1:8090"}})
    assert artifact == {"kubeconfig": "apiVersion: v1", "name": "Lab",
                        "settings": {"namespace": "ws", "ingress_domain": "lab.example", "use_port_forward": True}}
    assert "tskey-secret" not in repr(artifact)


@pytest.mark.parametrize("document, words", [
    ([], "not a JSON or YAML mapping"),
    ({"ui": {}}, "no 'cluster' section"),
    ({"cluster": {"name": "x", "kubeconfig": ""}}, "cluster.kubeconfig is empty"),
])
def test_bad_join_artifacts(document, words):
    with pytest.raises(GhostError) as info:
        spec.join_artifact(document)
    assert words in info.value.msg and info.value.option == "join_file"


def test_select_context_keeps_one_context_with_its_cluster_and_user():
    out = spec.select_context(kubeconfig(), "a", "kubeconfig")
    assert out["current-context"] == "a"
    assert [c["name"] for c in out["clusters"]] == ["ca"]
    assert [u["name"] for u in out["users"]] == ["ua"]
    assert out["contexts"] == [{"name": "a", "context": {"cluster": "ca", "user": "ua", "namespace": "dev"}}]


def test_select_context_defaults_to_current_then_only():
    assert spec.select_context(kubeconfig("b"), None, "kubeconfig")["current-context"] == "b"
    single = kubeconfig()
    single["contexts"] = single["contexts"][:1]
    single.pop("current-context")
    assert spec.select_context(single, None, "kubeconfig")["current-context"] == "a"
    several = kubeconfig()
    several.pop("current-context")
    with pytest.raises(GhostError) as info:
        spec.select_context(several, None, "kubeconfig")
    assert info.value.option == "context" and "a, b" in info.value.msg


def test_select_context_errors():
    with pytest.raises(GhostError) as info:
        spec.select_context(kubeconfig(), "nope", "kubeconfig")
    assert info.value.option == "context" and "has no context 'nope'" in info.value.msg
    broken = kubeconfig()
    broken["contexts"][0]["context"]["user"] = "ghost"
    with pytest.raises(GhostError) as info:
        spec.select_context(broken, "a", "kubeconfig")
    assert "user 'ghost'" in info.value.msg
    with pytest.raises(GhostError) as info:
        spec.select_context({"kind": "Config"}, None, "kubeconfig_content")
    assert info.value.option == "kubeconfig_content" and "no clusters" in info.value.msg


def test_flatten_inlines_files_relative_to_the_kubeconfig(tmp_path):
    files = {str(tmp_path / "ca.crt"): CA_PEM, "/abs/client.key": b"KEY", str(tmp_path / "token"): b"tok\n"}
    document = {"clusters": [{"name": "c", "cluster": {"server": "https://x", "certificate-authority": "ca.crt"}}],
                "users": [{"name": "u", "user": {"client-key": "/abs/client.key", "tokenFile": "token"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}
    out = spec.flatten(document, files.__getitem__, str(tmp_path), "kubeconfig")
    cluster = out["clusters"][0]["cluster"]
    user = out["users"][0]["user"]
    assert "certificate-authority" not in cluster
    assert base64.b64decode(cluster["certificate-authority-data"]) == CA_PEM
    assert user == {"client-key-data": base64.b64encode(b"KEY").decode(), "token": "tok"}
    assert document["users"][0]["user"]["tokenFile"] == "token"  # the input is untouched


def test_flatten_names_a_missing_file(tmp_path):
    document = {"clusters": [{"name": "c", "cluster": {"server": "https://x", "certificate-authority": "gone.crt"}}]}

    def read(path):
        raise OSError("No such file")
    with pytest.raises(GhostError) as info:
        spec.flatten(document, read, str(tmp_path), "join_file")
    assert info.value.option == "join_file" and "gone.crt" in info.value.msg and "cluster 'c'" in info.value.msg


def test_ca_fingerprint_matches_openssl():
    selected = spec.select_context(kubeconfig(), "a", "kubeconfig")
    assert spec.ca_fingerprint(selected) == CA_FINGERPRINT
    insecure = spec.select_context(kubeconfig(), "b", "kubeconfig")
    assert spec.ca_fingerprint(insecure) is None
    assert spec.describe(insecure)["tls_verify"] is False
    assert spec.describe(selected) == {"server": "https://a.example:6443", "context": "a", "cluster_name": "ca",
                                       "user_name": "ua", "ca_fingerprint": CA_FINGERPRINT, "tls_verify": True}


def test_kubeconfig_secrets():
    document = kubeconfig()
    provider = {"config": {"id-token": "idt", "client-id": "public"}}
    document["users"].append({"name": "oidc", "user": {"auth-provider": provider}})
    assert spec.kubeconfig_secrets(document) == ["token-a", "token-b", "idt"]


# ---------------------------------------------------------------- records

def described():
    return spec.describe(spec.select_context(kubeconfig(), "a", "kubeconfig"))


def test_record_roundtrip_and_change_decision():
    prewarm = {"ok": True, "at": "T1"}
    first = spec.record(cluster_id="lab", described=described(), added=None, now="T1", prewarm=prewarm,
                        labels={"env": "lab"})
    assert first["added"] == "T1" and first["source"] == "join"
    assert spec.decode_record(spec.encode_record(first), "x") == first
    stored = {"record": first, "kubeconfig": b"K"}
    again = spec.record(cluster_id="lab", described=described(), added=first["added"], now="T2",
                        prewarm={"ok": True, "at": "T2"}, labels={"env": "lab"})
    # Timestamps and the pre-warm result decide nothing; content does.
    assert not spec.needs_change(stored, again, b"K")
    assert spec.needs_change(stored, again, b"other credentials")
    relabelled = dict(again, labels={"env": "prod"})
    assert spec.needs_change(stored, relabelled, b"K")
    assert spec.needs_change(None, again, b"K")


def test_decode_record_errors():
    with pytest.raises(GhostError) as info:
        spec.decode_record(b"{not json", "/x/lab.json")
    assert "/x/lab.json" in info.value.msg and info.value.option == "store"
    with pytest.raises(GhostError):
        spec.decode_record(b"{}", "/x/lab.json")


def test_diff_view_shows_names_never_credentials():
    rec = spec.record(cluster_id="lab", described=described(), added=None, now="T", prewarm={})
    view = spec.diff_view(rec, credentials="replaced")
    assert view == {"id": "lab", "name": None, "server": "https://a.example:6443", "context": "a",
                    "cluster_name": "ca", "user_name": "ua", "labels": {}, "ttl": None, "expires_at": None,
                    "credentials": "replaced"}
    assert spec.diff_view(None, credentials="stored") == {}


# ---------------------------------------------------------------- causes

@pytest.mark.parametrize("failure, cause", [
    ({"status": 401, "chain": [["UnauthorizedException", "(401)\nReason: Unauthorized"]]}, "unauthorized"),
    ({"status": 403, "chain": [["ForbiddenException", "(403)\nReason: Forbidden"]]}, "forbidden"),
    ({"chain": [["NameResolutionError", "Failed to resolve 'x.invalid' ([Errno -2] Name or service not known)"]]},
     "dns"),
    ({"chain": [["MaxRetryError", "..."], ["gaierror", "[Errno -3] Temporary failure in name resolution"]]}, "dns"),
    ({"chain": [["ApiException", "(0)\nReason: SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                 "failed: unable to get local issuer certificate"]]}, "tls"),
    ({"chain": [["SSLError", "hostname '127.0.0.2' doesn't match '127.0.0.1'"]]}, "tls"),
    ({"chain": [["ReadTimeoutError", "HTTPSConnectionPool(host='127.0.0.1'): Read timed out. (read timeout=3)"]]},
     "timeout"),
    ({"chain": [["SSLError", "_ssl.c:990: The handshake operation timed out"]]}, "timeout"),
    ({"chain": [], "timed_out": True}, "timeout"),
    ({"chain": [["NewConnectionError", "Failed to establish a new connection: [Errno 111] Connection refused"]]},
     "refused"),
    ({"chain": [["NewConnectionError", "[Errno 113] No route to host"]]}, "unreachable"),
    ({"status": 500, "chain": [["ApiException", "(500)\nReason: Internal Server Error"]]}, "error"),
])
def test_classify(failure, cause):
    assert spec.classify(failure) == cause


def test_outcome_explains_the_cause():
    failure = {"status": 401, "chain": [["UnauthorizedException", "(401)\nReason: Unauthorized\nHTTP response"]]}
    out = spec.outcome({"failure": failure}, server="https://x:6443", timeout=10, at="T")
    assert out["ok"] is False and out["cause"] == "unauthorized"
    assert out["error"] == ("https://x:6443 rejected the credentials (HTTP 401 Unauthorized); the token or client "
                            "certificate is wrong or has expired [UnauthorizedException: Unauthorized]")
    late = spec.outcome({"failure": {"chain": [], "timed_out": True}}, server="https://y", timeout=10, at="T")
    assert late["error"] == "https://y did not answer within 10s"
    good = spec.outcome({"server_version": "v1.34.4", "namespace_count": 3, "latency_ms": 4, "failure": None},
                        server="s", timeout=10, at="T")
    assert good == {"ok": True, "at": "T", "server_version": "v1.34.4", "namespace_count": 3, "node_count": None,
                    "latency_ms": 4, "cause": None, "error": None}


# ---------------------------------------------------------------- merged kubeconfig

def test_merge_names_everything_after_the_ids():
    a = spec.select_context(kubeconfig(), "a", "kubeconfig")
    b = spec.select_context(kubeconfig(), "b", "kubeconfig")
    merged = spec.merge([("lab", a), ("edge", b)])
    assert [c["name"] for c in merged["contexts"]] == ["lab", "edge"]
    assert merged["contexts"][0]["context"] == {"cluster": "lab", "user": "lab", "namespace": "dev"}
    assert merged["users"][1] == {"name": "edge", "user": {"token": "token-b"}}
    assert merged["clusters"][1]["cluster"] == {"server": "https://b.example:6443", "insecure-skip-tls-verify": True}
    assert merged["current-context"] == "lab"
    assert spec.merge([("lab", a), ("edge", b)], "edge")["current-context"] == "edge"
    with pytest.raises(GhostError) as info:
        spec.merge([("lab", a)], "nope")
    assert info.value.option == "current_context"
    assert a["contexts"][0]["context"]["cluster"] == "ca"  # inputs untouched


def test_vcluster_ids():
    assert spec.vcluster_id("review-42", "ghostcluster") == "vc-ghostcluster-review-42"
    long_id = spec.vcluster_id("n" * 53, "s" * 63)
    assert len(long_id) <= 63 and spec.validate_id(long_id)
    assert long_id != spec.vcluster_id("n" * 53, "s" * 62 + "t")
