# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host-cluster calls of the cluster pool modules. Private to ghost.infra.

On the Kubernetes client base (``_k8s/client.py``): the whole pool in ONE list call (every Lease
labelled ``ghost.infra/pool=<pool>``, sorted into declaration, queue, members and waiters, with
the list's resourceVersion), compare-and-swap writes (a PUT carrying the resourceVersion that was
read: ``Conflict`` when somebody wrote the object in between), a watch on the members that
returns at their first change, and the reads the declaration needs (namespaces, VMs, snapshots,
Secrets). Every API request is counted in ``calls`` (the benchmark reports them). No
AnsibleModule here; plain dicts out, GhostError with the API server's message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import K8sClient, ref, to_dict
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message, connect, http_status
from ansible_collections.ghost.infra.plugins.module_utils._pool import phases, spec

# Seconds an API request may take before the run gives up on it (a stalled connection must not
# hang a playbook); watches end on the server's timeoutSeconds and get this much more.
REQUEST_TIMEOUT = 30

# Leases are built in (coordination.k8s.io/v1 since Kubernetes 1.14): the pool's hot path asks for
# them by their fixed path, as client-go's typed clients do, with no discovery lookup.
LEASES_PATH = "/apis/%s/namespaces/%%s/leases" % spec.API_VERSION

Pool = collections.namedtuple("Pool", ["declaration", "queue", "members", "waiters", "resource_version"])


def unreachable(exc):
    """A short reason when ``exc`` is a connection failure (refused, reset, timed out), else None.

    The kubernetes client raises urllib3's MaxRetryError / ProtocolError (or an OSError) with a
    long repr; the user needs to know the API server did not answer, and why in a few words.
    """
    seen, depth = exc, 0
    while seen is not None and depth < 10:
        reason = getattr(seen, "reason", None)
        if type(seen).__name__ in ("MaxRetryError", "ProtocolError", "NewConnectionError", "ReadTimeoutError",
                                   "ConnectTimeoutError") or isinstance(seen, OSError):
            text = str(reason if reason is not None else seen)
            for pattern in ("Connection refused", "Connection reset by peer", "timed out", "Connection aborted",
                            "Remote end closed connection", "No route to host", "Name or service not known"):
                if pattern.lower() in text.lower():
                    return pattern.lower()
            return text.rsplit(": ", 1)[-1][:200] or type(seen).__name__
        seen = seen.__cause__ or seen.__context__
        depth += 1
    return None


def _as_json(_client, data):
    """The dynamic client's ``serializer``: keep the reply the plain JSON it is (no ResourceInstance to copy back)."""
    return data


def _cause(exc):
    reason = unreachable(exc)
    if reason:
        return "the Kubernetes API server did not answer (%s)" % reason
    return api_error_message(exc)


class Conflict(GhostError):
    """A compare-and-swap write lost: the object changed (409) or is gone (404) since it was read."""


def connect_pool(module):
    """The PoolClient of a module run, over ``_k8s.service.connect`` (its phases timed for the benchmark)."""
    phases.start()
    with phases.span("connect"):
        return PoolClient(connect(module))


class PoolClient(K8sClient):
    """The pool's Lease objects and what the declaration reads around them."""

    API_VERSIONS = {
        spec.LEASE: spec.API_VERSION, "Namespace": "v1", "Secret": "v1",
        "VirtualMachine": "kubevirt.io/v1", "VirtualMachineSnapshot": "snapshot.kubevirt.io/v1beta1",
    }

    def __init__(self, svc, *, waiter=None):
        super(PoolClient, self).__init__(svc, waiter=waiter)
        self.calls = collections.Counter()

    def resource(self, kind):
        """The dynamic-client resource of ``kind``; an unreachable API server is said so, not "does not serve"."""
        if kind not in self._resources:
            try:
                with phases.span("lookup"):
                    self._resources[kind] = self.svc.find_resource(kind, self.API_VERSIONS[kind], fail=True)
            except Exception as exc:
                if unreachable(exc):
                    raise GhostError("Failed to reach the Kubernetes API: %s" % _cause(exc))
                raise self.missing_resource(kind, api_error_message(exc))
        return self._resources[kind]

    def missing_resource(self, kind, cause):
        if kind.startswith("VirtualMachine"):
            return GhostError("The Kubernetes API does not serve %s %s: is KubeVirt installed with the Snapshot "
                              "feature gate? (%s)" % (self.API_VERSIONS[kind], kind, cause))
        return GhostError("The Kubernetes API does not serve %s %s: %s" % (self.API_VERSIONS[kind], kind, cause))

    # The base class's reads and writes, counted.
    def get(self, kind, namespace, name):
        self.calls["get"] += 1
        self.resource(kind)
        with phases.span("get"):
            return super(PoolClient, self).get(kind, namespace, name)

    def list(self, kind, namespace=None, label_selector=None):
        self.calls["list"] += 1
        self.resource(kind)
        with phases.span("list"):
            return super(PoolClient, self).list(kind, namespace, label_selector)

    def create(self, definition, *, exist_ok=False):
        self.calls["create"] += 1
        self.resource(definition["kind"])
        with phases.span("create"):
            return super(PoolClient, self).create(definition, exist_ok=exist_ok)

    def patch(self, kind, namespace, name, body, *, verb="update"):
        self.calls["patch"] += 1
        self.resource(kind)
        with phases.span("patch"):
            return super(PoolClient, self).patch(kind, namespace, name, body, verb=verb)

    def delete(self, kind, namespace, name):
        self.calls["delete"] += 1
        self.resource(kind)
        with phases.span("delete"):
            return super(PoolClient, self).delete(kind, namespace, name)

    # ------------------------------------------------------------ the pool

    def lease_request(self, method, namespace, name=None, *, phase, **params):
        """A Lease request on its fixed path; the reply as plain JSON (a dict). Errors as the dynamic client raises them."""
        path = LEASES_PATH % namespace + ("/%s" % name if name else "")
        with phases.span(phase):
            return self.svc.client.client.request(method, path, serializer=_as_json, _request_timeout=REQUEST_TIMEOUT,
                                                  **params)

    def read_pool(self, namespace, pool):
        """Every object of ``pool`` in one list call, as ``Pool``; members sorted by id."""
        self.calls["list"] += 1
        try:
            listing = self.lease_request("GET", namespace, phase="list", label_selector=spec.pool_selector(pool))
        except Exception as exc:
            raise GhostError("Failed to read pool '%s' (Leases in namespace '%s'): %s" % (pool, namespace, _cause(exc)))
        found = {"pool": None, "queue": None, "members": [], "waiters": {}}
        for item in (listing or {}).get("items") or []:
            # A list's items carry no apiVersion and kind; the writes that follow need them.
            item.setdefault("apiVersion", spec.API_VERSION)
            item.setdefault("kind", spec.LEASE)
            labels = (item.get("metadata") or {}).get("labels") or {}
            obj = labels.get(spec.LABEL_OBJECT)
            if obj == spec.OBJECT_MEMBER and labels.get(spec.LABEL_MEMBER):
                found["members"].append(item)
            elif obj == spec.OBJECT_WAITER and (item.get("spec") or {}).get("holderIdentity"):
                found["waiters"][item["spec"]["holderIdentity"]] = item
            elif obj in (spec.OBJECT_POOL, spec.OBJECT_QUEUE):
                found[obj] = item
        found["members"].sort(key=lambda m: m["metadata"]["labels"][spec.LABEL_MEMBER])
        return Pool(found["pool"], found["queue"], found["members"], found["waiters"],
                    ((listing or {}).get("metadata") or {}).get("resourceVersion"))

    def get_lease(self, namespace, name):
        """The Lease as a dict, or None when it does not exist."""
        self.calls["get"] += 1
        try:
            return self.lease_request("GET", namespace, name, phase="get")
        except Exception as exc:
            if http_status(exc) == 404:
                return None
            raise GhostError(failure("read", spec.LEASE, ref(namespace, name), _cause(exc)))

    def replace(self, obj, *, verb="update"):
        """PUT the Lease ``obj`` with the resourceVersion it carries; the stored object, or Conflict."""
        meta = obj["metadata"]
        self.calls["replace"] += 1
        try:
            return self.lease_request("PUT", meta["namespace"], meta["name"], phase="put", body=obj)
        except Exception as exc:
            status = http_status(exc)
            if status in (404, 409):
                raise Conflict(failure(verb, obj["kind"], ref(meta.get("namespace"), meta["name"]),
                                       "it changed since it was read" if status == 409 else "it is gone"))
            raise GhostError(failure(verb, obj["kind"], ref(meta.get("namespace"), meta["name"]), _cause(exc)))

    def delete_exact(self, obj):
        """Delete ``obj`` only if it is still the version that was read (Conflict otherwise); False when gone."""
        meta = obj["metadata"]
        resource = self.resource(obj["kind"])
        self.calls["delete"] += 1
        try:
            self.svc.client.delete(resource, name=meta["name"], namespace=meta.get("namespace"),
                                   body={"preconditions": {"resourceVersion": meta.get("resourceVersion")}},
                                   _request_timeout=REQUEST_TIMEOUT)
        except Exception as exc:
            status = http_status(exc)
            if status == 404:
                return False
            if status == 409:
                raise Conflict(failure("delete", obj["kind"], ref(meta.get("namespace"), meta["name"]),
                                       "it changed since it was read"))
            raise GhostError(failure("delete", obj["kind"], ref(meta.get("namespace"), meta["name"]), _cause(exc)))
        return True

    def wait_for_member_change(self, namespace, pool, resource_version, timeout, *, wanted=None, count=1):
        """Block until ``count`` members of ``pool`` changed after ``resource_version``, or ``timeout`` seconds.

        ``wanted(member)`` filters the changes worth counting (a waiter only cares about a member
        becoming available; every other change would make all waiters read the pool again for
        nothing). True when they came (or the watch could not tell: the caller reads again
        anyway), False when the time ran out first.
        """
        seconds = max(1, int(timeout))
        resource = self.resource(spec.LEASE)
        self.calls["watch"] += 1
        try:
            events = self.svc.client.client.watch(
                resource, namespace=namespace, label_selector=spec.pool_selector(pool, spec.OBJECT_MEMBER),
                resource_version=resource_version, timeout=seconds)
            seen = 0
            for event in events:
                kind = event.get("type")
                if kind in ("ADDED", "DELETED", "ERROR"):
                    return True
                if kind == "MODIFIED" and (wanted is None or wanted(to_dict(event.get("raw_object") or event.get("object")))):
                    seen += 1
                    if seen >= count:
                        return True
        except Exception:  # 410 Gone, a dropped stream...: read the pool again
            return True
        return False

    # ------------------------------------------------------------ around the pool

    def ensure_namespace(self, name, labels=None):
        """Create namespace ``name`` when missing (True), else add missing ``labels`` (False)."""
        current = self.get("Namespace", None, name)
        if current is None:
            created = self.create({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": name, "labels": dict(spec.MANAGED_BY, **(labels or {}))}},
                                  exist_ok=True)
            if created is not None:
                return True
            current = self.get("Namespace", None, name)
        patch = spec.labels_patch((current.get("metadata") or {}).get("labels"), labels or {})
        if patch:
            self.patch("Namespace", None, name, {"metadata": {"labels": patch}}, verb="label")
        return False

    def namespace_labels(self, name):
        """The labels of namespace ``name`` ({} when it has none), or None when it does not exist."""
        current = self.get("Namespace", None, name)
        return None if current is None else dict((current.get("metadata") or {}).get("labels") or {})

    def unlabel_namespace(self, name, key):
        """Remove label ``key`` from namespace ``name`` when it is there."""
        labels = self.namespace_labels(name)
        if labels and key in labels:
            self.patch("Namespace", None, name, {"metadata": {"labels": {key: None}}}, verb="unlabel")

    def vms_by_selector(self, namespace, selector):
        """Names of the VirtualMachines in ``namespace`` matching ``selector``."""
        return sorted(vm["metadata"]["name"] for vm in self.list("VirtualMachine", namespace, selector))

    def secret_value(self, namespace, name, key):
        """The decoded ``key`` of Secret ``namespace/name`` as bytes, or None."""
        secret = self.get("Secret", namespace, name)
        data = ((secret or {}).get("data") or {}).get(key)
        if not data:
            return None
        try:
            return base64.b64decode(data)
        except (TypeError, ValueError) as exc:
            raise GhostError("Failed to read Secret '%s/%s': key %s is not base64 (%s)" % (namespace, name, key, exc))
