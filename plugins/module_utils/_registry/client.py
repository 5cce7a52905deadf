# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry's calls to Kubernetes. Private to ghost.infra.

- ``probe(kubeconfig, timeout, ...)``: ``/version`` and one list (namespaces for a pre-warm,
  nodes for health) through a registered cluster's own kubeconfig, as plain data; a failure is
  described (exception chain, HTTP status) for ``spec.classify``, never raised.
- ``run_bounded(tasks, timeout)``: callables in parallel daemon threads, one deadline for all:
  a black-holed API server (accepts, never answers) costs its own slot, not anyone's time,
  and a thread still hanging at the deadline does not keep the module alive.
- ``RegistrySecrets``: the Secrets of the Kubernetes store, on ``_k8s/client.py``.
- ``auth_service(auth)`` / ``store_service(store_auth)``: kubernetes.core's service from a dict of
  its connection options (with its own ``K8S_AUTH_*`` fallbacks): the management cluster of the
  Kubernetes store, or the cluster workspace was given with connection options.
- ``cluster_service(kubeconfig, module)``: the same for a registered cluster, from its stored
  kubeconfig only (no environment fallback may redirect it to another cluster).
No AnsibleModule here; YAML goes through ``load_yaml`` / ``dump_yaml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import threading
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import K8sClient
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message, connect

KUBERNETES = optional_import("kubernetes")
YAML = optional_import("yaml", "PyYAML")
# The connect share of a request's time: a dead address fails fast, a slow server gets the rest.
CONNECT_SHARE = 0.5
LIST_LIMIT = 500


def load_yaml(text, *, option, what):
    """A YAML (or JSON) document; GhostError naming ``option`` when it does not parse."""
    yaml = YAML.require()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GhostError("%s is not YAML or JSON: %s" % (what, str(exc).splitlines()[0]), option=option)


def dump_yaml(document):
    """A kubeconfig as YAML bytes, the same bytes for the same document."""
    return YAML.require().safe_dump(document, default_flow_style=False, sort_keys=False).encode("utf-8")


# ---------------------------------------------------------------- probes

def describe_failure(exc):
    """``{"status", "chain", "timed_out"}`` of an exception, following urllib3's ``reason`` and ``__cause__``."""
    chain = []
    seen = exc
    status = None
    while seen is not None and len(chain) < 8:
        chain.append([type(seen).__name__, str(seen)[:500]])
        if status is None and isinstance(getattr(seen, "status", None), int) and seen.status:
            status = seen.status
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (seen.__cause__ or seen.__context__)
    return {"status": status, "chain": chain, "timed_out": False}


class _Deadline:
    def __init__(self, timeout):
        self.end = time.monotonic() + timeout

    def request_timeout(self):
        """``(connect, read)`` seconds for the next request, within what is left."""
        left = max(0.05, self.end - time.monotonic())
        return (max(0.05, left * CONNECT_SHARE), left)


def _api_client(kubeconfig):
    kubernetes = KUBERNETES.require()
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config_from_dict(kubeconfig, client_configuration=configuration)
    configuration.retries = False
    return kubernetes.client.ApiClient(configuration)


def probe(kubeconfig, timeout, *, listing="namespaces"):
    """``/version`` then one page of ``listing`` (namespaces, nodes, or None: no list) within
    ``timeout`` seconds.

    Returns ``{"server_version", "latency_ms", "<kind>_count", "failure"}``; ``failure`` is None or
    ``describe_failure`` of what went wrong. A 403 on the node list only leaves the count unknown.
    """
    deadline = _Deadline(timeout)
    out = {"server_version": None, "latency_ms": None, "failure": None}
    try:
        api = _api_client(kubeconfig)
    except Exception as exc:  # a kubeconfig the client refuses, an exec plugin that fails...
        out["failure"] = describe_failure(exc)
        return out
    try:
        kubernetes = KUBERNETES.module
        started = time.monotonic()
        version = kubernetes.client.VersionApi(api).get_code(_request_timeout=deadline.request_timeout())
        out["latency_ms"] = int(round((time.monotonic() - started) * 1000))
        out["server_version"] = version.git_version
        if listing is None:
            return out
        core = kubernetes.client.CoreV1Api(api)
        lister = core.list_node if listing == "nodes" else core.list_namespace
        try:
            listed = lister(limit=LIST_LIMIT, _request_timeout=deadline.request_timeout())
        except Exception as exc:
            if listing == "nodes" and describe_failure(exc)["status"] == 403:
                return out
            raise
        remaining = (listed.metadata.remaining_item_count if listed.metadata else None) or 0
        out["%s_count" % listing[:-1]] = len(listed.items or []) + int(remaining)
    except Exception as exc:
        out["failure"] = describe_failure(exc)
    finally:
        try:
            api.close()
        except Exception:
            pass
    return out


def run_bounded(tasks, timeout):
    """Run each callable of ``tasks`` (key -> callable) in its own daemon thread; wait at most
    ``timeout`` seconds for all of them together.

    Returns key -> the callable's return value, or ``{"failure": {"timed_out": True, ...}}`` for
    one still running at the deadline (its thread is left behind as a daemon, ending with its
    own request timeout).
    """
    results = {}
    lock = threading.Lock()

    def worker(key, task):
        try:
            value = task()
        except Exception as exc:
            value = {"failure": describe_failure(exc)}
        with lock:
            results[key] = value

    threads = []
    for key, task in tasks.items():
        thread = threading.Thread(target=worker, args=(key, task), name="ghost-probe-%s" % key, daemon=True)
        thread.start()
        threads.append(thread)
    end = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    with lock:
        done = dict(results)
    for key in tasks:
        if key not in done:
            done[key] = {"failure": {"status": None, "chain": [], "timed_out": True}}
    return done


# ---------------------------------------------------------------- the Kubernetes store

class RegistrySecrets(K8sClient):
    """Secrets and the namespace of ``store: k8s:<namespace>``."""

    API_VERSIONS = {"Secret": "v1", "Namespace": "v1"}

    def missing_resource(self, kind, cause):
        return GhostError("Failed to reach the management cluster of the registry: %s" % cause)


class _AuthOptions:
    """What kubernetes.core's get_api_client reads of a module: the nested ``store_auth`` as params."""

    server_side_dry_run = False

    def __init__(self, params, check_mode):
        self.params = params
        self.check_mode = check_mode

    @staticmethod
    def requires(name, version=None, reason=None):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise GhostError("the Python library %s%s is required%s: %s" % (
                name, " >= %s" % version if version else "", " " + reason if reason else "", exc))

    def warn(self, message):
        pass


def auth_service(auth, *, check_mode=False):
    """kubernetes.core's K8sService for ``auth`` (kubernetes.core's connection options as a dict;
    each one missing falls back to its ``K8S_AUTH_*`` variable there). Only these options reach
    kubernetes.core, never a module's other parameters (workspace's ``password`` is no basic-auth
    password)."""
    from ansible_collections.ghost.infra.plugins.module_utils._registry.argspec import REGISTRY_SPEC
    params = dict.fromkeys(REGISTRY_SPEC["store_auth"]["options"])
    params.update({key: value for key, value in (auth or {}).items() if key in params and value is not None})
    return connect(_AuthOptions(params, check_mode))


def store_service(store_auth, *, check_mode=False):
    """kubernetes.core's K8sService for the management cluster of the Kubernetes store."""
    try:
        return auth_service(store_auth, check_mode=check_mode)
    except GhostError as exc:
        raise GhostError("Failed to reach the management cluster of the registry: %s" % str(exc).replace(
            "Failed to connect to the Kubernetes API: ", ""), option="store_auth")


def cluster_service(kubeconfig, module):
    """kubernetes.core's K8sService for a registered cluster, from its stored kubeconfig alone."""
    KUBERNETES.require()
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import K8SClient, create_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
    kubernetes = KUBERNETES.module
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_kube_config_from_dict(kubeconfig, client_configuration=configuration)
        client = create_api_client(configuration)
    except Exception as exc:
        raise GhostError("Failed to connect to the registered cluster: %s" % api_error_message(exc))
    return K8sService(K8SClient(configuration=configuration, client=client), module)
