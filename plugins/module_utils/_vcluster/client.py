# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host-cluster reads and writes for the vcluster modules. Private to ghost.infra.

Over kubernetes.core's ``K8sService`` (``_k8s/service.py``): namespaces, the vcluster workload
(the StatefulSet, or the Deployment the chart uses without persistence -- what `vcluster list`
reads, labelled ``app=vcluster`` and ``release=<name>``), its pods, Secret ``vc-<name>``
(key ``config``: the kubeconfig the vcluster publishes) and annotation patches. Plus the
``/version`` probe of a virtual API server with the kubernetes client. No AnsibleModule here;
plain dicts out, GhostError with the API server's message on failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message, http_status, to_dict
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import logic

KUBERNETES = optional_import("kubernetes")
YAML = optional_import("yaml", "PyYAML")

FIRST_INTERVAL = 0.25
MAX_INTERVAL = 2.0
WORKLOAD_KINDS = ("StatefulSet", "Deployment")
API_VERSIONS = {"StatefulSet": "apps/v1", "Deployment": "apps/v1", "Pod": "v1", "Secret": "v1", "Namespace": "v1"}


def _items(listing):
    return [to_dict(item) for item in (to_dict(listing) or {}).get("items") or []]


def secret_name(name):
    """The Secret a vcluster publishes its kubeconfig in."""
    return "vc-%s" % name


class VclusterClient:
    """What the vcluster modules need from the host cluster."""

    def __init__(self, svc, sleep=time.sleep, clock=time.monotonic):
        self.svc = svc
        self._sleep = sleep
        self._clock = clock
        self._resources = {}

    def resource(self, kind):
        if kind not in self._resources:
            try:
                self._resources[kind] = self.svc.find_resource(kind, API_VERSIONS[kind], fail=True)
            except Exception as exc:
                raise GhostError("Failed to reach the host cluster API: %s" % api_error_message(exc))
        return self._resources[kind]

    def _get(self, kind, namespace, name):
        try:
            return to_dict(self.svc.client.get(self.resource(kind), name=name, namespace=namespace))
        except Exception as exc:
            if http_status(exc) == 404:
                return None
            raise GhostError("Failed to read %s '%s': %s" % (
                kind, "%s/%s" % (namespace, name) if namespace else name, api_error_message(exc)))

    def _list(self, kind, namespace, label_selector):
        try:
            return _items(self.svc.client.get(self.resource(kind), namespace=namespace, label_selector=label_selector))
        except Exception as exc:
            raise GhostError("Failed to list %ss%s: %s" % (
                kind, " in namespace '%s'" % namespace if namespace else "", api_error_message(exc)))

    # ------------------------------------------------------------ namespace

    def namespace(self, name):
        return self._get("Namespace", None, name)

    def create_namespace(self, name):
        """Create the namespace the way `vcluster create` would (`vcluster delete` may remove it)."""
        body = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name,
                             "labels": {"app.kubernetes.io/managed-by": "ghost.infra"},
                             "annotations": {logic.CREATED_BY_VCLUSTER: "true"}}}
        try:
            self.svc.client.create(self.resource("Namespace"), body)
        except Exception as exc:
            if http_status(exc) == 409:
                return
            raise GhostError("Failed to create namespace '%s': %s" % (name, api_error_message(exc)))

    def ensure_namespace(self, name, timeout):
        """Create ``name`` if missing, first waiting out a namespace still terminating; True when created."""
        deadline = self._clock() + timeout
        interval = FIRST_INTERVAL
        while True:
            current = self.namespace(name)
            if current is None:
                self.create_namespace(name)
                return True
            if not (current.get("metadata") or {}).get("deletionTimestamp"):
                return False
            if self._clock() >= deadline:
                raise GhostError("Failed to create namespace '%s': it is still being deleted after %ds" % (name, timeout))
            self._sleep(interval)
            interval = min(interval * 2, MAX_INTERVAL)

    # ------------------------------------------------------------ vclusters

    def workloads(self, namespace=None, name=None):
        """vcluster workloads (StatefulSets, Deployments) by namespace (None: all) and name."""
        selector = logic.APP_SELECTOR + (",release=%s" % name if name else "")
        found = []
        for kind in WORKLOAD_KINDS:
            for obj in self._list(kind, namespace, selector):
                obj.setdefault("kind", kind)
                if ((obj.get("metadata") or {}).get("labels") or {}).get("release"):
                    found.append(obj)
        return found

    def workload(self, namespace, name):
        """The workload of vcluster ``name`` in ``namespace``, or None."""
        matches = [w for w in self.workloads(namespace, name) if w["metadata"].get("name") == name]
        return matches[0] if matches else None

    def pods(self, namespace=None, name=None):
        selector = logic.APP_SELECTOR + (",release=%s" % name if name else "")
        return self._list("Pod", namespace, selector)

    def kubeconfig_text(self, namespace, name):
        """The kubeconfig in Secret ``vc-<name>`` (key ``config``) as text, or None."""
        secret = self._get("Secret", namespace, secret_name(name))
        data = ((secret or {}).get("data") or {}).get("config")
        if not data:
            return None
        try:
            return base64.b64decode(data).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise GhostError("Failed to read the kubeconfig of vcluster '%s/%s': Secret %s key config is not "
                             "base64 text (%s)" % (namespace, name, secret_name(name), exc))

    def delete_kubeconfig_secret(self, namespace, name):
        """Delete Secret vc-<name> (it holds credentials); True when there was one."""
        try:
            self.svc.client.delete(self.resource("Secret"), name=secret_name(name), namespace=namespace)
        except Exception as exc:
            if http_status(exc) == 404:
                return False
            raise GhostError("Failed to delete Secret '%s/%s': %s" % (namespace, secret_name(name), api_error_message(exc)))
        return True

    def annotate(self, workload, annotations):
        """Merge-patch ``annotations`` onto the workload; returns the patched object."""
        meta = workload["metadata"]
        kind = workload.get("kind") or "StatefulSet"
        try:
            patched = self.svc.client.patch(self.resource(kind), {"metadata": {"annotations": annotations}},
                                            name=meta["name"], namespace=meta["namespace"],
                                            content_type="application/merge-patch+json")
        except Exception as exc:
            raise GhostError("Failed to annotate %s '%s/%s': %s" % (
                kind, meta["namespace"], meta["name"], api_error_message(exc)))
        out = to_dict(patched)
        out.setdefault("kind", kind)
        return out

    def wait(self, predicate, timeout):
        """Poll ``predicate()`` (it returns a truthy result when done); ``(result, elapsed)``."""
        start = self._clock()
        interval = FIRST_INTERVAL
        while True:
            result = predicate()
            elapsed = self._clock() - start
            if result or elapsed >= timeout:
                return result, elapsed
            self._sleep(min(interval, max(0.0, timeout - elapsed)))
            interval = min(interval * 2, MAX_INTERVAL)


def parse_kubeconfig(text):
    """A kubeconfig (YAML) as a dict; GhostError when it is not one."""
    yaml = YAML.require()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GhostError("the published kubeconfig is not YAML: %s" % str(exc).splitlines()[0])
    if not isinstance(data, dict) or not data.get("clusters"):
        raise GhostError("the published kubeconfig has no clusters")
    return data


def dump_kubeconfig(data):
    return YAML.require().safe_dump(data, default_flow_style=False, sort_keys=False)


def probe_version(kubeconfig, timeout=10):
    """``/version`` of the API server a kubeconfig dict points at: its gitVersion, or GhostError."""
    kubernetes = KUBERNETES.require()
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_kube_config_from_dict(kubeconfig, client_configuration=configuration)
    except Exception as exc:
        raise GhostError("the kubeconfig cannot be used: %s" % exc)
    configuration.retries = False
    api = kubernetes.client.ApiClient(configuration)
    try:
        info = kubernetes.client.VersionApi(api).get_code(_request_timeout=(min(5, timeout), timeout))
        return info.git_version
    except Exception as exc:
        raise GhostError(api_error_message(exc))
    finally:
        try:
            api.close()
        except Exception:
            pass
