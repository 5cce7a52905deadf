# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ensure_vcluster / list_vclusters against a fake host cluster and a fake CLI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import os
import stat

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import runner, spec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.client import VclusterClient

NOW = datetime.datetime(2025, 6, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
TOKEN = "virtual-token-abc"
KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "Default",
    "clusters": [{"name": "local", "cluster": {"server": "https://localhost:8443"}}],
    "contexts": [{"name": "Default", "context": {"cluster": "local", "user": "user"}}],
    "users": [{"name": "user", "user": {"token": TOKEN}}],
})


class Obj(dict):
    def to_dict(self):
        return dict(self)


class FakeCluster:
    """Just enough of kubernetes.core's K8sService (find_resource + client.get/create/patch)."""

    def __init__(self):
        self.objects = {}  # (kind, namespace, name) -> dict
        self.client = self
        self.patches = []

    def find_resource(self, kind, api_version, fail=False):
        return kind

    def get(self, kind, name=None, namespace=None, label_selector=None):
        if name is not None:
            obj = self.objects.get((kind, namespace, name))
            if obj is None:
                exc = Exception("not found")
                exc.status = 404
                raise exc
            return Obj(obj)
        wanted = dict(part.split("=") for part in (label_selector or "").split(",") if part)
        items = [Obj(o) for (k, ns, _n), o in sorted(self.objects.items())
                 if k == kind and (namespace is None or ns == namespace)
                 and all((o["metadata"].get("labels") or {}).get(key) == value for key, value in wanted.items())]
        return Obj({"items": items})

    def create(self, kind, body):
        meta = body["metadata"]
        self.objects[(kind, meta.get("namespace"), meta["name"])] = body
        return Obj(body)

    def patch(self, kind, body, name=None, namespace=None, content_type=None):
        self.patches.append((kind, namespace, name, body))
        obj = self.objects[(kind, namespace, name)]
        obj["metadata"].setdefault("annotations", {}).update(body["metadata"]["annotations"])
        return Obj(obj)

    def delete(self, kind, name=None, namespace=None):
        if self.objects.pop((kind, namespace, name), None) is None:
            exc = Exception("not found")
            exc.status = 404
            raise exc

    # helpers for the fake CLI / tests
    def install(self, name, namespace, kind="StatefulSet", ready=True, publish=True, chart="vcluster-0.30.0",
                created="2025-06-01T08:00:00Z", annotations=None):
        labels = {"app": "vcluster", "release": name, "chart": chart}
        self.objects[(kind, namespace, name)] = {
            "kind": kind, "metadata": {"name": name, "namespace": namespace, "labels": labels,
                                       "annotations": dict(annotations or {}), "creationTimestamp": created},
            "spec": {"replicas": 1}}
        self.objects[("Pod", namespace, name + "-0")] = {
            "metadata": {"name": name + "-0", "namespace": namespace, "labels": {"app": "vcluster", "release": name}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
        if publish:
            self.objects[("Secret", namespace, "vc-" + name)] = {
                "metadata": {"name": "vc-" + name, "namespace": namespace},
                "data": {"config": base64.b64encode(KUBECONFIG.encode()).decode()}}

    def uninstall(self, name, namespace, keep_secret=False):
        for key in list(self.objects):
            if key[1] == namespace and (key[2] in (name, name + "-0") or (key[2] == "vc-" + name and not keep_secret)):
                del self.objects[key]


class FakeCli:
    def __init__(self, cluster, fail=None):
        self.cluster = cluster
        self.calls = []
        self.fail = fail

    def create(self, name, namespace, upgrade=False, chart_version=None, chart_dir=None, values_files=(),
               values_documents=(), what=None):
        self.calls.append(("create", name, namespace, upgrade, chart_version, chart_dir, list(values_files),
                           list(values_documents)))
        if self.fail:
            raise GhostError("%s: %s" % (what, self.fail))
        if not upgrade:
            self.cluster.install(name, namespace)

    def delete(self, name, namespace, wait=True, what=None):
        self.calls.append(("delete", name, namespace, wait))
        if self.fail:
            raise GhostError("%s: %s" % (what, self.fail))
        self.cluster.uninstall(name, namespace)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


@pytest.fixture
def env(tmp_path):
    cluster = FakeCluster()
    clock = Clock()
    api = VclusterClient(cluster, waiter=Waiter(sleep=clock.sleep, clock=clock))
    return cluster, api, FakeCli(cluster), clock, str(tmp_path / "home")


def params(**over):
    out = {"name": "vc", "namespace": "ghostcluster", "state": "present", "ttl": "1h", "values": None,
           "values_files": None, "chart_version": None, "chart_dir": None, "kubernetes_version": None,
           "wait": True, "wait_timeout": 300, "kubeconfig_dest": None, "server": None, "return_kubeconfig": False}
    out.update(over)
    return out


def ok_probe(kubeconfig, timeout=10):
    return "v1.34.4"


def ensure(env, probe=ok_probe, check_mode=False, diff=False, **over):
    _cluster, api, cli, _clock, home = env
    return runner.ensure_vcluster(api, cli, spec.validate_params(params(**over)), check_mode=check_mode, diff=diff,
                                  now=NOW, home=home, probe=probe)


def test_check_mode_creates_nothing(env):
    cluster, _api, cli, _clock, home = env
    result, secrets = ensure(env, check_mode=True, diff=True)
    assert result["changed"] is True
    assert cli.calls == [] and cluster.objects == {}
    assert result["vcluster"]["expires_at"] == "2025-06-01T09:00:00Z"
    assert result["vcluster"]["status"] is None
    assert result["diff"]["before"] == {}
    assert not os.path.exists(os.path.join(home, ".ghost"))
    assert secrets == []


def test_create_writes_private_kubeconfig_and_annotations(env):
    cluster, _api, cli, _clock, home = env
    result, secrets = ensure(env, diff=True)
    assert result["changed"] is True
    assert cli.calls[0][:4] == ("create", "vc", "ghostcluster", False)
    ns = cluster.objects[("Namespace", None, "ghostcluster")]
    assert ns["metadata"]["annotations"] == {spec.CREATED_BY_VCLUSTER: "true"}
    annotations = cluster.objects[("StatefulSet", "ghostcluster", "vc")]["metadata"]["annotations"]
    assert annotations[spec.CREATED_AT] == "2025-06-01T08:00:00Z"
    assert annotations[spec.TTL] == "1h"
    assert annotations[spec.EXPIRES_AT] == "2025-06-01T09:00:00Z"
    assert annotations[spec.CONFIG_HASH].startswith("sha256:")
    path = os.path.join(home, ".ghost", "kubeconfigs", "vc.yaml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path) as handle:
        assert handle.read() == KUBECONFIG
    vc = result["vcluster"]
    assert vc == {"name": "vc", "namespace": "ghostcluster", "status": "running", "created_at": "2025-06-01T08:00:00Z",
                  "ttl": "1h", "expires_at": "2025-06-01T09:00:00Z", "expired": False, "chart_version": "0.30.0",
                  "kubeconfig_path": path, "server": "https://localhost:8443"}
    assert secrets == [TOKEN]
    assert TOKEN not in repr(result)


def test_expired_is_judged_when_the_result_is_built(env):
    _cluster, api, cli, _clock, home = env
    times = iter([NOW, NOW + datetime.timedelta(seconds=5)])
    result, _secrets = runner.ensure_vcluster(api, cli, spec.validate_params(params(ttl="1s")), now=lambda: next(times),
                                              home=home, probe=ok_probe)
    assert result["vcluster"]["expires_at"] == "2025-06-01T08:00:01Z"
    assert result["vcluster"]["expired"] is True


def test_rerun_is_unchanged(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)
    result, _secrets = ensure(env)
    assert result["changed"] is False
    assert [c[0] for c in cli.calls] == ["create"]
    check = ensure(env, check_mode=True)[0]
    assert check["changed"] is False


def test_values_change_upgrades(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)
    result = ensure(env, values={"sync": {"toHost": {"ingresses": {"enabled": True}}}}, kubernetes_version="1.33.4")[0]
    assert result["changed"] is True
    call = cli.calls[-1]
    assert call[3] is True  # --upgrade
    assert call[7] == [{"sync": {"toHost": {"ingresses": {"enabled": True}}}},
                       {"controlPlane": {"distro": {"k8s": {"image": {"tag": "v1.33.4"}}}}}]
    again = ensure(env, values={"sync": {"toHost": {"ingresses": {"enabled": True}}}}, kubernetes_version="v1.33.4")[0]
    assert again["changed"] is False


def test_values_file_content_is_part_of_the_hash(env, tmp_path):
    _cluster, _api, cli, _clock, _home = env
    values = tmp_path / "v.yaml"
    values.write_text("a: 1\n")
    ensure(env, values_files=[str(values)])
    assert ensure(env, values_files=[str(values)])[0]["changed"] is False
    values.write_text("a: 2\n")
    assert ensure(env, values_files=[str(values)])[0]["changed"] is True
    assert cli.calls[-1][3] is True and cli.calls[-1][6] == [str(values)]


def test_unreadable_values_file(env, tmp_path):
    with pytest.raises(GhostError) as err:
        ensure(env, values_files=[str(tmp_path / "missing.yaml")])
    assert err.value.option == "values_files"


def test_chart_dir_version_is_part_of_the_hash(env, tmp_path):
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("name: vcluster\nversion: 0.30.0\n")
    ensure(env, chart_dir=str(chart))
    assert ensure(env, chart_dir=str(chart))[0]["changed"] is False
    (chart / "Chart.yaml").write_text("name: vcluster\nversion: 0.30.1\n")
    assert ensure(env, chart_dir=str(chart))[0]["changed"] is True


def test_ttl_change_patches_without_upgrade(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)
    result = ensure(env, ttl="3h", diff=True)[0]
    assert result["changed"] is True
    assert [c[0] for c in cli.calls] == ["create"]
    assert result["vcluster"]["expires_at"] == "2025-06-01T11:00:00Z"
    assert result["diff"]["before"]["ttl"] == "1h" and result["diff"]["after"]["ttl"] == "3h"


def test_server_rewrite_and_return_kubeconfig(env):
    _cluster, _api, _cli, _clock, _home = env
    result, secrets = ensure(env, server="https://vc.example.com", return_kubeconfig=True)
    written = yaml.safe_load(result["vcluster"]["kubeconfig"])
    assert spec.kubeconfig_servers(written) == ["https://vc.example.com"]
    assert result["vcluster"]["server"] == "https://vc.example.com"
    assert secrets == []  # the caller returns it, so it must not be masked
    with open(result["vcluster"]["kubeconfig_path"]) as handle:
        assert yaml.safe_load(handle) == written


def test_local_kubeconfig_restored_when_missing(env):
    _cluster, _api, _cli, _clock, _home = env
    first = ensure(env)[0]
    os.unlink(first["vcluster"]["kubeconfig_path"])
    assert ensure(env, check_mode=True)[0]["changed"] is True
    result = ensure(env)[0]
    assert result["changed"] is True and os.path.exists(first["vcluster"]["kubeconfig_path"])


def test_kubeconfig_dest(env, tmp_path):
    dest = tmp_path / "deep" / "kc.yaml"
    result = ensure(env, kubeconfig_dest=str(dest))[0]
    assert result["vcluster"]["kubeconfig_path"] == str(dest)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_wait_times_out_with_pod_state(env):
    cluster, _api, cli, _clock, _home = env

    def create(name, namespace, **_kw):
        cluster.install(name, namespace, ready=False, publish=False)
    cli.create = create
    with pytest.raises(GhostError) as err:
        ensure(env, wait_timeout=20)
    assert str(err.value).startswith("Failed to create vcluster 'ghostcluster/vc': timed out after 20s waiting for "
                                     "the vcluster to become ready (pod vc-0 Running (not Ready))")


def test_wait_times_out_without_secret(env):
    cluster, _api, cli, _clock, _home = env
    cli.create = lambda name, namespace, **_kw: cluster.install(name, namespace, publish=False)
    with pytest.raises(GhostError) as err:
        ensure(env, wait_timeout=5)
    assert "the pod is Ready but Secret vc-vc has no kubeconfig yet" in str(err.value)


def test_no_wait_without_secret_warns(env):
    cluster, _api, cli, _clock, _home = env
    cli.create = lambda name, namespace, **_kw: cluster.install(name, namespace, ready=False, publish=False)
    result = ensure(env, wait=False)[0]
    assert result["vcluster"]["status"] == "not_ready"
    assert result["vcluster"]["kubeconfig_path"] is None
    assert "has not published its kubeconfig" in result["warnings"][0]


def test_unreachable_virtual_api(env):
    def probe(kubeconfig, timeout=10):
        raise GhostError("connection refused")
    with pytest.raises(GhostError) as err:
        ensure(env, probe=probe, wait_timeout=10)
    msg = str(err.value)
    assert "the virtual API server at https://localhost:8443 did not answer /version" in msg
    assert "connection refused" in msg and "server option" in msg


def test_one_vcluster_per_namespace(env):
    cluster, _api, cli, _clock, _home = env
    cluster.install("other", "ghostcluster")
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert "namespace 'ghostcluster' already holds vcluster 'other'" in str(err.value)
    assert cli.calls == []


def test_cli_failure_propagates(env):
    _cluster, _api, cli, _clock, _home = env
    cli.fail = "exit 1: boom"
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert str(err.value) == "Failed to create vcluster 'ghostcluster/vc': exit 1: boom"


def test_adopts_a_vcluster_made_by_hand(env):
    cluster, _api, cli, _clock, _home = env
    cluster.install("vc", "ghostcluster", created="2025-05-31T08:00:00Z")
    result = ensure(env, ttl="1d")[0]
    assert cli.calls[0][3] is True  # no recorded hash: upgrade with the requested config
    assert result["vcluster"]["created_at"] == "2025-05-31T08:00:00Z"
    assert result["vcluster"]["expired"] is True


def test_absent(env):
    cluster, _api, cli, _clock, home = env
    created = ensure(env)[0]
    path = created["vcluster"]["kubeconfig_path"]
    check = ensure(env, state="absent", check_mode=True)[0]
    assert check["changed"] is True and os.path.exists(path) and [c[0] for c in cli.calls] == ["create"]
    result = ensure(env, state="absent", diff=True)[0]
    assert result["changed"] is True
    assert cli.calls[-1] == ("delete", "vc", "ghostcluster", True)
    assert not os.path.exists(path)
    assert result["vcluster"]["name"] == "vc" and result["diff"]["after"] == {}
    again = ensure(env, state="absent")[0]
    assert again == {"changed": False, "vcluster": {}}


def test_absent_deletes_a_leftover_kubeconfig_secret(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)
    cli.delete = lambda name, namespace, **_kw: cluster.uninstall(name, namespace, keep_secret=True)
    assert ("Secret", "ghostcluster", "vc-vc") in cluster.objects
    assert ensure(env, state="absent")[0]["changed"] is True
    assert ("Secret", "ghostcluster", "vc-vc") not in cluster.objects


def test_absent_times_out_on_lingering_pods(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)

    def delete(name, namespace, **_kw):
        del cluster.objects[("StatefulSet", namespace, name)]
    cli.delete = delete
    with pytest.raises(GhostError) as err:
        ensure(env, state="absent", wait_timeout=7)
    assert str(err.value) == ("Failed to delete vcluster 'ghostcluster/vc': timed out after 7s waiting for its workload "
                              "and pods to go away (pod vc-0 Running)")


def test_absent_removes_stale_local_kubeconfig(env):
    cluster, _api, cli, _clock, _home = env
    created = ensure(env)[0]
    cluster.uninstall("vc", "ghostcluster")  # reaped from another machine
    result = ensure(env, state="absent")[0]
    assert result["changed"] is True
    assert [c[0] for c in cli.calls] == ["create"]
    assert not os.path.exists(created["vcluster"]["kubeconfig_path"])


def test_absent_tolerates_a_concurrent_delete(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)

    def delete(name, namespace, **_kw):
        cluster.uninstall(name, namespace)
        raise GhostError("Failed to delete vcluster: couldn't find vcluster")
    cli.delete = delete
    assert ensure(env, state="absent")[0]["changed"] is True


def test_absent_cli_failure_when_still_there(env):
    _cluster, _api, cli, _clock, _home = env
    ensure(env)
    cli.fail = "boom"
    with pytest.raises(GhostError) as err:
        ensure(env, state="absent")
    assert "boom" in str(err.value)


def test_validate_params():
    spec.validate_params(params())
    for bad, option in (({"name": "Bad"}, "name"), ({"ttl": "soon"}, "ttl"), ({"namespace": "a_b"}, "namespace"),
                        ({"server": "nope"}, "server"), ({"wait_timeout": 0}, "wait_timeout")):
        with pytest.raises(GhostError) as err:
            spec.validate_params(params(**bad))
        assert err.value.option == option


def test_list_vclusters(env, tmp_path):
    cluster, api, _cli, _clock, home = env
    cluster.install("old", "ns-a", kind="Deployment", annotations={
        spec.CREATED_AT: "2025-06-01T06:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T07:00:00Z"})
    cluster.install("new", "ns-b", ready=False, annotations={
        spec.CREATED_AT: "2025-06-01T07:30:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T08:30:00Z"})
    cluster.install("plain", "ns-c")
    os.makedirs(os.path.join(home, ".ghost", "kubeconfigs"))
    open(os.path.join(home, ".ghost", "kubeconfigs", "old.yaml"), "w").close()
    result = runner.list_vclusters(api, {"name": None, "namespace": None}, now=NOW, home=home)
    assert result["changed"] is False
    by_name = {v["name"]: v for v in result["vclusters"]}
    assert [v["name"] for v in result["vclusters"]] == ["old", "new", "plain"]
    assert by_name["old"]["expired"] is True and by_name["old"]["status"] == "running"
    assert by_name["old"]["kubeconfig_path"] == os.path.join(home, ".ghost", "kubeconfigs", "old.yaml")
    assert by_name["new"]["expired"] is False and by_name["new"]["status"] == "not_ready"
    assert by_name["new"]["kubeconfig_path"] is None
    assert by_name["plain"]["ttl"] is None and by_name["plain"]["expired"] is False
    only = runner.list_vclusters(api, {"name": None, "namespace": "ns-b"}, now=NOW, home=home)
    assert [v["name"] for v in only["vclusters"]] == ["new"]
    named = runner.list_vclusters(api, {"name": "plain", "namespace": None, "kubeconfig_dir": str(tmp_path)}, now=NOW)
    assert [v["name"] for v in named["vclusters"]] == ["plain"]


def test_list_vclusters_validates_filters(env):
    _cluster, api, _cli, _clock, _home = env
    with pytest.raises(GhostError) as err:
        runner.list_vclusters(api, spec.validate_filters({"name": "Nope", "namespace": None}))
    assert err.value.option == "name"
