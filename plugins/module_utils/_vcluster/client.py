# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host-cluster reads and writes for the vcluster modules. Private to ghost.infra.

On the Kubernetes client base (``_k8s/client.py``): namespaces, the vcluster workload (the
StatefulSet, or the Deployment the chart uses without persistence -- what `vcluster list`
reads, labelled ``app=vcluster`` and ``release=<name>``), its pods, Secret ``vc-<name>`` (key
``config``: the kubeconfig the vcluster publishes), its Service, its helm release (the release
Secret helm keeps, which outlives a workload that was never created) and annotation patches. Plus the
``/version`` probe of a virtual API server with the kubernetes client and the parsing of the
published kubeconfig. No AnsibleModule here; plain dicts out, GhostError with the API server's
message on failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip
import json

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import K8sClient
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec

KUBERNETES = optional_import("kubernetes")
YAML = optional_import("yaml", "PyYAML")

WORKLOAD_KINDS = ("StatefulSet", "Deployment")
# Chart names of a vcluster release, as `vcluster create` recognises them.
VCLUSTER_CHARTS = ("vcluster", "vcluster-k8s", "vcluster-eks", "vcluster-k3s", "vcluster-k0s")


def secret_name(name):
    """The Secret a vcluster publishes its kubeconfig in."""
    return "vc-%s" % name


def _selector(name):
    return spec.APP_SELECTOR + (",release=%s" % name if name else "")


def _terminating(obj):
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


class VclusterClient(K8sClient):
    """What the vcluster modules need from the host cluster."""

    API_VERSIONS = {"StatefulSet": "apps/v1", "Deployment": "apps/v1", "Pod": "v1", "Secret": "v1", "Namespace": "v1",
                    "Service": "v1"}

    def missing_resource(self, kind, cause):
        return GhostError("Failed to reach the host cluster API: %s" % cause)

    # ------------------------------------------------------------ namespace

    def namespace(self, name):
        return self.get("Namespace", None, name)

    def ensure_namespace(self, name, timeout):
        """Create ``name`` if missing, first waiting out a namespace still terminating; True when created.

        Created the way `vcluster create` would, so `vcluster delete` may remove it.
        """
        found = self.waiter.wait(lambda: self.namespace(name), timeout,
                                 until=lambda current: current is None or not _terminating(current))
        if not found.done:
            raise GhostError("Failed to create namespace '%s': it is still being deleted after %ds" % (name, timeout))
        if found.value is not None:
            return False
        self.create({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": name,
                                  "labels": {"app.kubernetes.io/managed-by": "ghost.infra"},
                                  "annotations": {spec.CREATED_BY_VCLUSTER: "true"}}}, exist_ok=True)
        return True

    def delete_namespace(self, name):
        """Delete namespace ``name`` (and all in it); True when it was there."""
        return self.delete("Namespace", None, name)

    # ------------------------------------------------------------ vclusters

    def workloads(self, namespace=None, name=None):
        """vcluster workloads (StatefulSets, Deployments) by namespace (None: all) and name."""
        found = []
        for kind in WORKLOAD_KINDS:
            for obj in self.list(kind, namespace, _selector(name)):
                obj.setdefault("kind", kind)
                if ((obj.get("metadata") or {}).get("labels") or {}).get("release"):
                    found.append(obj)
        return found

    def workload(self, namespace, name):
        """The workload of vcluster ``name`` in ``namespace``, or None."""
        matches = [w for w in self.workloads(namespace, name) if w["metadata"].get("name") == name]
        return matches[0] if matches else None

    def pods(self, namespace=None, name=None):
        return self.list("Pod", namespace, _selector(name))

    def kubeconfig_text(self, namespace, name):
        """The kubeconfig in Secret ``vc-<name>`` (key ``config``) as text, or None."""
        secret = self.get("Secret", namespace, secret_name(name))
        data = ((secret or {}).get("data") or {}).get("config")
        if not data:
            return None
        try:
            return base64.b64decode(data).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise GhostError("Failed to read the kubeconfig of vcluster '%s/%s': Secret %s key config is not "
                             "base64 text (%s)" % (namespace, name, secret_name(name), exc))

    def service(self, namespace, name):
        """The vcluster's Service (named after it), or None."""
        return self.get("Service", namespace, name)

    def helm_release(self, namespace, name):
        """The newest helm release ``name`` in ``namespace`` if it is a vcluster chart's, else None.

        Read from the release Secrets helm keeps (labels ``owner=helm``, ``name=<release>``):
        ``{"status": ..., "revision": int, "chart": ...}``. They outlive a helm run that failed
        before the workload existed, which `vcluster delete` cannot see.
        """
        secrets = self.list("Secret", namespace, "owner=helm,name=%s" % name)
        newest = max(secrets, key=_revision, default=None)
        if newest is None:
            return None
        chart = helm_release_chart(newest)
        if chart not in VCLUSTER_CHARTS:
            return None  # another chart's release of the same name (or one we cannot read): not ours to touch
        labels = newest["metadata"].get("labels") or {}
        return {"status": labels.get("status"), "revision": _revision(newest), "chart": chart}

    def delete_kubeconfig_secret(self, namespace, name):
        """Delete Secret vc-<name> (it holds credentials); True when there was one."""
        return self.delete("Secret", namespace, secret_name(name))

    def annotate(self, workload, annotations):
        """Merge-patch ``annotations`` onto the workload; returns the patched object."""
        meta = workload["metadata"]
        kind = workload.get("kind") or "StatefulSet"
        patched = self.patch(kind, meta["namespace"], meta["name"], {"metadata": {"annotations": annotations}},
                             verb="annotate")
        patched.setdefault("kind", kind)
        return patched


def _revision(secret):
    try:
        return int(((secret.get("metadata") or {}).get("labels") or {}).get("version") or 0)
    except ValueError:
        return 0


def helm_release_chart(secret):
    """The chart name in a helm release Secret (``data.release``: base64 of gzipped JSON), or None."""
    data = ((secret or {}).get("data") or {}).get("release")
    if not data:
        return None
    try:
        payload = base64.b64decode(base64.b64decode(data))
        if payload[:2] == b"\x1f\x8b":
            payload = gzip.decompress(payload)
        release = json.loads(payload.decode("utf-8"))
        return ((release.get("chart") or {}).get("metadata") or {}).get("name")
    except (ValueError, TypeError, OSError, AttributeError):
        return None


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
