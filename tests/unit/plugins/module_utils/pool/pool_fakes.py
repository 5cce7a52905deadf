# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for the pool tests: ``FakePoolApi`` (an in-memory API server for Leases with
resourceVersion compare-and-swap, thread-safe, every version kept), ``Clock`` (a settable UTC
clock) and helpers that declare a pool on it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import copy
import datetime
import threading

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.ghost.infra.plugins.module_utils._pool import spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict, Pool

START = datetime.datetime(2025, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


class Clock:
    def __init__(self):
        self.moment = START
        self.mono = 1000.0

    def now(self):
        return self.moment

    def monotonic(self):
        return self.mono

    def advance(self, seconds):
        self.moment += datetime.timedelta(seconds=seconds)
        self.mono += seconds

    def sleep(self, seconds):
        self.advance(seconds)


class FakePoolApi:
    """What PoolClient offers, over a dict; ``history[name]`` keeps every stored version."""

    def __init__(self, clock=None):
        self.objects = {}
        self.rv = 0
        self.lock = threading.Condition()
        self.calls = collections.Counter()
        self.history = collections.defaultdict(list)
        self.waiter = Waiter(sleep=lambda s: None)
        self.svc = None
        self.clock = clock
        self.namespaces = {}
        self.secrets = {}
        self.others = {}   # (kind, namespace, name) -> object (VMs, snapshots)
        self.before_replace = None   # hook(obj) run before a replace is applied

    def _store(self, obj):
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[obj["metadata"]["name"]] = obj
        self.history[obj["metadata"]["name"]].append(copy.deepcopy(obj))
        self.lock.notify_all()
        return copy.deepcopy(obj)

    def read_pool(self, namespace, pool):
        with self.lock:
            self.calls["list"] += 1
            found = {"pool": None, "queue": None, "members": [], "waiters": {}}
            for obj in self.objects.values():
                labels = obj["metadata"].get("labels") or {}
                if obj["metadata"]["namespace"] != namespace or labels.get(spec.LABEL_POOL) != pool:
                    continue
                kind = labels.get(spec.LABEL_OBJECT)
                if kind == spec.OBJECT_MEMBER:
                    found["members"].append(copy.deepcopy(obj))
                elif kind == spec.OBJECT_WAITER:
                    found["waiters"][obj["spec"]["holderIdentity"]] = copy.deepcopy(obj)
                else:
                    found[kind] = copy.deepcopy(obj)
            found["members"].sort(key=lambda m: m["metadata"]["labels"][spec.LABEL_MEMBER])
            return Pool(found["pool"], found["queue"], found["members"], found["waiters"], str(self.rv))

    def get_lease(self, namespace, name):
        with self.lock:
            self.calls["get"] += 1
            obj = self.objects.get(name)
            return copy.deepcopy(obj) if obj and obj["metadata"]["namespace"] == namespace else None

    def replace(self, obj, *, verb="update"):
        if self.before_replace:
            self.before_replace(obj)
        with self.lock:
            self.calls["replace"] += 1
            name = obj["metadata"]["name"]
            current = self.objects.get(name)
            if current is None or current["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
                raise Conflict("Failed to %s Lease '%s': it changed since it was read" % (verb, name))
            return self._store(obj)

    def create(self, obj, *, exist_ok=False):
        with self.lock:
            self.calls["create"] += 1
            if obj["kind"] == "Namespace":
                self.namespaces.setdefault(obj["metadata"]["name"], dict(obj["metadata"].get("labels") or {}))
                return obj
            if obj["metadata"]["name"] in self.objects:
                if exist_ok:
                    return None
                raise GhostError("exists")
            return self._store(obj)

    def delete(self, kind, namespace, name):
        with self.lock:
            self.calls["delete"] += 1
            gone = self.objects.pop(name, None)
            if gone is not None:
                self.history[name].append({"deleted": True})
                self.lock.notify_all()
            return gone is not None

    def delete_exact(self, obj):
        with self.lock:
            current = self.objects.get(obj["metadata"]["name"])
            if current is None:
                return False
            if current["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
                raise Conflict("changed")
        return self.delete("Lease", obj["metadata"]["namespace"], obj["metadata"]["name"])

    def wait_for_member_change(self, namespace, pool, resource_version, timeout, *, wanted=None, count=1):
        with self.lock:
            self.calls["watch"] += 1
            if self.clock is not None:   # simulated time: no real waiting
                self.clock.advance(timeout)
                return False
            return self.lock.wait_for(lambda: str(self.rv) != resource_version, timeout=min(timeout, 0.5))

    # around the pool
    def ensure_namespace(self, name, labels=None):
        with self.lock:
            created = name not in self.namespaces
            self.namespaces.setdefault(name, {}).update(labels or {})
            return created

    def namespace_labels(self, name):
        return dict(self.namespaces[name]) if name in self.namespaces else None

    def unlabel_namespace(self, name, key):
        self.namespaces.get(name, {}).pop(key, None)

    def secret_value(self, namespace, name, key):
        return self.secrets.get((namespace, name, key))

    def vms_by_selector(self, namespace, selector):
        key, value = selector.split("=")
        return sorted(o["metadata"]["name"] for (kind, ns, unused), o in self.others.items()
                      if kind == "VirtualMachine" and ns == namespace
                      and (o["metadata"].get("labels") or {}).get(key) == value)

    def get(self, kind, namespace, name):
        return copy.deepcopy(self.others.get((kind, namespace, name)))

    def add_vm(self, namespace, name, *, labels=None, snapshot=None, ready=True):
        self.namespaces.setdefault(namespace, {})
        self.others[("VirtualMachine", namespace, name)] = {
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"runStrategy": "Always"}, "status": {"ready": True, "printableStatus": "Running"}}
        if snapshot:
            self.others[("VirtualMachineSnapshot", namespace, snapshot)] = {
                "metadata": {"name": snapshot, "namespace": namespace},
                "spec": {"source": {"kind": "VirtualMachine", "name": name}},
                "status": {"readyToUse": ready, "phase": "Succeeded" if ready else "InProgress"}}


def declare_params(**given):
    params = {"name": "cks", "namespace": "ghost-pools", "kind": "kubevirt", "members": 3, "state": "present",
              "vms": [{"role": "control-plane", "name": "{member}-cp"}, {"role": "worker", "name": "{member}-wk"}],
              "force": False}
    params.update(given)
    return params


def populate(api, members=("cluster1", "cluster2", "cluster3")):
    for member in members:
        api.add_vm(member, "%s-cp" % member, snapshot="cp-snap")
        api.add_vm(member, "%s-wk" % member, snapshot="wk-snap")
        api.others[("VirtualMachineSnapshot", member, "wk-snap")]["spec"]["source"]["name"] = "%s-wk" % member
        api.others[("VirtualMachineSnapshot", member, "cp-snap")]["spec"]["source"]["name"] = "%s-cp" % member
