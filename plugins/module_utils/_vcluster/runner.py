# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the vcluster and vcluster_info modules do. Private to ghost.infra.

Like kubernetes.core's ``perform_action(svc, definition, params)``, these functions take the
host-cluster API (``client.VclusterClient``), the CLI (``cli.VclusterCli``) and the module
parameters -- never the module -- so unit tests drive them with fakes. Read the current state
once, decide, act unless ``check_mode``, wait, return the result dict. Failures are GhostError
in the shape ``Failed to <verb> vcluster '<namespace>/<name>': <cause>``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import client as vclient
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import logic, store

KIND = "vcluster"
# How long the workload may take to show up after `vcluster create` returned (helm creates it).
WORKLOAD_APPEAR_TIMEOUT = 30


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _time_source(now):
    """A callable giving the current time: ``now`` pins it (tests), else "expired" is judged at each call."""
    if callable(now):
        return now
    if now is not None:
        return lambda: now
    return _now


def _ref(namespace, name):
    return "%s/%s" % (namespace, name)


def _digest_files(paths):
    digests = []
    for path in paths or []:
        try:
            with open(path, "rb") as handle:
                digests.append(hashlib.sha256(handle.read()).hexdigest())
        except OSError as exc:
            raise GhostError("cannot read values file %s: %s" % (path, exc), option="values_files")
    return digests


def validate_params(params):
    """Check the options that need no cluster (name, namespace, TTL, server) before anything runs."""
    logic.validate_name(params.get("name"))
    logic.validate_namespace(params.get("namespace") or "ghostcluster")
    logic.parse_ttl(params.get("ttl"))
    logic.validate_server(params.get("server"))
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout <= 0:
        raise GhostError("must be a positive number of seconds, not %s" % timeout, option="wait_timeout")


def chart_dir_version(chart_dir):
    """``version`` from ``<chart_dir>/Chart.yaml``; GhostError when the folder is no chart."""
    path = os.path.join(chart_dir, "Chart.yaml")
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError as exc:
        raise GhostError("%s is not a helm chart folder: %s" % (chart_dir, exc), option="chart_dir")
    try:
        data = vclient.YAML.require().safe_load(text) or {}
    except Exception as exc:
        raise GhostError("cannot parse %s: %s" % (path, exc), option="chart_dir")
    return str(data.get("version") or "") or None


def desired_hash(params):
    """The config hash of what the parameters ask of the chart."""
    chart_version = params.get("chart_version")
    if not chart_version and params.get("chart_dir"):
        chart_version = chart_dir_version(params["chart_dir"])
    return logic.config_hash(chart_version, params.get("values"), _digest_files(params.get("values_files")),
                             params.get("kubernetes_version"))


def _kubeconfig_dest(params, name, home):
    dest = params.get("kubeconfig_dest")
    if dest:
        return os.path.abspath(os.path.expanduser(dest))
    return logic.default_kubeconfig_path(name, home)


def _values_documents(params):
    documents = []
    if params.get("values"):
        documents.append(params["values"])
    pinned = logic.kubernetes_version_values(params.get("kubernetes_version"))
    if pinned:
        documents.append(pinned)  # last, so it wins over values and values files
    return documents


def _describe_pods(pods):
    if not pods:
        return "no vcluster pod yet"
    parts = []
    for pod in pods:
        st = pod.get("status") or {}
        parts.append("pod %s %s%s" % (pod["metadata"]["name"], st.get("phase") or "Unknown",
                                      "" if logic.pod_ready(pod) else " (not Ready)"))
    return ", ".join(parts)


class _Deadline:
    def __init__(self, timeout, clock):
        self._clock = clock
        self._end = clock() + timeout

    def remaining(self):
        return max(0.0, self._end - self._clock())


def _wait_ready(api, namespace, name, deadline):
    """Until a vcluster pod is Ready and Secret vc-<name> holds a kubeconfig; returns (pods, text)."""
    seen = {}

    def ready():
        pods = api.pods(namespace, name)
        seen["pods"] = pods
        if not any(logic.pod_ready(p) for p in pods):
            return None
        text = api.kubeconfig_text(namespace, name)
        seen["secret"] = text is not None
        return (pods, text) if text else None

    result, elapsed = api.wait(ready, deadline.remaining())
    if not result:
        if seen.get("secret") is False:
            state = "the pod is Ready but Secret %s has no kubeconfig yet" % vclient.secret_name(name)
        else:
            state = _describe_pods(seen.get("pods"))
        raise GhostError(failure("create", KIND, _ref(namespace, name),
                                 "timed out after %ds waiting for the vcluster to become ready (%s)" % (
                                     round(elapsed), state)))
    return result


def _prove_api(api, kubeconfig, namespace, name, deadline, probe):
    """Poll /version through the exported kubeconfig until it answers or the deadline passes."""
    errors = []

    def answered():
        try:
            return probe(kubeconfig, timeout=max(1, min(10, int(deadline.remaining()) or 1)))
        except GhostError as exc:
            errors.append(str(exc))
            return None

    version, elapsed = api.wait(answered, deadline.remaining())
    if not version:
        servers = ", ".join(logic.kubeconfig_servers(kubeconfig)) or "no server"
        raise GhostError(failure("create", KIND, _ref(namespace, name), (
            "the virtual API server at %s did not answer /version within %ds (%s); set the server "
            "option to an address reachable from here (the vcluster Service, an ingress or a "
            "NodePort), or exportKubeConfig.server in values") % (
                servers, round(elapsed), errors[-1] if errors else "no answer")))
    return version


def ensure_vcluster(api, cli, params, *, check_mode=False, diff=False, now=None, home=None,
                    probe=vclient.probe_version, clock=None):
    """State present/absent of one vcluster. Returns ``(result, no_log_values)``.

    ``no_log_values`` are the credentials of the exported kubeconfig (unless the caller asked
    for the kubeconfig itself with ``return_kubeconfig``, in which case it is in the result).
    """
    name = logic.validate_name(params["name"])
    namespace = logic.validate_namespace(params.get("namespace") or "ghostcluster")
    ttl_seconds = logic.parse_ttl(params.get("ttl"))
    server = logic.validate_server(params.get("server"))
    current_time = _time_source(now)
    now = current_time()
    ref = _ref(namespace, name)
    dest = _kubeconfig_dest(params, name, home)
    wait = params.get("wait", True)
    deadline = _Deadline(params.get("wait_timeout") or 300, clock or api._clock)

    workload = api.workload(namespace, name)
    before = {}
    if workload is not None:
        before = logic.summary(name, namespace, workload, api.pods(namespace, name), now)
        before["config_hash"] = (workload["metadata"].get("annotations") or {}).get(logic.CONFIG_HASH)

    if params.get("state", "present") == "absent":
        return _absent(api, cli, name, namespace, workload, before, dest, wait, deadline, check_mode, diff)

    wanted_hash = desired_hash(params)
    if workload is None:
        others = sorted({w["metadata"]["labels"]["release"] for w in api.workloads(namespace)} - {name})
        if others:
            raise GhostError(failure("create", KIND, ref, (
                "namespace '%s' already holds vcluster %s and vcluster allows one virtual cluster per "
                "namespace: choose another namespace") % (namespace, ", ".join("'%s'" % o for o in others))),
                option="namespace")
        action = "create"
    elif before.get("config_hash") != wanted_hash:
        action = "upgrade"
    else:
        action = None

    creation = (workload or {}).get("metadata", {}).get("creationTimestamp")
    wanted = logic.lifetime((workload or {}).get("metadata", {}).get("annotations"), creation, ttl_seconds, now)
    wanted[logic.CONFIG_HASH] = wanted_hash
    patch = logic.annotation_patch((workload or {}).get("metadata", {}).get("annotations"), wanted)

    after = dict(before) if before else {"name": name, "namespace": namespace, "status": None,
                                         "chart_version": None, "expired": False}
    after.update({"created_at": wanted[logic.CREATED_AT], "ttl": wanted.get(logic.TTL),
                  "expires_at": wanted.get(logic.EXPIRES_AT), "config_hash": wanted_hash})
    after["expired"] = logic.is_expired(after["expires_at"], now)

    secrets = []
    if check_mode:
        changed = bool(action or patch)
        if not changed and workload is not None:
            text = api.kubeconfig_text(namespace, name)
            if text:
                data, secrets = _exported(text, server)
                changed = store.needs_write(dest, data)
        result = _present_result(changed, diff, before, after, dest if os.path.exists(dest) else None)
        return result, secrets

    if action == "create":
        api.ensure_namespace(namespace, deadline.remaining())
    if action:
        cli.create(name, namespace, upgrade=action == "upgrade", chart_version=params.get("chart_version"),
                   chart_dir=params.get("chart_dir"), values_files=params.get("values_files") or [],
                   values_documents=_values_documents(params),
                   what=failure("create" if action == "create" else "upgrade", KIND, ref, "").rstrip(": "))
        workload, _elapsed = api.wait(lambda: api.workload(namespace, name), min(WORKLOAD_APPEAR_TIMEOUT, deadline.remaining()))
        if workload is None:
            raise GhostError(failure("create", KIND, ref, "`vcluster create` succeeded but no vcluster StatefulSet "
                                     "or Deployment labelled app=vcluster,release=%s appeared" % name))
        # A new workload: created-at is its creation time.
        wanted.update(logic.lifetime(workload["metadata"].get("annotations"), workload["metadata"].get("creationTimestamp"),
                                     ttl_seconds, now))
        patch = logic.annotation_patch(workload["metadata"].get("annotations"), wanted)
    if patch:
        workload = api.annotate(workload, patch)

    changed = bool(action or patch)
    if wait:
        pods, text = _wait_ready(api, namespace, name, deadline)
    else:
        pods, text = api.pods(namespace, name), api.kubeconfig_text(namespace, name)

    kubeconfig_path = None
    kubeconfig_view = None
    server_url = None
    if text:
        data, secrets = _exported(text, server)
        exported = vclient.parse_kubeconfig(data.decode("utf-8"))
        server_url = (logic.kubeconfig_servers(exported) or [None])[0]
        if store.needs_write(dest, data):
            store.write_private(dest, data)
            changed = True
        kubeconfig_path = dest
        if wait:
            _prove_api(api, exported, namespace, name, deadline, probe)
        if params.get("return_kubeconfig"):
            kubeconfig_view = data.decode("utf-8")
            secrets = []

    final = logic.summary(name, namespace, workload, pods, current_time(), kubeconfig_path)
    final["config_hash"] = (workload["metadata"].get("annotations") or {}).get(logic.CONFIG_HASH)
    result = _present_result(changed, diff, before, final, kubeconfig_path)
    result["vcluster"]["server"] = server_url
    if kubeconfig_view is not None:
        result["vcluster"]["kubeconfig"] = kubeconfig_view
    if not text:
        result["warnings"] = ["vcluster '%s' has not published its kubeconfig (Secret %s) yet; run again with "
                              "wait=true to write %s" % (ref, vclient.secret_name(name), dest)]
    return result, secrets


def _exported(text, server):
    """The kubeconfig bytes to write (server rewritten when asked) and its credentials."""
    data = vclient.parse_kubeconfig(text)
    secrets = logic.kubeconfig_secrets(data)
    if server:
        return vclient.dump_kubeconfig(logic.rewrite_server(data, server)).encode("utf-8"), secrets
    return text.encode("utf-8"), secrets


def _public(summary):
    """A summary without internal keys (the config hash is for the diff only)."""
    return {key: value for key, value in summary.items() if key != "config_hash"}


def _present_result(changed, diff, before, after, kubeconfig_path):
    view = _public(after)
    view["kubeconfig_path"] = kubeconfig_path
    view.setdefault("server", None)
    return build_result(changed, diff_enabled=diff, before=before, after=after,
                        secret_fields=("kubeconfig",), vcluster=view)


def _absent(api, cli, name, namespace, workload, before, dest, wait, deadline, check_mode, diff):
    ref = _ref(namespace, name)
    has_file = os.path.exists(dest)
    if workload is None and not has_file:
        return build_result(False, diff_enabled=diff, before={}, after={}, vcluster={}), []
    view = _public(before) if before else {"name": name, "namespace": namespace}
    view["kubeconfig_path"] = dest if has_file else None
    if check_mode:
        return build_result(True, diff_enabled=diff, before=before, after={}, vcluster=view), []
    if workload is not None:
        try:
            cli.delete(name, namespace, wait=wait, what=failure("delete", KIND, ref, "").rstrip(": "))
        except GhostError:
            # Someone else (another reaper) may have deleted it meanwhile: fine if it is gone.
            if api.workload(namespace, name) is not None:
                raise
        if wait:
            def gone():
                return api.workload(namespace, name) is None and not api.pods(namespace, name)
            done, elapsed = api.wait(gone, deadline.remaining())
            if not done:
                raise GhostError(failure("delete", KIND, ref, "timed out after %ds waiting for its workload and pods "
                                         "to go away (%s)" % (round(elapsed), _describe_pods(api.pods(namespace, name)))))
        # The published kubeconfig is no helm object: without an owner it would outlive the
        # vcluster and hand stale credentials to a new vcluster of the same name.
        if api.namespace(namespace) is not None:
            api.delete_kubeconfig_secret(namespace, name)
    store.remove(dest)
    return build_result(True, diff_enabled=diff, before=before, after={}, vcluster=view), []


def validate_filters(params):
    """vcluster_info's optional name and namespace."""
    if params.get("name"):
        logic.validate_name(params["name"])
    if params.get("namespace"):
        logic.validate_namespace(params["namespace"])


def list_vclusters(api, params, *, now=None, home=None):
    """vcluster_info: every vcluster (optionally by namespace and name) with its lifetime."""
    validate_filters(params)
    name = params.get("name")
    namespace = params.get("namespace")
    now = now or _now()
    directory = params.get("kubeconfig_dir")
    directory = os.path.abspath(os.path.expanduser(directory)) if directory else None
    workloads = api.workloads(namespace, name)
    pods_by_release = {}
    if workloads:
        for pod in api.pods(namespace, name):
            meta = pod.get("metadata") or {}
            key = (meta.get("namespace"), (meta.get("labels") or {}).get("release"))
            pods_by_release.setdefault(key, []).append(pod)
    found = []
    for workload in workloads:
        meta = workload["metadata"]
        release = meta["labels"]["release"]
        path = (os.path.join(directory, "%s.yaml" % release) if directory
                else logic.default_kubeconfig_path(release, home))
        summary = logic.summary(release, meta["namespace"], workload,
                                pods_by_release.get((meta["namespace"], release), []), now,
                                path if os.path.isfile(path) else None)
        found.append(summary)
    found.sort(key=lambda v: (v["namespace"], v["name"]))
    return build_result(False, vclusters=found)
