# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Both registry stores behind one interface: the private folder (through _vcluster/store.py)
and the Secrets of a namespace (a fake API with the K8sClient calls they use)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import stat

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._registry import spec, stores
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import store as vcluster_store

RECORD = {"id": "lab", "server": "https://x", "labels": {"env": "lab"}}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=["folder", "k8s"])
def store(request, tmp_path, fake_api):
    if request.param == "folder":
        return stores.FolderStore(str(tmp_path / "home" / ".ghost" / "clusters"))
    return stores.SecretStore(fake_api(), "reg")


def test_both_stores_put_get_list_delete(store):
    assert store.get("lab") is None and store.list() == []
    store.put("lab", b"kubeconfig-a", RECORD)
    store.put("edge", b"kubeconfig-b", dict(RECORD, id="edge"))
    entry = store.get("lab")
    assert entry["record"] == RECORD and entry["kubeconfig"] == b"kubeconfig-a"
    assert [e["id"] for e in store.list()] == ["edge", "lab"]
    assert not store.needs_write("lab", b"kubeconfig-a", RECORD)
    assert store.needs_write("lab", b"kubeconfig-c", RECORD)
    store.put("lab", b"kubeconfig-c", dict(RECORD, labels={}))
    assert store.get("lab")["kubeconfig"] == b"kubeconfig-c" and store.get("lab")["record"]["labels"] == {}
    assert store.delete("lab") is True
    assert store.delete("lab") is False
    assert [e["id"] for e in store.list()] == ["edge"]


def test_folder_layout_is_private(tmp_path):
    previous = os.umask(0o022)
    try:
        folder = tmp_path / "home" / ".ghost" / "clusters"
        store = stores.FolderStore(str(folder))
        store.put("lab", b"K", RECORD)
    finally:
        os.umask(previous)
    assert sorted(os.listdir(folder)) == ["lab.json", "lab.yaml"]
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
    assert mode(folder / "lab.yaml") == 0o600 and mode(folder / "lab.json") == 0o600
    assert (folder / "lab.json").read_bytes() == spec.encode_record(RECORD)
    assert store.get("lab")["kubeconfig_path"] == str(folder / "lab.yaml")
    os.chmod(folder / "lab.yaml", 0o644)
    assert store.needs_write("lab", b"K", RECORD)  # a readable kubeconfig is repaired


def test_folder_record_may_point_at_a_vcluster_kubeconfig(tmp_path):
    elsewhere = tmp_path / "kubeconfigs" / "ns" / "vc.yaml"
    vcluster_store.write_private(str(elsewhere), b"VC")
    store = stores.FolderStore(str(tmp_path / "clusters"))
    store.put("vc-ns-vc", None, dict(RECORD, id="vc-ns-vc", kubeconfig_path=str(elsewhere)))
    entry = store.get("vc-ns-vc")
    assert entry["kubeconfig"] == b"VC" and entry["kubeconfig_path"] == str(elsewhere)
    assert os.listdir(str(tmp_path / "clusters")) == ["vc-ns-vc.json"]
    store.delete("vc-ns-vc")
    assert elsewhere.read_bytes() == b"VC"  # the vcluster module owns that file


def test_folder_put_restores_the_kubeconfig_when_the_record_cannot_be_written(tmp_path, monkeypatch):
    folder = tmp_path / "clusters"
    store = stores.FolderStore(str(folder))
    store.put("lab", b"OLD", RECORD)
    real = vcluster_store.write_private

    def failing(path, data, *, option="kubeconfig_dest"):
        if path.endswith(".json"):
            raise GhostError("cannot write %s: disk full" % path, option=option)
        return real(path, data, option=option)
    monkeypatch.setattr(vcluster_store, "write_private", failing)
    with pytest.raises(GhostError) as info:
        store.put("lab", b"NEW", dict(RECORD, labels={}))
    assert info.value.option == "store"
    assert (folder / "lab.yaml").read_bytes() == b"OLD"
    with pytest.raises(GhostError):
        store.put("edge", b"NEW", dict(RECORD, id="edge"))
    assert not (folder / "edge.yaml").exists()


def test_folder_bad_record_names_its_file(tmp_path):
    folder = tmp_path / "clusters"
    vcluster_store.write_private(str(folder / "lab.json"), b"{broken")
    with pytest.raises(GhostError) as info:
        stores.FolderStore(str(folder)).list()
    assert str(folder / "lab.json") in info.value.msg


def test_secret_store_layout_and_missing_namespace(fake_api):
    api = fake_api(namespaces=())
    store = stores.SecretStore(api, "reg")
    store.put("lab", b"K", RECORD)
    assert ("create", "Namespace", None, "reg") in api.calls
    secret = api.objects[("Secret", "reg", "ghost-cluster-lab")]
    assert secret["metadata"]["labels"] == {"ghost.infra/registry": "true", "ghost.infra/cluster-id": "lab",
                                            "app.kubernetes.io/managed-by": "ghost.infra"}
    assert secret["metadata"]["annotations"]["ghost.infra/record"] == spec.encode_record(RECORD).decode()
    assert base64.b64decode(secret["data"]["kubeconfig"]) == b"K"
    store.put("lab", b"K2", RECORD)
    assert ("patch", "Secret", "reg", "ghost-cluster-lab") in api.calls


def test_secret_store_ignores_unlabelled_secrets(fake_api):
    api = fake_api()
    api.objects[("Secret", "reg", "ghost-cluster-lab")] = {"metadata": {"name": "ghost-cluster-lab", "labels": {}}}
    store = stores.SecretStore(api, "reg")
    assert store.get("lab") is None and store.list() == [] and store.delete("lab") is False


def test_from_options_reaches_the_management_cluster_only_for_k8s(tmp_path, fake_api):
    folder = stores.from_options(str(tmp_path / "reg"), None)
    assert folder.kind == "folder" and folder.describe() == "folder %s" % (tmp_path / "reg")
    opened = []
    parsed = spec.parse_store("k8s:reg")
    secret_store = stores.open_store(parsed, connect_k8s=lambda: opened.append(1) or fake_api())
    assert secret_store.kind == "k8s" and opened == [1] and secret_store.describe() == "Secrets in namespace reg"


def test_both_stores_keep_the_expiry_and_the_secret_carries_it_as_annotations(store):
    record = dict(RECORD, ttl="1h", expires_at="2026-12-01T13:00:00Z", renewed_at="2026-12-01T12:00:00Z")
    store.put("lab", b"kubeconfig-a", record)
    assert store.get("lab")["record"] == record and store.list()[0]["record"] == record
    assert not store.needs_write("lab", b"kubeconfig-a", record)
    if store.kind == "k8s":
        secret = store.api.get("Secret", "reg", "ghost-cluster-lab")
        annotations = secret["metadata"]["annotations"]
        assert {k: v for k, v in annotations.items() if k != spec.ANNOTATION_RECORD} == {
            "ghost.infra/ttl": "1h", "ghost.infra/expires-at": "2026-12-01T13:00:00Z",
            "ghost.infra/renewed-at": "2026-12-01T12:00:00Z"}
        assert "expires_at" not in spec.decode_record(annotations[spec.ANNOTATION_RECORD], "test")
    else:
        with open(store.paths("lab")[1], "rb") as handle:
            assert spec.decode_record(handle.read(), "test")["ttl"] == "1h"
    # An explicit expiry replaces the TTL record: the TTL annotations go.
    fixed = dict(RECORD, expires_at="2026-12-24T17:00:00Z")
    store.put("lab", b"kubeconfig-a", fixed)
    assert store.get("lab")["record"] == fixed
    if store.kind == "k8s":
        annotations = store.api.get("Secret", "reg", "ghost-cluster-lab")["metadata"]["annotations"]
        assert "ghost.infra/ttl" not in annotations and "ghost.infra/renewed-at" not in annotations
