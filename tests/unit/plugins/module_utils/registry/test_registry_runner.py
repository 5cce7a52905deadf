# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_join, cluster_info and kubeconfig as the runner does them, on a real folder store
and fake probes: pre-warm before any write, nothing left after a failure, idempotence, check
mode, the diff, info's health and the merged kubeconfig."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._registry import runner, stores


def kubeconfig_text(server="https://127.0.0.1:6443", token="tok-123456789"):
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "admin",
        "clusters": [{"name": "lab", "cluster": {"server": server}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "admin", "context": {"cluster": "lab", "user": "admin"}}],
    })


class FakeProbes:
    def __init__(self, failure=None):
        self.failure = failure
        self.prewarmed = []
        self.health_results = {}

    def prewarm(self, kubeconfig, timeout):
        self.prewarmed.append((kubeconfig, timeout))
        if self.failure:
            return {"failure": self.failure}
        return {"server_version": "v1.34.4", "namespace_count": 4, "latency_ms": 3, "failure": None}

    def health(self, kubeconfigs, timeout):
        self.asked = [cid for cid, _doc in kubeconfigs]
        return {cid: self.health_results.get(cid, {"server_version": "v1.34.4", "node_count": 1, "latency_ms": 2,
                                                   "failure": None}) for cid in self.asked}


def options(**extra):
    base = {"id": "lab", "state": "present", "kubeconfig": None, "kubeconfig_content": kubeconfig_text(),
            "join_file": None, "context": None, "labels": None, "prewarm_timeout": 10}
    base.update(extra)
    return runner.validate_join(base)


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def snapshot(folder):
    """Every file under ``folder`` with its bytes and mode (None: no folder at all)."""
    if not os.path.isdir(folder):
        return None
    out = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                out[path] = (handle.read(), stat.S_IMODE(os.stat(path).st_mode))
    return out


@pytest.fixture
def store(tmp_path):
    return stores.FolderStore(str(tmp_path / "clusters"))


def test_join_then_rejoin_is_unchanged(store):
    hidden = []
    probes = FakeProbes()
    result = runner.join(store, options(labels={"env": "lab"}), probes=probes, hide=hidden.extend, now="T1")
    assert result["changed"] is True
    assert hidden == ["tok-123456789"]
    cluster = result["cluster"]
    assert cluster["id"] == "lab" and cluster["server"] == "https://127.0.0.1:6443" and cluster["labels"] == {"env": "lab"}
    assert cluster["added"] == "T1" and cluster["prewarm"]["server_version"] == "v1.34.4"
    assert cluster["kubeconfig_path"] == os.path.join(store.path, "lab.yaml")
    assert "tok-123456789" not in json.dumps(result)
    assert load(cluster["kubeconfig_path"])["users"][0]["user"]["token"] == "tok-123456789"
    before = snapshot(store.path)
    again = runner.join(store, options(labels={"env": "lab"}), probes=probes, now="T2")
    assert again["changed"] is False and again["cluster"]["added"] == "T1" and again["prewarm"]["at"] == "T2"
    assert snapshot(store.path) == before
    assert len(probes.prewarmed) == 2  # every join proves the cluster answers


def test_changed_kubeconfig_is_replaced_with_a_diff_of_names_only(store):
    runner.join(store, options(), probes=FakeProbes(), now="T1")
    result = runner.join(store, options(kubeconfig_content=kubeconfig_text(token="tok-rotated-9999")),
                         probes=FakeProbes(), diff=True, now="T2")
    assert result["changed"] is True
    assert result["diff"]["before"]["credentials"] == "stored"
    assert result["diff"]["after"]["credentials"] == "replaced"
    assert result["diff"]["after"]["server"] == "https://127.0.0.1:6443"
    assert "tok-" not in json.dumps(result)
    assert result["cluster"]["added"] == "T1" and result["cluster"]["updated"] == "T2"


def test_check_mode_writes_nothing(store):
    result = runner.join(store, options(), probes=FakeProbes(), check_mode=True)
    assert result["changed"] is True and snapshot(store.path) is None


@pytest.mark.parametrize("failure, cause", [
    ({"status": 401, "chain": [["UnauthorizedException", "(401)\nReason: Unauthorized"]]}, "unauthorized"),
    ({"status": None, "chain": [], "timed_out": True}, "timeout"),
    ({"status": None, "chain": [["ApiException", "Reason: SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED]"]]}, "tls"),
])
def test_failed_prewarm_leaves_the_store_byte_for_byte(store, failure, cause):
    runner.join(store, options(id="other"), probes=FakeProbes(), now="T0")
    before = snapshot(store.path)
    with pytest.raises(GhostError) as info:
        runner.join(store, options(), probes=FakeProbes(failure))
    assert info.value.details["cause"] == cause
    assert "Failed to join cluster 'lab': the pre-warm failed (%s)" % cause in info.value.msg
    assert "left as it was" in info.value.msg
    assert snapshot(store.path) == before
    # ... and a failed re-join of an existing cluster keeps the old entry as it was.
    runner.join(store, options(), probes=FakeProbes(), now="T1")
    before = snapshot(store.path)
    with pytest.raises(GhostError):
        runner.join(store, options(kubeconfig_content=kubeconfig_text(token="bad-token-0000")), probes=FakeProbes(failure))
    assert snapshot(store.path) == before


def test_failed_first_join_creates_no_folder(tmp_path):
    store = stores.FolderStore(str(tmp_path / "home" / ".ghost" / "clusters"))
    with pytest.raises(GhostError):
        runner.join(store, options(), probes=FakeProbes({"status": 403, "chain": []}))
    assert not (tmp_path / "home").exists()


def test_join_file_and_kubeconfig_path_with_relative_files(store, tmp_path):
    (tmp_path / "ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    source = yaml.safe_load(kubeconfig_text())
    source["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"
    (tmp_path / "kc.yaml").write_text(yaml.safe_dump(source))
    result = runner.join(store, options(kubeconfig_content=None, kubeconfig=str(tmp_path / "kc.yaml")),
                         probes=FakeProbes())
    stored = load(result["cluster"]["kubeconfig_path"])
    assert "certificate-authority-data" in stored["clusters"][0]["cluster"]
    artifact = {"version": 2, "cluster": {"name": "Edge one", "kubeconfig": kubeconfig_text(), "namespace": "ws"},
                "tailscale": {"preauth_key": "tskey-never-stored"}}
    (tmp_path / "guildnet.config").write_text(json.dumps(artifact))
    result = runner.join(store, options(id="edge", kubeconfig_content=None, join_file=str(tmp_path / "guildnet.config")),
                         probes=FakeProbes())
    assert result["cluster"]["name"] == "Edge one" and result["cluster"]["settings"] == {"namespace": "ws"}
    assert all(b"tskey" not in data for data, _mode in snapshot(store.path).values())


@pytest.mark.parametrize("extra, words", [
    ({"id": "Bad_Id"}, "not a valid cluster id"),
    ({"prewarm_timeout": 0}, "prewarm_timeout: must be a positive number"),
    ({"kubeconfig_content": None}, "give exactly one of kubeconfig, kubeconfig_content and join_file"),
    ({"kubeconfig_content": "clusters: []"}, "kubeconfig_content: this is not a kubeconfig"),
    ({"kubeconfig_content": "a: [b"}, "kubeconfig_content: kubeconfig_content is not YAML or JSON"),
    ({"kubeconfig_content": None, "kubeconfig": "/nonexistent/kc"}, "kubeconfig: cannot read /nonexistent/kc"),
])
def test_bad_input_is_named_before_anything_happens(store, extra, words):
    probes = FakeProbes()
    with pytest.raises(GhostError) as info:
        runner.join(store, options(**extra), probes=probes)
    assert words in str(info.value)
    assert probes.prewarmed == [] and snapshot(store.path) is None


def test_leave(store):
    runner.join(store, options(), probes=FakeProbes())
    assert runner.leave(store, {"id": "lab"}, check_mode=True)["changed"] is True
    assert store.get("lab") is not None
    result = runner.leave(store, {"id": "lab"}, diff=True)
    assert result["changed"] is True and result["cluster"]["id"] == "lab" and result["diff"]["after"] == {}
    assert store.list() == [] and os.listdir(store.path) == []
    assert runner.leave(store, {"id": "lab"})["changed"] is False


def test_info_reports_health_per_cluster(store):
    probes = FakeProbes()
    runner.join(store, options(labels={"env": "lab"}), probes=probes)
    runner.join(store, options(id="dark", kubeconfig_content=kubeconfig_text("https://127.0.0.1:1")), probes=probes)
    probes.health_results["dark"] = {"failure": {"status": None, "chain": [], "timed_out": True}}
    result = runner.info(store, {"timeout": 5}, probes=probes)
    assert result["changed"] is False
    by_id = {c["id"]: c for c in result["clusters"]}
    assert by_id["lab"]["reachable"] is True and by_id["lab"]["node_count"] == 1
    assert by_id["lab"]["server_version"] == "v1.34.4" and by_id["lab"]["labels"] == {"env": "lab"}
    assert by_id["dark"]["reachable"] is False and by_id["dark"]["cause"] == "timeout"
    assert by_id["dark"]["error"] == "https://127.0.0.1:1 did not answer within 5s"
    only = runner.info(store, {"id": "lab", "health": False}, probes=probes)
    assert [c["id"] for c in only["clusters"]] == ["lab"] and only["clusters"][0]["reachable"] is None


def test_info_reports_a_missing_kubeconfig(store):
    runner.join(store, options(), probes=FakeProbes())
    os.unlink(os.path.join(store.path, "lab.yaml"))
    cluster = runner.info(store, {}, probes=FakeProbes())["clusters"][0]
    assert cluster["reachable"] is False and "missing" in cluster["error"]


def test_export_merges_every_cluster(store, tmp_path):
    runner.join(store, options(), probes=FakeProbes())
    runner.join(store, options(id="edge", kubeconfig_content=kubeconfig_text("https://127.0.0.1:7443", "tok-edge-0000")),
                probes=FakeProbes())
    dest = str(tmp_path / "out" / "merged.yaml")
    hidden = []
    result = runner.export(store, {"dest": dest}, diff=True, hide=hidden.extend)
    assert result["changed"] is True and result["contexts"] == ["edge", "lab"]
    assert sorted(hidden) == ["tok-123456789", "tok-edge-0000"]
    merged = load(dest)
    assert [c["name"] for c in merged["contexts"]] == ["edge", "lab"] and merged["current-context"] == "edge"
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert runner.export(store, {"dest": dest})["changed"] is False
    one = runner.export(store, {"dest": dest, "ids": ["lab"], "current_context": "lab"}, check_mode=True, diff=True)
    assert one["changed"] is True and one["diff"]["before"]["contexts"] == ["edge", "lab"]
    assert load(dest)["current-context"] == "edge"  # check mode wrote nothing
    with pytest.raises(GhostError) as info:
        runner.export(store, {"dest": dest, "ids": ["nope"]})
    assert info.value.option == "ids" and "nope" in info.value.msg


# ---------------------------------------------------------------- the registration's expiry

@pytest.fixture(params=["folder", "k8s"])
def any_store(request, tmp_path, fake_api):
    if request.param == "folder":
        return stores.FolderStore(str(tmp_path / "clusters"))
    return stores.SecretStore(fake_api(), "reg")


def test_ttl_on_the_registration_same_ttl_unchanged_new_ttl_renews(any_store):
    probes = FakeProbes()
    check = runner.join(any_store, options(ttl="1h"), probes=probes, check_mode=True, diff=True,
                        now="2026-12-01T12:00:00Z")
    assert check["changed"] is True and any_store.get("lab") is None
    assert check["diff"]["after"]["ttl"] == "1h" and check["cluster"]["expires_at"] == "2026-12-01T13:00:00Z"
    made = runner.join(any_store, options(ttl="1h"), probes=probes, now="2026-12-01T12:00:00Z")
    assert made["changed"] is True
    cluster = made["cluster"]
    assert (cluster["ttl"], cluster["expires_at"], cluster["expired"]) == ("1h", "2026-12-01T13:00:00Z", False)
    record = any_store.get("lab")["record"]
    assert (record["ttl"], record["expires_at"], record["renewed_at"]) == (
        "1h", "2026-12-01T13:00:00Z", "2026-12-01T12:00:00Z")
    # The same TTL, however late: unchanged, the expiry stays, and it is now expired.
    late = runner.join(any_store, options(ttl="60m"), probes=probes, now="2026-12-01T14:00:00Z")
    assert late["changed"] is False and late["cluster"]["expired"] is True
    assert runner.join(any_store, options(), probes=probes, now="2026-12-01T14:00:00Z")["changed"] is False
    info = runner.info(any_store, {"health": False}, probes=probes, now="2026-12-01T14:00:00Z")
    assert [(c["id"], c["expired"], c["ttl"]) for c in info["clusters"]] == [("lab", True, "1h")]
    # A new TTL renews from now.
    renewed = runner.join(any_store, options(ttl="2h"), probes=probes, diff=True, now="2026-12-01T14:00:00Z")
    assert renewed["changed"] is True and renewed["cluster"]["expired"] is False
    assert (renewed["diff"]["before"]["ttl"], renewed["diff"]["after"]["ttl"]) == ("1h", "2h")
    assert any_store.get("lab")["record"]["expires_at"] == "2026-12-01T16:00:00Z"


@pytest.mark.parametrize("extra, option", [
    ({"ttl": "30"}, "ttl"), ({"expires_at": "tomorrow"}, "expires_at"), ({"max_ttl": "1"}, "max_ttl")])
def test_bad_expiry_is_named_before_anything_is_read(store, extra, option):
    with pytest.raises(GhostError) as info:
        options(**extra)
    assert info.value.option == option


def test_max_ttl_refuses_before_anything_is_written(store):
    probes = FakeProbes()
    with pytest.raises(GhostError) as info:
        runner.join(store, options(ttl="2d", max_ttl="1d"), probes=probes, now="2026-12-01T12:00:00Z")
    assert info.value.option == "ttl" and "max_ttl" in str(info.value)
    assert snapshot(store.path) is None
