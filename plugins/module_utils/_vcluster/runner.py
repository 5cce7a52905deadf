# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the vcluster and vcluster_info modules do. Private to ghost.infra.

Like kubernetes.core's ``perform_action(svc, definition, params)``, these functions take the
host-cluster API (``client.VclusterClient``), the CLI (``cli.VclusterCli``) and the options the
module checked with ``spec.validate_params`` / ``spec.validate_filters`` -- never the module --
so unit tests drive them with fakes. Read the current state once, decide, act unless
``check_mode``, wait (through the API's waiter, one deadline per run), return the result dict.
Failures are GhostError in the shape ``Failed to <verb> vcluster '<namespace>/<name>': <cause>``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import ref
from ansible_collections.ghost.infra.plugins.module_utils._registry import spec as registry_spec
from ansible_collections.ghost.infra.plugins.module_utils._registry import stores as registry_stores
from ansible_collections.ghost.infra.plugins.module_utils._registry import vclusters as registry
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import client as vclient
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import freshness, reach, removal, spec, store

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


# ---------------------------------------------------------------- what the chart is asked for

def _read_yaml(path, *, option, what):
    """``(bytes, parsed document)`` of a YAML file; GhostError naming ``option`` when it cannot be had."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise GhostError("cannot read %s %s: %s" % (what, path, exc), option=option)
    try:
        return data, vclient.YAML.require().safe_load(data) or {}
    except Exception as exc:
        raise GhostError("cannot parse %s %s: %s" % (what, path, str(exc).splitlines()[0]), option=option)


def _values_files(paths):
    """``(sha256 digest, parsed document)`` of each values file, in order."""
    found = []
    for path in paths or []:
        data, document = _read_yaml(path, option="values_files", what="values file")
        found.append((hashlib.sha256(data).hexdigest(), document))
    return found


def chart_dir_version(chart_dir):
    """``version`` from ``<chart_dir>/Chart.yaml``; GhostError when the folder is no chart."""
    path = os.path.join(chart_dir, "Chart.yaml")
    if not os.path.isfile(path):
        raise GhostError("%s is not a helm chart folder: it has no Chart.yaml" % chart_dir, option="chart_dir")
    unused, chart = _read_yaml(path, option="chart_dir", what="chart file")
    return str(chart.get("version") or "") or None


def chart_request(options):
    """What the options ask of the chart: ``{"hash", "documents", "reach"}``.

    ``documents`` are the values documents for the CLI (after ``values_files``); ``reach`` the
    values that make the vcluster reachable (``{}`` when the user's values do it, None when
    nothing does); ``hash`` decides an upgrade.
    """
    files = _values_files(options.get("values_files"))
    user_documents = [document for _digest, document in files] + ([options["values"]] if options.get("values") else [])
    reach_values = reach.reach_values(server=options.get("server"), expose=options.get("expose"),
                                      documents=user_documents)
    chart_version = options.get("chart_version")
    if not chart_version and options.get("chart_dir"):
        chart_version = chart_dir_version(options["chart_dir"])
    digest = spec.config_hash(chart_version, options.get("values"), [d for d, _doc in files],
                              options.get("kubernetes_version"), reach=reach_values)
    documents = spec.values_documents(options.get("values"), options.get("kubernetes_version"))
    return {"hash": digest, "documents": documents + ([reach_values] if reach_values else []), "reach": reach_values}


# ---------------------------------------------------------------- one run

class _Run:
    """One vcluster run: the checked options, the API and CLI, the kubeconfig path, one deadline."""

    def __init__(self, api, cli, options, *, now, home, probe):
        self.api = api
        self.cli = cli
        self.options = options
        self.name = options["name"]
        self.namespace = options["namespace"]
        self.ref = ref(self.namespace, self.name)
        self.dest = spec.kubeconfig_dest(options.get("kubeconfig_dest"), self.name, self.namespace, home)
        self.wait = options.get("wait", True)
        self.now = _time_source(now)
        self.probe = probe
        self.deadline = api.waiter.deadline(options.get("wait_timeout") or 300)
        self.created_namespace = False
        # The folder registry (~/.ghost/clusters) lists the vcluster when the ``registry`` option is on.
        self.registry = (registry_stores.FolderStore(registry_spec.default_folder(home))
                         if options.get("registry") else None)

    def error(self, verb, cause):
        return GhostError(failure(verb, KIND, self.ref, cause))

    def observe(self, now):
        """The vcluster's workload and its summary as found (``{}`` when there is none)."""
        workload = self.api.workload(self.namespace, self.name)
        if workload is None:
            return None, {}
        before = spec.summary(self.name, self.namespace, workload=workload,
                              pods=self.api.pods(self.namespace, self.name), now=now)
        before["config_hash"] = (workload["metadata"].get("annotations") or {}).get(spec.CONFIG_HASH)
        return workload, before

    def address(self, pods):
        """``(server, missing)``: the URL to write into the kubeconfig (None: keep the published
        one), or what is still missing before an exposed Service has an address."""
        if self.options.get("server"):
            return self.options["server"], None
        if self.options.get("expose"):
            return reach.exposed_server(self.options["expose"], self.api.service(self.namespace, self.name), pods)
        return None, None


def ensure_vcluster(api, cli, options, *, check_mode=False, diff=False, now=None, home=None,
                    probe=vclient.probe_version):
    """State present/absent of one vcluster. Returns ``(result, no_log_values)``.

    ``options`` come from ``spec.validate_params``. ``no_log_values`` are the credentials of the
    exported kubeconfig (unless the caller asked for the kubeconfig itself with
    ``return_kubeconfig``, in which case it is in the result).
    """
    run = _Run(api, cli, options, now=now, home=home, probe=probe)
    now = run.now()
    workload, before = run.observe(now)
    if options.get("state", "present") == "absent":
        return removal.absent(run, workload, before, check_mode=check_mode, diff=diff)
    if options.get("state") == "refreshed":
        return freshness.refresh(run, workload, now_ts=now.timestamp(), check_mode=check_mode, diff=diff)
    plan = _plan(run, workload, before, now)
    store.check_writable(run.dest)
    if check_mode:
        return _preview(run, workload, plan, diff=diff)
    workload, changed = _install(run, workload, plan, now)
    return _present(run, workload, before, changed=changed, diff=diff)


def _plan(run, workload, before, now):
    """What the run is to change: the CLI action (create, upgrade or None), values and annotations.

    Everything that can be refused is refused here, before anything is made.
    """
    request = chart_request(run.options)
    if request["reach"] is None:
        raise run.error("create" if workload is None else "update", reach.NOT_CHOSEN)
    release = None
    if workload is None:
        others = sorted({w["metadata"]["labels"]["release"] for w in run.api.workloads(run.namespace)} - {run.name})
        if others:
            raise GhostError(failure("create", KIND, run.ref, (
                "namespace '%s' already holds vcluster %s and vcluster allows one virtual cluster per "
                "namespace: choose another namespace") % (run.namespace, ", ".join("'%s'" % o for o in others))),
                option="namespace")
        # A release left by a failed run, without its workload: `vcluster create` must upgrade it.
        release = run.api.helm_release(run.namespace, run.name)
        action = "create"
    elif before.get("config_hash") != request["hash"]:
        action = "upgrade"
    else:
        action = None
    meta = (workload or {}).get("metadata", {})
    wanted = spec.lifetime(meta.get("annotations"), meta.get("creationTimestamp"), run.options["ttl_seconds"], now)
    wanted[spec.CONFIG_HASH] = request["hash"]
    after = dict(before) if before else {"name": run.name, "namespace": run.namespace, "status": None,
                                         "chart_version": None, "expired": False}
    after.update({"created_at": wanted[spec.CREATED_AT], "ttl": wanted.get(spec.TTL),
                  "expires_at": wanted.get(spec.EXPIRES_AT), "config_hash": request["hash"]})
    after["expired"] = spec.is_expired(after["expires_at"], now)
    return {"action": action, "wanted": wanted, "patch": spec.annotation_patch(meta.get("annotations"), wanted),
            "documents": request["documents"], "release": release, "before": before, "after": after}


def _preview(run, workload, plan, *, diff):
    """Check mode: the result the run would have, from the plan and the published kubeconfig."""
    changed = bool(plan["action"] or plan["patch"])
    secrets = []
    if not changed and workload is not None:
        text = run.api.kubeconfig_text(run.namespace, run.name)
        server, missing = run.address(run.api.pods(run.namespace, run.name))
        if text and not missing:
            data, secrets = _exported(text, server)
            changed = store.needs_write(run.dest, data) or _register(run, data, None, check_mode=True)[0]
    view = spec.vcluster_view(plan["after"], kubeconfig_path=run.dest if os.path.exists(run.dest) else None)
    return _present_result(changed, plan["before"], plan["after"], view=view, diff=diff), secrets


def _install(run, workload, plan, now):
    """Run the CLI when the plan says so, then write the annotations; returns (workload, changed)."""
    patch = plan["patch"]
    if plan["action"]:
        if plan["action"] == "create":
            run.created_namespace = run.api.ensure_namespace(run.namespace, run.deadline.remaining())
        workload = _run_cli(run, plan)
        # A new workload: created-at is its creation time, unless the chart already set it.
        wanted = dict(plan["wanted"])
        wanted.update(spec.lifetime(workload["metadata"].get("annotations"),
                                    workload["metadata"].get("creationTimestamp"), run.options["ttl_seconds"], now))
        patch = spec.annotation_patch(workload["metadata"].get("annotations"), wanted)
    if patch:
        workload = run.api.annotate(workload, patch)
    return workload, bool(plan["action"] or patch)


def _run_cli(run, plan):
    """`vcluster create [--upgrade]` with the lifetime annotations in the values, then the workload helm made.

    On failure, what the CLI left behind is dealt with first (``removal.after_failed_create``).
    """
    options = run.options
    action = plan["action"]
    try:
        run.cli.create(run.name, run.namespace, upgrade=action == "upgrade" or plan["release"] is not None,
                       chart_version=options.get("chart_version"), chart_dir=options.get("chart_dir"),
                       values_files=options.get("values_files") or [],
                       values_documents=plan["documents"] + [spec.lifetime_values(plan["wanted"])],
                       what=failure(action, KIND, run.ref, "").rstrip(": "))
    except GhostError as exc:
        raise removal.after_failed_create(run, plan["wanted"], exc, upgrade=action == "upgrade")
    workload = run.api.waiter.wait(lambda: run.api.workload(run.namespace, run.name),
                                   min(WORKLOAD_APPEAR_TIMEOUT, run.deadline.remaining())).value
    if workload is None:
        raise removal.after_failed_create(run, plan["wanted"], run.error(action, (
            "`vcluster create` succeeded but no vcluster StatefulSet or Deployment labelled "
            "app=vcluster,release=%s appeared") % run.name), upgrade=action == "upgrade")
    return workload


def _present(run, workload, before, *, changed, diff):
    """After the install: wait until ready (and reachable), export the kubeconfig, build the result."""
    if run.wait:
        pods, text = _wait_ready(run)
        server, missing = _wait_address(run), None
    else:
        pods, text = run.api.pods(run.namespace, run.name), run.api.kubeconfig_text(run.namespace, run.name)
        server, missing = run.address(pods)
    exported = {"kubeconfig_path": None, "server": None}
    secrets = []
    warnings = []
    if text and not missing:
        written, exported, secrets = _export(run, text, server)
        changed = changed or written
        registered, warning = _register(run, exported.pop("data"), exported.pop("version"))
        changed = changed or registered
        warnings += [warning] if warning else []
    final = spec.summary(run.name, run.namespace, workload=workload, pods=pods, now=run.now(),
                         kubeconfig_path=exported["kubeconfig_path"])
    final["config_hash"] = (workload["metadata"].get("annotations") or {}).get(spec.CONFIG_HASH)
    view = spec.vcluster_view(final, kubeconfig_path=exported["kubeconfig_path"], server=exported["server"])
    result = _present_result(changed, before, final, view=view, diff=diff)
    if "kubeconfig" in exported:
        # Added after the masking of the result: the caller asked for the kubeconfig itself.
        result["vcluster"]["kubeconfig"] = exported["kubeconfig"]
    if not text:
        warnings.append("vcluster '%s' has not published its kubeconfig (Secret %s) yet; run again with "
                        "wait=true to write %s" % (run.ref, vclient.secret_name(run.name), run.dest))
    elif missing:
        warnings.append("vcluster '%s' has no address yet (%s); run again with wait=true to write %s" % (
            run.ref, missing, run.dest))
    if warnings:
        result["warnings"] = warnings
    return result, secrets


def _wait_ready(run):
    """Until a vcluster pod is Ready and Secret vc-<name> holds a kubeconfig; returns (pods, text)."""
    seen = {}

    def ready():
        pods = run.api.pods(run.namespace, run.name)
        seen["pods"] = pods
        if not any(spec.pod_ready(p) for p in pods):
            return None
        text = run.api.kubeconfig_text(run.namespace, run.name)
        seen["secret"] = text is not None
        return (pods, text) if text else None

    done, result, elapsed = run.api.waiter.wait(ready, run.deadline.remaining())
    if not done:
        if seen.get("secret") is False:
            state = "the pod is Ready but Secret %s has no kubeconfig yet" % vclient.secret_name(run.name)
        else:
            state = spec.describe_pods(seen.get("pods"))
        raise run.error("create", "timed out after %ds waiting for the vcluster to become ready (%s)" % (
            round(elapsed), state))
    return result


def _wait_address(run):
    """The server URL for the kubeconfig, once an exposed Service has an address (None: as published)."""
    seen = {}

    def known():
        server, seen["missing"] = run.address(run.api.pods(run.namespace, run.name))
        return server

    if not run.options.get("expose") or run.options.get("server"):
        return run.options.get("server")
    done, server, elapsed = run.api.waiter.wait(known, run.deadline.remaining())
    if not done:
        raise run.error("create", "timed out after %ds waiting for the address of its API server: %s" % (
            round(elapsed), seen.get("missing")))
    return server


def _export(run, text, server):
    """Write the published kubeconfig (``server`` written into it when given) to the store; with
    ``wait``, prove it reaches the virtual API.

    Returns (whether the file was written, its path, server, bytes, the version that answered and --
    with ``return_kubeconfig`` -- content, the credentials to hide).
    """
    data, secrets = _exported(text, server)
    kubeconfig = vclient.parse_kubeconfig(data.decode("utf-8"))
    exported = {"kubeconfig_path": run.dest, "server": (spec.kubeconfig_servers(kubeconfig) or [None])[0],
                "data": data, "version": None}
    written = store.needs_write(run.dest, data)
    if written:
        store.write_private(run.dest, data)
    else:
        os.utime(run.dest)  # re-read from the host cluster just now: fresh (freshness.py)
    if run.wait:
        exported["version"] = _prove_api(run, kubeconfig)
    if run.options.get("return_kubeconfig"):
        exported["kubeconfig"] = data.decode("utf-8")
        secrets = []
    return written, exported, secrets


def _prove_api(run, kubeconfig):
    """Poll /version through the exported kubeconfig until it answers or the deadline passes."""
    errors = []

    def answered():
        try:
            return run.probe(kubeconfig, timeout=max(1, min(10, int(run.deadline.remaining()) or 1)))
        except GhostError as exc:
            errors.append(str(exc))
            return None

    done, version, elapsed = run.api.waiter.wait(answered, run.deadline.remaining())
    if not done:
        servers = ", ".join(spec.kubeconfig_servers(kubeconfig)) or "no server"
        raise run.error("create", (
            "the virtual API server at %s did not answer /version within %ds (%s); check that this address "
            "reaches the vcluster from here, or choose another with the server or expose option") % (
                servers, round(elapsed), errors[-1] if errors else "no answer"))
    return version


def _register(run, data, version, *, check_mode=False):
    """Record the vcluster in the folder registry (option ``registry``); ``(changed, warning)``."""
    if run.registry is None:
        return False, None
    prewarm = {"server_version": version} if version else None
    return registry.sync(run.registry, name=run.name, namespace=run.namespace,
                         kubeconfig=vclient.parse_kubeconfig(data.decode("utf-8")), kubeconfig_path=run.dest,
                         prewarm=prewarm, check_mode=check_mode)


def _exported(text, server):
    """The kubeconfig bytes to write (server rewritten when asked) and its credentials."""
    data = vclient.parse_kubeconfig(text)
    secrets = spec.kubeconfig_secrets(data)
    if server and spec.kubeconfig_servers(data) != [server]:
        return vclient.dump_kubeconfig(spec.rewrite_server(data, server)).encode("utf-8"), secrets
    return text.encode("utf-8"), secrets


def _present_result(changed, before, after, *, view, diff):
    return build_result(changed=changed, diff_enabled=diff, before=before, after=after,
                        secret_fields=("kubeconfig",), vcluster=view)


# ---------------------------------------------------------------- vcluster_info

def list_vclusters(api, filters, *, now=None, home=None, reachability=freshness.reachability):
    """vcluster_info: every vcluster (optionally by namespace and name) with its lifetime, whether
    its local kubeconfig is fresh and (``check_reachable``) whether it reaches the virtual API.

    ``filters`` come from ``spec.validate_filters``; ``reachability(kubeconfigs, timeout)`` checks
    kubeconfig dicts in parallel (see freshness.py).
    """
    name = filters.get("name")
    namespace = filters.get("namespace")
    now = now or _now()
    directory = filters.get("kubeconfig_dir")
    directory = os.path.abspath(os.path.expanduser(directory)) if directory else spec.default_kubeconfig_dir(home)
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
        path = spec.kubeconfig_path(directory, meta["namespace"], release)
        found.append(spec.summary(release, meta["namespace"], workload=workload,
                                  pods=pods_by_release.get((meta["namespace"], release), []), now=now,
                                  kubeconfig_path=path if os.path.isfile(path) else None))
    found.sort(key=lambda v: (v["namespace"], v["name"]))
    _freshness(found, filters, now=now, reachability=reachability)
    return build_result(changed=False, vclusters=found)


def _freshness(found, filters, *, now, reachability):
    """``kubeconfig_fresh`` and ``reachable`` of each listed vcluster (reachable None: not checked)."""
    max_age = filters.get("kubeconfig_max_age_seconds") or spec.parse_ttl(spec.KUBECONFIG_MAX_AGE)
    documents = {}
    for index, view in enumerate(found):
        path = view["kubeconfig_path"]
        view["kubeconfig_fresh"] = path is not None and freshness.is_fresh(freshness.age(path, now.timestamp()), max_age)
        view["reachable"] = None
        if path is not None and filters.get("check_reachable"):
            try:
                with open(path, "rb") as handle:
                    documents[index] = vclient.parse_kubeconfig(handle.read().decode("utf-8"))
            except (OSError, UnicodeDecodeError, GhostError):
                view["reachable"] = False
    if documents:
        for index, ok in reachability(documents, filters.get("reachable_timeout") or 10).items():
            found[index]["reachable"] = ok
