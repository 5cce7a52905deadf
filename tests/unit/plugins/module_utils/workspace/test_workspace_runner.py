# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ensure_workspace against a fake cluster that applies like the API server: an apply that
changes nothing keeps the resourceVersion, a dry run stores nothing, a Deployment becomes
Available when its "controller" says so."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.ghost.infra.plugins.module_utils._workspace import runner, spec
from ansible_collections.ghost.infra.plugins.module_utils._workspace.client import Modified


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


class FakeCluster:
    """Objects by (kind, namespace, name), with the WorkspaceClient calls the runner makes."""

    def __init__(self, *, ready=True):
        self.objects = {}
        self.version = 0
        self.ready = ready
        self.calls = []
        clock = Clock()
        self.waiter = Waiter(sleep=clock.sleep, clock=clock)
        self.server = "https://127.0.0.1:16443"
        self.meanwhile = []  # (kind, callable): another controller's write between our read and apply of kind

    def _rv(self):
        self.version += 1
        return str(self.version)

    def get(self, kind, namespace, name):
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def ensure_namespace(self, name, workspace):
        self.calls.append(("namespace", name))
        self.objects[("Namespace", None, name)] = {"kind": "Namespace", "metadata": {
            "name": name, "annotations": {spec.CREATED_FOR: workspace}}}
        return True

    def apply(self, definition, *, dry_run=False):
        for entry in [e for e in self.meanwhile if e[0] == definition["kind"]]:
            self.meanwhile.remove(entry)
            entry[1](self)
        meta = definition["metadata"]
        key = (definition["kind"], meta["namespace"], meta["name"])
        current = self.objects.get(key)
        if meta.get("resourceVersion") and (current or {}).get("metadata", {}).get("resourceVersion") != meta[
                "resourceVersion"]:
            self.calls.append(("modified",) + key)
            raise Modified("Failed to apply %s: the object has been modified" % key[0])
        merged = copy.deepcopy(definition)
        merged["metadata"].pop("resourceVersion", None)
        merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"] if current else "0"
        if current and "status" in current:
            merged["status"] = copy.deepcopy(current["status"])
        if definition["kind"] == "Service":
            merged["spec"]["clusterIP"] = "10.96.0.9"
        same = current is not None and spec.comparable(current) == spec.comparable(merged)
        if dry_run:
            self.calls.append(("dry-run",) + key)
            return merged if not same else copy.deepcopy(current)
        self.calls.append(("apply",) + key)
        if same:
            return copy.deepcopy(current)
        merged["metadata"]["resourceVersion"] = self._rv()
        if definition["kind"] == "Deployment":
            merged["metadata"]["generation"] = (current or {}).get("metadata", {}).get("generation", 0) + 1
            merged["status"] = {}
        self.objects[key] = merged
        return copy.deepcopy(merged)

    def wait(self, kind, namespace, name, *, until, timeout):
        def probe():
            obj = self.objects.get((kind, namespace, name))
            if obj is not None and self.ready:  # the controller and KWOK did their part
                obj["status"] = {"observedGeneration": obj["metadata"]["generation"], "readyReplicas": 1,
                                 "conditions": [{"type": "Available", "status": "True"}]}
            return copy.deepcopy(obj)
        return self.waiter.wait(probe, timeout, until=until)

    def pods(self, namespace, name):
        if self.objects.get(("Deployment", namespace, name)) is None:
            return []
        return [{"metadata": {"name": name + "-1"}, "status": {"phase": "Pending"}}]

    def delete(self, kind, namespace, name):
        self.calls.append(("delete", kind, namespace, name))
        return self.objects.pop((kind, namespace, name), None) is not None

    def list(self, kind, namespace=None, label_selector=None):
        self.calls.append(("list", kind, namespace, label_selector))
        wanted = dict(part.split("=") if "=" in part else (part, None) for part in label_selector.split(","))
        found = []
        for (k, ns, _name), obj in sorted(self.objects.items(), key=lambda item: str(item[0])):
            have = obj["metadata"].get("labels") or {}
            if k == kind and namespace in (None, ns) and all(
                    key in have and value in (None, have[key]) for key, value in wanted.items()):
                found.append(copy.deepcopy(obj))
        return found

    def other_workspaces(self, namespace, name):
        return sorted({k[2] for k in self.objects if k[0] == "Deployment" and k[1] == namespace} - {name})


def options(**over):
    base = {"name": "alice", "namespace": "ws", "state": "present", "image": "codercom/code-server:4.104.0",
            "flavor": "auto", "ports": [8080], "env": None, "password": "pw-alice-1234", "storage": None,
            "storage_class": None, "exposure": "clusterip", "run_as_user": 101, "wait": True, "wait_timeout": 30}
    base.update(over)
    return spec.validate(base)


def kinds(cluster):
    return sorted((k[0], k[2]) for k in cluster.objects)


def test_check_mode_then_create_then_unchanged():
    cluster = FakeCluster()
    planned = runner.ensure_workspace(cluster, options(), check_mode=True, diff=True)
    assert planned["changed"] is True and cluster.objects == {} and planned["workspace"]["phase"] is None
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["Secret/alice-auth"]["data"] == "********"
    made = runner.ensure_workspace(cluster, options(), diff=True)
    assert made["changed"] is True
    assert kinds(cluster) == [("Deployment", "alice"), ("Namespace", "ws"), ("Secret", "alice-auth"), ("Service", "alice")]
    view = made["workspace"]
    assert view["phase"] == "Running" and view["ready_replicas"] == 1 and view["service_ip"] == "10.96.0.9"
    assert view["proxy_url"] == "https://127.0.0.1:16443/api/v1/namespaces/ws/services/http:alice:8080/proxy/"
    assert "pw-alice-1234" not in json.dumps(made) and "cHctYWxpY2UtMTIzNA" not in json.dumps(made)
    again = runner.ensure_workspace(cluster, options())
    assert again["changed"] is False
    check = runner.ensure_workspace(cluster, options(), check_mode=True)
    assert check["changed"] is False and check["workspace"]["phase"] == "Running"


def test_changes_are_seen_by_check_mode_and_applied():
    cluster = FakeCluster()
    runner.ensure_workspace(cluster, options())
    planned = runner.ensure_workspace(cluster, options(image="codercom/code-server:4.105.0"), check_mode=True, diff=True)
    assert planned["changed"] is True
    assert cluster.get("Deployment", "ws", "alice")["spec"]["template"]["spec"]["containers"][0]["image"].endswith("4.104.0")
    before = planned["diff"]["before"]["Deployment/alice"]["spec"]["template"]["spec"]["containers"][0]["image"]
    after = planned["diff"]["after"]["Deployment/alice"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert (before, after) == ("codercom/code-server:4.104.0", "codercom/code-server:4.105.0")
    assert runner.ensure_workspace(cluster, options(image="codercom/code-server:4.105.0"))["changed"] is True
    # A new password is a change of the Secret only, and masked in the diff.
    result = runner.ensure_workspace(cluster, options(image="codercom/code-server:4.105.0", password="other-pw-99"),
                                     diff=True)
    assert result["changed"] is True and "other-pw-99" not in json.dumps(result)


def test_generated_password_is_made_once_and_hidden():
    cluster = FakeCluster()
    hidden = []
    made = runner.ensure_workspace(cluster, options(password=None), hide=hidden.extend,
                                   password_factory=lambda: "generated-pw-0001")
    assert hidden == ["generated-pw-0001"] and "generated-pw-0001" not in json.dumps(made)
    secret = cluster.get("Secret", "ws", "alice-auth")

    def never():
        raise AssertionError("a second password was generated")
    again = runner.ensure_workspace(cluster, options(password=None), password_factory=never)
    assert again["changed"] is False and cluster.get("Secret", "ws", "alice-auth") == secret


def test_timeout_names_the_pods():
    cluster = FakeCluster(ready=False)
    with pytest.raises(GhostError) as info:
        runner.ensure_workspace(cluster, options(wait_timeout=5))
    assert "Failed to start workspace 'ws/alice': timed out after 5s waiting for Deployment alice to become " \
           "Available (pod alice-1 Pending)" == info.value.msg


def test_absent_removes_everything_and_the_namespace_it_made():
    cluster = FakeCluster()
    runner.ensure_workspace(cluster, options(storage="1Gi", storage_class=""))
    runner.ensure_workspace(cluster, options(name="bob"))
    assert runner.ensure_workspace(cluster, options(state="absent"), check_mode=True)["changed"] is True
    assert ("PersistentVolumeClaim", "alice-data") in kinds(cluster)
    gone = runner.ensure_workspace(cluster, options(state="absent"), diff=True)
    assert gone["changed"] is True and gone["workspace"] == {"name": "alice", "namespace": "ws", "cluster": None}
    assert gone["diff"]["before"]["Secret/alice-auth"]["data"] == "********"
    assert kinds(cluster) == [("Deployment", "bob"), ("Namespace", "ws"), ("Secret", "bob-auth"), ("Service", "bob")]
    runner.ensure_workspace(cluster, options(name="bob", state="absent"))
    assert cluster.objects == {}  # the last workspace takes the namespace the module made with it
    assert runner.ensure_workspace(cluster, options(state="absent"))["changed"] is False


def test_absent_leaves_objects_of_the_same_name_that_are_not_a_workspace():
    cluster = FakeCluster()
    cluster.objects[("Namespace", None, "ws")] = {"kind": "Namespace", "metadata": {"name": "ws"}}
    cluster.objects[("Service", "ws", "alice")] = {"kind": "Service", "metadata": {"name": "alice", "labels": {}}}
    assert runner.ensure_workspace(cluster, options(state="absent"))["changed"] is False
    assert ("Service", "ws", "alice") in cluster.objects


def test_a_controller_writing_between_read_and_apply_is_not_our_change():
    cluster = FakeCluster()
    runner.ensure_workspace(cluster, options())

    def status_update(fake):
        deploy = fake.objects[("Deployment", "ws", "alice")]
        deploy["status"] = {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1,
                            "conditions": [{"type": "Available", "status": "True"}]}
        deploy["metadata"]["resourceVersion"] = fake._rv()
    cluster.meanwhile.append(("Deployment", status_update))
    del cluster.calls[:]
    result = runner.ensure_workspace(cluster, options())
    assert result["changed"] is False
    assert cluster.calls == [
        ("apply", "Secret", "ws", "alice-auth"), ("modified", "Deployment", "ws", "alice"),
        ("apply", "Deployment", "ws", "alice"), ("apply", "Service", "ws", "alice")]  # read again, applied again


def test_an_object_that_keeps_changing_is_an_error():
    cluster = FakeCluster()
    runner.ensure_workspace(cluster, options())

    def busy(fake):
        fake.objects[("Service", "ws", "alice")]["metadata"]["resourceVersion"] = fake._rv()
        fake.meanwhile.append(("Service", busy))
    cluster.meanwhile.append(("Service", busy))
    with pytest.raises(Modified):
        runner.ensure_workspace(cluster, options())


# ---------------------------------------------------------------- lifetime (ttl / expires_at / max_ttl)

T0 = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def annotations(cluster):
    return cluster.get("Deployment", "ws", "alice")["metadata"].get("annotations") or {}


def test_ttl_is_stored_on_the_deployment_and_the_same_ttl_again_changes_nothing():
    cluster = FakeCluster()
    planned = runner.ensure_workspace(cluster, options(ttl="1h"), check_mode=True, diff=True, now=T0)
    assert planned["changed"] is True and cluster.objects == {}
    assert planned["diff"]["after"]["Deployment/alice"]["metadata"]["annotations"]["ghost.infra/ttl"] == "1h"
    made = runner.ensure_workspace(cluster, options(ttl="1h"), now=T0)
    assert made["changed"] is True
    assert annotations(cluster) == {"ghost.infra/ttl": "1h", "ghost.infra/expires-at": "2026-12-01T13:00:00Z",
                                    "ghost.infra/renewed-at": "2026-12-01T12:00:00Z"}
    view = made["workspace"]
    assert (view["ttl"], view["expires_at"], view["expired"]) == ("1h", "2026-12-01T13:00:00Z", False)
    # The same TTL, however late: nothing changes and the expiry is not pushed back.
    late = runner.ensure_workspace(cluster, options(ttl="60m"), now=at(7200))
    assert late["changed"] is False and late["workspace"]["expired"] is True
    assert annotations(cluster)["ghost.infra/expires-at"] == "2026-12-01T13:00:00Z"
    # Neither option keeps what is stored.
    kept = runner.ensure_workspace(cluster, options(), now=at(7200))
    assert kept["changed"] is False and annotations(cluster)["ghost.infra/ttl"] == "1h"


def test_a_new_ttl_renews_from_now_and_check_mode_writes_nothing():
    cluster = FakeCluster()
    runner.ensure_workspace(cluster, options(ttl="1h"), now=T0)
    check = runner.ensure_workspace(cluster, options(ttl="2h"), check_mode=True, diff=True, now=at(7200))
    assert check["changed"] is True and annotations(cluster)["ghost.infra/ttl"] == "1h"
    before = check["diff"]["before"]["Deployment/alice"]["metadata"]["annotations"]
    after = check["diff"]["after"]["Deployment/alice"]["metadata"]["annotations"]
    assert (before["ghost.infra/ttl"], after["ghost.infra/ttl"]) == ("1h", "2h")
    renewed = runner.ensure_workspace(cluster, options(ttl="2h"), now=at(7200))
    assert renewed["changed"] is True and renewed["workspace"]["expired"] is False
    assert annotations(cluster)["ghost.infra/expires-at"] == "2026-12-01T16:00:00Z"
    # An explicit expiry replaces the TTL record.
    fixed = runner.ensure_workspace(cluster, options(expires_at="2026-12-24T18:00:00+01:00"), now=at(7200))
    assert fixed["changed"] is True and fixed["workspace"]["ttl"] is None
    assert annotations(cluster) == {"ghost.infra/expires-at": "2026-12-24T17:00:00Z"}


@pytest.mark.parametrize("over, option", [
    ({"ttl": "30"}, "ttl"), ({"expires_at": "tomorrow"}, "expires_at"), ({"ttl": "2d", "max_ttl": "1d"}, "ttl"),
    ({"ttl": "1h", "max_ttl": "soon"}, "max_ttl")])
def test_bad_lifetime_fails_before_anything_is_written(over, option):
    cluster = FakeCluster()
    with pytest.raises(GhostError) as info:
        runner.ensure_workspace(cluster, dict(options(), **over), now=T0)
    assert info.value.option == option
    assert cluster.objects == {} and cluster.calls == []


def test_validate_checks_the_lifetime_options_before_a_cluster_is_reached():
    with pytest.raises(GhostError) as info:
        options(ttl="30")
    assert "ttl" in str(info.value)
    with pytest.raises(GhostError) as info:
        options(expires_at="tomorrow")
    assert "expires_at" in str(info.value)


def test_info_lists_the_workspaces_in_one_call_with_their_expiry():
    cluster = FakeCluster()
    runner.ensure_workspace(cluster, options(ttl="1h"), now=T0)
    runner.ensure_workspace(cluster, options(name="bob", namespace="other", image="nginxinc/nginx-unprivileged:1.27"),
                            now=T0)
    cluster.objects[("Deployment", "ws", "stranger")] = {"kind": "Deployment", "metadata": {
        "name": "stranger", "namespace": "ws", "labels": {"app": "stranger"}}}
    cluster.calls.clear()
    found = runner.list_workspaces(cluster, {"namespace": None}, now=at(7200))
    assert cluster.calls == [("list", "Deployment", None, "app.kubernetes.io/managed-by=ghost.infra,ghost.infra/workspace")]
    assert [(w["namespace"], w["name"], w["flavor"], w["ready"], w["ttl"], w["expired"]) for w in found["workspaces"]] == [
        ("other", "bob", "nginx", True, None, False), ("ws", "alice", "code-server", True, "1h", True)]
    assert found["workspaces"][1]["expires_at"] == "2026-12-01T13:00:00Z" and found["changed"] is False
    one = runner.list_workspaces(cluster, {"namespace": "ws", "name": "alice"}, cluster_id="lab", now=T0)
    assert [(w["name"], w["cluster"], w["expired"]) for w in one["workspaces"]] == [("alice", "lab", False)]
    assert "pw-alice" not in json.dumps(found)
