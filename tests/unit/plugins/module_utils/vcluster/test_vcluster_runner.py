# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ensure_vcluster / list_vclusters against a fake host cluster and a fake CLI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import gzip
import json
import os
import stat

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import runner, spec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.client import VclusterClient

NOW = datetime.datetime(2025, 6, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
SERVER = "https://vc.example.com"
CERT = "Q0VSVElGSUNBVEUtZGF0YQ=="
KEY = "UFJJVkFURS1LRVktZGF0YQ=="


def published(server="https://localhost:8443"):
    """The kubeconfig a real vcluster publishes: its server, a client certificate and key."""
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "Default",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority-data": "Q0E="}}],
        "contexts": [{"name": "Default", "context": {"cluster": "local", "user": "user"}}],
        "users": [{"name": "user", "user": {"client-certificate-data": CERT, "client-key-data": KEY}}],
    })


def helm_release_secret(name, namespace, chart="vcluster", status="deployed", version=1):
    """A release Secret as helm's secrets driver stores it (base64 of gzipped JSON, base64 again by the API)."""
    payload = base64.b64encode(gzip.compress(json.dumps(
        {"name": name, "chart": {"metadata": {"name": chart, "version": "0.30.0"}}}).encode()))
    return {"metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, version), "namespace": namespace,
                         "labels": {"owner": "helm", "name": name, "status": status, "version": str(version)}},
            "data": {"release": base64.b64encode(payload).decode()}}


def _dig(document, *keys):
    for key in keys:
        document = (document or {}).get(key) if isinstance(document, dict) else None
    return document


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
        if kind == "Namespace":
            for key in [k for k in self.objects if k[1] == name]:
                del self.objects[key]

    # helpers for the fake CLI / tests
    def install(self, name, namespace, kind="StatefulSet", ready=True, publish=True, chart="vcluster-0.30.0",
                created="2025-06-01T08:00:00Z", annotations=None, values=(), host_ip="192.0.2.10"):
        """What helm and the vcluster pod make of ``values`` (a list of documents, later ones win)."""
        merged = {}
        for document in values:
            merged.update(_dig(document, "controlPlane", "statefulSet", "annotations") or {})
        merged.update(annotations or {})
        labels = {"app": "vcluster", "release": name, "chart": chart}
        self.objects[(kind, namespace, name)] = {
            "kind": kind, "metadata": {"name": name, "namespace": namespace, "labels": labels,
                                       "annotations": merged, "creationTimestamp": created},
            "spec": {"replicas": 1}}
        self.objects[("Pod", namespace, name + "-0")] = {
            "metadata": {"name": name + "-0", "namespace": namespace, "labels": {"app": "vcluster", "release": name}},
            "status": {"phase": "Running", "hostIP": host_ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
        service_type = [_dig(d, "controlPlane", "service", "spec", "type") for d in values]
        service_type = [t for t in service_type if t] or ["ClusterIP"]
        port = {"name": "https", "port": 443, "targetPort": 8443}
        if service_type[-1] in ("NodePort", "LoadBalancer"):
            port["nodePort"] = 31443
        self.objects[("Service", namespace, name)] = {
            "metadata": {"name": name, "namespace": namespace}, "spec": {"type": service_type[-1], "ports": [port]},
            "status": {}}
        self.objects[("Secret", namespace, "sh.helm.release.v1.%s.v1" % name)] = helm_release_secret(name, namespace)
        if publish:
            server = [_dig(d, "exportKubeConfig", "server") for d in values]
            self.publish(name, namespace, ([s for s in server if s] or ["https://localhost:8443"])[-1])

    def publish(self, name, namespace, server):
        self.objects[("Secret", namespace, "vc-" + name)] = {
            "metadata": {"name": "vc-" + name, "namespace": namespace},
            "data": {"config": base64.b64encode(published(server).encode()).decode()}}

    def uninstall(self, name, namespace, keep_secret=False):
        for key in list(self.objects):
            if key[1] == namespace and (key[2] in (name, name + "-0") or (key[2] == "vc-" + name and not keep_secret)
                                        or key[2].startswith("sh.helm.release.v1.%s." % name)):
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
        documents = []
        for path in values_files:
            with open(path) as handle:
                documents.append(yaml.safe_load(handle))
        documents += list(values_documents)
        if upgrade and ("StatefulSet", namespace, name) in self.cluster.objects:
            # helm keeps what others annotated; the pod restarts and publishes its kubeconfig again
            annotations = self.cluster.objects[("StatefulSet", namespace, name)]["metadata"]["annotations"]
            self.cluster.install(name, namespace, values=documents, annotations=annotations)
        else:
            self.cluster.install(name, namespace, values=documents)

    def delete(self, name, namespace, wait=True, what=None):
        self.calls.append(("delete", name, namespace, wait))
        if self.fail:
            raise GhostError("%s: %s" % (what, self.fail))
        self.cluster.uninstall(name, namespace)

    def uninstall(self, name, namespace, wait=True, what=None):
        self.calls.append(("uninstall", name, namespace, wait))
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
           "wait": True, "wait_timeout": 300, "kubeconfig_dest": None, "server": SERVER, "expose": None,
           "return_kubeconfig": False}
    out.update(over)
    return out


def ok_probe(kubeconfig, timeout=10):
    return "v1.34.4"


def store_path(home, name="vc", namespace="ghostcluster"):
    return os.path.join(home, ".ghost", "kubeconfigs", namespace, name + ".yaml")


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
    # The server is a chart value: the vcluster publishes it itself, with a certificate valid for it.
    assert {"exportKubeConfig": {"server": SERVER},
            "controlPlane": {"proxy": {"extraSANs": ["vc.example.com"]}}} in cli.calls[0][7]
    ns = cluster.objects[("Namespace", None, "ghostcluster")]
    assert ns["metadata"]["annotations"] == {spec.CREATED_BY_VCLUSTER: "true"}
    annotations = cluster.objects[("StatefulSet", "ghostcluster", "vc")]["metadata"]["annotations"]
    assert annotations[spec.CREATED_AT] == "2025-06-01T08:00:00Z"
    assert annotations[spec.TTL] == "1h"
    assert annotations[spec.EXPIRES_AT] == "2025-06-01T09:00:00Z"
    assert annotations[spec.CONFIG_HASH].startswith("sha256:")
    path = store_path(home)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    with open(path) as handle:
        assert handle.read() == published(SERVER)  # as published: nothing to rewrite
    vc = result["vcluster"]
    assert vc == {"name": "vc", "namespace": "ghostcluster", "status": "running", "created_at": "2025-06-01T08:00:00Z",
                  "ttl": "1h", "expires_at": "2025-06-01T09:00:00Z", "expired": False, "chart_version": "0.30.0",
                  "kubeconfig_path": path, "server": SERVER}
    assert sorted(secrets) == sorted([CERT, KEY])
    assert CERT not in repr(result) and KEY not in repr(result)


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
    assert call[7][:2] == [{"sync": {"toHost": {"ingresses": {"enabled": True}}}},
                           {"controlPlane": {"distro": {"k8s": {"image": {"tag": "v1.33.4"}}}}}]
    # The lifetime goes with an upgrade too, unchanged, so helm keeps the annotations.
    assert call[7][-1] == {"controlPlane": {"statefulSet": {"annotations": {
        spec.CREATED_AT: "2025-06-01T08:00:00Z", spec.TTL: "1h", spec.EXPIRES_AT: "2025-06-01T09:00:00Z"}}}}
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
    cluster, _api, cli, _clock, _home = env
    # A vcluster made before the server was a chart value still publishes localhost:8443.
    cli.create = lambda name, namespace, **_kw: cluster.install(name, namespace)
    result, secrets = ensure(env, server="https://vc.example.com:6443", return_kubeconfig=True)
    written = yaml.safe_load(result["vcluster"]["kubeconfig"])
    assert spec.kubeconfig_servers(written) == ["https://vc.example.com:6443"]
    assert result["vcluster"]["server"] == "https://vc.example.com:6443"
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
    assert "the virtual API server at %s did not answer /version" % SERVER in msg
    assert "connection refused" in msg and "server or expose option" in msg


def test_one_vcluster_per_namespace(env):
    cluster, _api, cli, _clock, _home = env
    cluster.install("other", "ghostcluster")
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert "namespace 'ghostcluster' already holds vcluster 'other'" in str(err.value)
    assert cli.calls == []


def test_cli_failure_propagates_and_removes_the_namespace_made_for_it(env):
    cluster, _api, cli, _clock, _home = env
    cli.fail = "exit 1: boom"
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert str(err.value) == ("Failed to create vcluster 'ghostcluster/vc': exit 1: boom (namespace 'ghostcluster', "
                              "created for it, was removed again)")
    assert cluster.objects == {}


def test_cli_failure_keeps_a_namespace_that_was_there(env):
    cluster, api, cli, _clock, _home = env
    api.ensure_namespace("ghostcluster", 10)
    cli.fail = "exit 1: boom"
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert str(err.value) == "Failed to create vcluster 'ghostcluster/vc': exit 1: boom"
    assert ("Namespace", None, "ghostcluster") in cluster.objects


def test_lifetime_is_in_the_values_before_the_cli_runs(env):
    # helm creates the workload with the annotations: a CLI killed after helm leaves it reapable.
    cluster, _api, cli, _clock, _home = env

    def create(name, namespace, values_documents=(), what=None, **_kw):
        cluster.install(name, namespace, values=values_documents, publish=False)
        raise GhostError("%s: `vcluster create` timed out after 300s" % what)
    cli.create = create
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert "expires at 2025-06-01T09:00:00Z, when playbooks/vcluster_reap.yml deletes it" in str(err.value)
    annotations = cluster.objects[("StatefulSet", "ghostcluster", "vc")]["metadata"]["annotations"]
    assert annotations == {spec.CREATED_AT: "2025-06-01T08:00:00Z", spec.TTL: "1h",
                           spec.EXPIRES_AT: "2025-06-01T09:00:00Z"}
    assert cluster.patches == []  # helm put them there, nothing to patch
    listed = runner.list_vclusters(_api, {"name": None, "namespace": None}, now=NOW + datetime.timedelta(hours=2))
    assert [(v["name"], v["expired"]) for v in listed["vclusters"]] == [("vc", True)]


def test_lifetime_is_patched_when_the_cli_fails_after_helm(env):
    # A chart that drops the annotations (or a vcluster adopted halfway): written after the failure.
    cluster, _api, cli, _clock, _home = env

    def create(name, namespace, what=None, **_kw):
        cluster.install(name, namespace, publish=False)
        raise GhostError("%s: `vcluster create` exited with 1: boom" % what)
    cli.create = create
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert str(err.value).startswith("Failed to create vcluster 'ghostcluster/vc': `vcluster create` exited with 1")
    annotations = cluster.objects[("StatefulSet", "ghostcluster", "vc")]["metadata"]["annotations"]
    assert annotations[spec.TTL] == "1h" and annotations[spec.EXPIRES_AT] == "2025-06-01T09:00:00Z"
    assert spec.CONFIG_HASH not in annotations  # the next run upgrades it


def test_cli_failure_names_a_release_left_without_workload(env):
    cluster, _api, cli, _clock, _home = env

    def create(name, namespace, what=None, **_kw):
        cluster.objects[("Secret", namespace, "sh.helm.release.v1.vc.v1")] = helm_release_secret(
            name, namespace, status="failed")
        raise GhostError("%s: `vcluster create` exited with 1: INSTALLATION FAILED" % what)
    cli.create = create
    with pytest.raises(GhostError) as err:
        ensure(env)
    assert "its helm release is left without a StatefulSet or Deployment; state=absent removes it" in str(err.value)
    assert ("Namespace", None, "ghostcluster") in cluster.objects


def test_create_over_a_leftover_release_upgrades_it(env):
    cluster, _api, cli, _clock, _home = env
    cluster.objects[("Secret", "ghostcluster", "sh.helm.release.v1.vc.v1")] = helm_release_secret(
        "vc", "ghostcluster", status="failed")
    cli.create = lambda name, namespace, upgrade=False, **kw: (
        cli.calls.append(("create", upgrade)), cluster.install(name, namespace, values=kw["values_documents"]))
    assert ensure(env)[0]["changed"] is True
    assert cli.calls == [("create", True)]  # `vcluster create` without --upgrade refuses a deployed release


def test_no_way_to_reach_fails_before_anything(env):
    cluster, _api, cli, _clock, home = env
    for check_mode in (True, False):
        with pytest.raises(GhostError) as err:
            ensure(env, server=None, check_mode=check_mode)
        msg = str(err.value)
        assert msg.startswith("Failed to create vcluster 'ghostcluster/vc': nothing says how its API server is reached")
        assert "Set expose (loadbalancer" in msg and "or server (a URL" in msg and "https://localhost:8443" in msg
    assert cli.calls == [] and cluster.objects == {}
    assert not os.path.exists(os.path.join(home, ".ghost"))


def test_an_existing_vcluster_needs_a_way_to_reach_too(env):
    cluster, _api, cli, _clock, _home = env
    cluster.install("vc", "ghostcluster")
    with pytest.raises(GhostError) as err:
        ensure(env, server=None)
    assert str(err.value).startswith("Failed to update vcluster 'ghostcluster/vc': nothing says how")
    assert cli.calls == []


def test_export_kubeconfig_server_in_values_is_a_way_to_reach(env, tmp_path):
    cluster, _api, cli, _clock, home = env
    result = ensure(env, server=None, values={"exportKubeConfig": {"server": "https://in-values:443"}})[0]
    assert result["vcluster"]["server"] == "https://in-values:443"
    values = tmp_path / "values.yaml"
    values.write_text("exportKubeConfig:\n  server: https://in-a-file:443\n")
    result = ensure(env, server=None, namespace="other", values_files=[str(values)])[0]
    assert result["vcluster"]["server"] == "https://in-a-file:443"
    # Nothing of the module's own among the values: the user's values decide.
    assert not any("exportKubeConfig" in document for document in cli.calls[-1][7])


def test_server_keeps_the_users_extra_sans(env):
    _cluster, _api, cli, _clock, _home = env
    ensure(env, server="https://192.0.2.7:6443", values={"controlPlane": {"proxy": {"extraSANs": ["a.example"]}}})
    assert {"exportKubeConfig": {"server": "https://192.0.2.7:6443"},
            "controlPlane": {"proxy": {"extraSANs": ["a.example", "192.0.2.7"]}}} in cli.calls[0][7]


def test_expose_nodeport_writes_the_node_address(env):
    cluster, _api, cli, _clock, _home = env
    seen = []

    def probe(kubeconfig, timeout=10):
        seen.append(spec.kubeconfig_servers(kubeconfig))
        return "v1.34.4"
    result, _secrets = ensure(env, server=None, expose="nodeport", probe=probe)
    assert {"controlPlane": {"service": {"spec": {"type": "NodePort"}}}} in cli.calls[0][7]
    assert result["vcluster"]["server"] == "https://192.0.2.10:31443"
    assert seen == [["https://192.0.2.10:31443"]]  # the API is proven at the address written
    with open(result["vcluster"]["kubeconfig_path"]) as handle:
        assert spec.kubeconfig_servers(yaml.safe_load(handle)) == ["https://192.0.2.10:31443"]
    assert ensure(env, server=None, expose="nodeport", probe=probe)[0]["changed"] is False
    # Another way to reach it is another chart configuration: an upgrade; server wins over expose.
    result = ensure(env, expose="nodeport")[0]
    assert result["changed"] is True and result["vcluster"]["server"] == SERVER
    assert cli.calls[-1][3] is True


def test_expose_loadbalancer_waits_for_the_address(env):
    cluster, _api, cli, clock, _home = env
    service = ("Service", "ghostcluster", "vc")
    real_install = cluster.install

    def install(name, namespace, **kw):
        real_install(name, namespace, **kw)
        start = clock.t

        def assign():
            if clock.t - start >= 3:
                cluster.objects[service]["status"] = {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}
        cluster.tick = assign
    cluster.install = install
    real_get = cluster.get

    def get(kind, **kw):
        if getattr(cluster, "tick", None):
            cluster.tick()
        return real_get(kind, **kw)
    cluster.get = get
    result = ensure(env, server=None, expose="loadbalancer")[0]
    assert result["vcluster"]["server"] == "https://lb.example.com:443"
    assert {"controlPlane": {"service": {"spec": {"type": "LoadBalancer"}}}} in cli.calls[0][7]


def test_expose_loadbalancer_without_controller_times_out(env):
    with pytest.raises(GhostError) as err:
        ensure(env, server=None, expose="loadbalancer", wait_timeout=30)
    assert str(err.value).startswith(
        "Failed to create vcluster 'ghostcluster/vc': timed out after 30s waiting for the address of its API server: "
        "its LoadBalancer Service has no address yet (does the host cluster run a load balancer controller?")


def test_expose_without_wait_writes_only_a_known_address(env):
    cluster, _api, cli, _clock, home = env
    result = ensure(env, server=None, expose="loadbalancer", wait=False)[0]
    assert result["vcluster"]["kubeconfig_path"] is None and not os.path.exists(store_path(home))
    assert "has no address yet (its LoadBalancer Service has no address yet" in result["warnings"][0]
    cluster.objects[("Service", "ghostcluster", "vc")]["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}]}}
    assert ensure(env, server=None, expose="loadbalancer", check_mode=True)[0]["changed"] is True
    result = ensure(env, server=None, expose="loadbalancer", wait=False)[0]
    assert result["changed"] is True and result["vcluster"]["server"] == "https://203.0.113.5:443"


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
    assert not [key for key in cluster.objects if key[1] == "ghostcluster"]
    assert not os.path.exists(path)
    assert result["vcluster"]["name"] == "vc" and result["diff"]["after"] == {}
    again = ensure(env, state="absent")[0]
    assert again == {"changed": False, "vcluster": {}}


def test_absent_removes_a_release_that_never_got_its_workload(env):
    cluster, api, cli, _clock, _home = env
    api.ensure_namespace("ghostcluster", 10)  # as the module (or the CLI) creates it
    cluster.objects[("Secret", "ghostcluster", "sh.helm.release.v1.vc.v1")] = helm_release_secret(
        "vc", "ghostcluster", status="failed")
    cluster.objects[("Secret", "ghostcluster", "vc-vc")] = {"metadata": {"name": "vc-vc", "namespace": "ghostcluster"}}
    check = ensure(env, state="absent", check_mode=True)[0]
    assert check["changed"] is True and cli.calls == []
    result = ensure(env, state="absent")[0]
    assert result["changed"] is True
    assert cli.calls == [("uninstall", "vc", "ghostcluster", True)]  # `vcluster delete` cannot see it
    assert cluster.objects == {}  # release, kubeconfig Secret and the namespace made for it
    assert ensure(env, state="absent")[0]["changed"] is False


def test_absent_keeps_a_namespace_it_did_not_make(env):
    cluster, _api, cli, _clock, _home = env
    cluster.objects[("Namespace", None, "ghostcluster")] = {"metadata": {"name": "ghostcluster"}}
    cluster.objects[("Secret", "ghostcluster", "sh.helm.release.v1.vc.v1")] = helm_release_secret("vc", "ghostcluster")
    assert ensure(env, state="absent")[0]["changed"] is True
    assert list(cluster.objects) == [("Namespace", None, "ghostcluster")]


def test_absent_leaves_another_charts_release_alone(env):
    cluster, _api, cli, _clock, _home = env
    cluster.objects[("Secret", "ghostcluster", "sh.helm.release.v1.vc.v1")] = helm_release_secret(
        "vc", "ghostcluster", chart="my-app")
    assert ensure(env, state="absent")[0] == {"changed": False, "vcluster": {}}
    assert cli.calls == []


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
    os.makedirs(os.path.join(home, ".ghost", "kubeconfigs", "ns-a"))
    open(os.path.join(home, ".ghost", "kubeconfigs", "ns-a", "old.yaml"), "w").close()
    result = runner.list_vclusters(api, {"name": None, "namespace": None}, now=NOW, home=home)
    assert result["changed"] is False
    by_name = {v["name"]: v for v in result["vclusters"]}
    assert [v["name"] for v in result["vclusters"]] == ["old", "new", "plain"]
    assert by_name["old"]["expired"] is True and by_name["old"]["status"] == "running"
    assert by_name["old"]["kubeconfig_path"] == os.path.join(home, ".ghost", "kubeconfigs", "ns-a", "old.yaml")
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


def test_reaping_foo_keeps_the_kubeconfig_of_a_live_foo_elsewhere(env):
    # The reaper deletes what vcluster_info lists as expired, with the kubeconfig_path it lists.
    cluster, api, _cli, _clock, home = env
    ensure(env, name="foo", namespace="ns-a", ttl="1h")
    ensure(env, name="foo", namespace="ns-b", ttl="1d")
    later = NOW + datetime.timedelta(hours=2)
    listed = runner.list_vclusters(api, {"name": None, "namespace": None}, now=later, home=home)["vclusters"]
    paths = {v["namespace"]: v["kubeconfig_path"] for v in listed}
    assert paths == {"ns-a": store_path(home, "foo", "ns-a"), "ns-b": store_path(home, "foo", "ns-b")}
    expired = [v for v in listed if v["expired"]]
    assert [v["namespace"] for v in expired] == ["ns-a"]
    for item in expired:
        ensure(env, name=item["name"], namespace=item["namespace"], kubeconfig_dest=item["kubeconfig_path"],
               state="absent")
    assert not os.path.exists(store_path(home, "foo", "ns-a"))
    assert os.path.exists(store_path(home, "foo", "ns-b"))
    with open(store_path(home, "foo", "ns-b")) as handle:
        assert spec.kubeconfig_servers(yaml.safe_load(handle)) == [SERVER]


def test_failed_upgrade_keeps_the_lifetime_and_says_nothing_of_expiry(env):
    cluster, _api, cli, _clock, _home = env
    ensure(env)
    cli.fail = "exit 1: boom"
    with pytest.raises(GhostError) as err:
        ensure(env, values={"sync": {}})
    assert str(err.value) == "Failed to upgrade vcluster 'ghostcluster/vc': exit 1: boom"
    annotations = cluster.objects[("StatefulSet", "ghostcluster", "vc")]["metadata"]["annotations"]
    assert annotations[spec.EXPIRES_AT] == "2025-06-01T09:00:00Z"


# ---------------------------------------------------------------- the folder registry

def registry_record(home, name="vc", namespace="ghostcluster"):
    path = os.path.join(home, ".ghost", "clusters", "vc-%s-%s.json" % (namespace, name))
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def test_registry_records_the_vcluster_in_the_folder_registry(env):
    _cluster, _api, _cli, _clock, home = env
    assert ensure(env, registry=True, check_mode=True)[0]["changed"] is True
    assert registry_record(home) is None
    result, _secrets = ensure(env, registry=True)
    record = registry_record(home)
    assert record["source"] == "vcluster" and record["vcluster"] == {"name": "vc", "namespace": "ghostcluster"}
    assert record["kubeconfig_path"] == result["vcluster"]["kubeconfig_path"] and record["server"] == SERVER
    assert record["prewarm"]["server_version"] == "v1.34.4"
    assert os.listdir(os.path.join(home, ".ghost", "clusters")) == ["vc-ghostcluster-vc.json"]  # no second copy
    assert CERT not in json.dumps(record) and KEY not in json.dumps(record)
    assert ensure(env, registry=True)[0]["changed"] is False
    assert ensure(env, registry=True, check_mode=True)[0]["changed"] is False
    # Recorded afterwards for a vcluster made without it: a change, then none.
    os.unlink(os.path.join(home, ".ghost", "clusters", "vc-ghostcluster-vc.json"))
    assert ensure(env, registry=True, check_mode=True)[0]["changed"] is True
    assert ensure(env, registry=True)[0]["changed"] is True
    gone, _secrets = ensure(env, registry=True, state="absent")
    assert gone["changed"] is True and registry_record(home) is None


def test_registry_leaves_an_id_joined_by_someone_else_alone(env):
    _cluster, _api, _cli, _clock, home = env
    folder = os.path.join(home, ".ghost", "clusters")
    os.makedirs(folder)
    with open(os.path.join(folder, "vc-ghostcluster-vc.json"), "w") as handle:
        json.dump({"id": "vc-ghostcluster-vc", "source": "join"}, handle)
    result, _secrets = ensure(env, registry=True)
    assert "belongs to another cluster" in result["warnings"][0]
    assert registry_record(home) == {"id": "vc-ghostcluster-vc", "source": "join"}
    ensure(env, registry=True, state="absent")
    assert registry_record(home) == {"id": "vc-ghostcluster-vc", "source": "join"}


# ---------------------------------------------------------------- kubeconfig freshness

def test_refreshed_rereads_only_a_missing_stale_or_unreachable_kubeconfig(env):
    _cluster, api, cli, _clock, home = env
    ensure(env)
    path = store_path(home)
    calls = len(cli.calls)
    result, secrets = ensure(env, state="refreshed")
    assert result["changed"] is False and result["refresh"] == {"needed": False, "reason": None, "age": 0}
    assert result["vcluster"]["kubeconfig_path"] == path and result["vcluster"]["server"] == SERVER
    assert sorted(secrets) == sorted([CERT, KEY]) and len(cli.calls) == calls  # never the CLI
    os.utime(path, (NOW.timestamp() - 7200, NOW.timestamp() - 7200))
    stale = ensure(env, state="refreshed", kubeconfig_max_age="1h")[0]
    assert stale["refresh"]["reason"] == "stale" and stale["refresh"]["age"] == 7200
    assert stale["changed"] is False  # same content: only its time renewed
    assert os.stat(path).st_mtime > NOW.timestamp()
    os.unlink(path)
    planned = ensure(env, state="refreshed", check_mode=True)[0]
    assert planned["changed"] is True and planned["refresh"]["reason"] == "missing" and not os.path.exists(path)
    missing = ensure(env, state="refreshed")[0]
    assert missing["changed"] is True and os.path.exists(path)
    with open(path) as handle:
        assert handle.read() == published(SERVER)
    answers = iter([GhostError("connection refused"), "v1.34.4"])

    def flaky(kubeconfig, timeout=10):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer
    unreachable = ensure(env, state="refreshed", probe=flaky)[0]
    assert unreachable["refresh"]["reason"] == "unreachable" and unreachable["changed"] is False


def test_refreshed_fails_clearly(env):
    _cluster, _api, _cli, _clock, home = env
    with pytest.raises(GhostError) as err:
        ensure(env, state="refreshed")
    assert "Failed to refresh vcluster 'ghostcluster/vc': it does not exist" in err.value.msg
    ensure(env)

    def down(kubeconfig, timeout=10):
        raise GhostError("timed out")
    os.unlink(store_path(home))
    with pytest.raises(GhostError) as err:
        ensure(env, state="refreshed", probe=down)
    assert "does not reach %s either: timed out" % SERVER in err.value.msg
    with pytest.raises(GhostError) as err:
        ensure(env, state="refreshed", kubeconfig_max_age="soon")
    assert err.value.option == "kubeconfig_max_age"


def test_info_reports_freshness_and_reachability(env):
    _cluster, api, _cli, _clock, home = env
    ensure(env)
    ensure(env, name="other", namespace="ns-b")
    os.utime(store_path(home, "other", "ns-b"), (NOW.timestamp() - 7200, NOW.timestamp() - 7200))
    ensure(env, name="gone", namespace="ns-c")
    os.unlink(store_path(home, "gone", "ns-c"))
    asked = []

    def reachability(kubeconfigs, timeout):
        asked.append((sorted(kubeconfigs), timeout))
        return {key: key == 0 for key in kubeconfigs}
    filters = spec.validate_filters({"name": None, "namespace": None, "check_reachable": True,
                                     "reachable_timeout": 3, "kubeconfig_max_age": "1h"})
    listed = runner.list_vclusters(api, filters, now=NOW, home=home, reachability=reachability)["vclusters"]
    by_name = {v["name"]: v for v in listed}
    assert (by_name["vc"]["kubeconfig_fresh"], by_name["vc"]["reachable"]) == (True, True)
    assert (by_name["other"]["kubeconfig_fresh"], by_name["other"]["reachable"]) == (False, False)
    assert (by_name["gone"]["kubeconfig_fresh"], by_name["gone"]["reachable"]) == (False, None)
    assert asked == [([0, 1], 3)]  # one parallel check of the two local kubeconfigs
    quiet = runner.list_vclusters(api, dict(filters, check_reachable=False), now=NOW, home=home,
                                  reachability=reachability)["vclusters"]
    assert all(v["reachable"] is None for v in quiet) and len(asked) == 1
