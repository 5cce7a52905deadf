# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What cluster_join, cluster_info and kubeconfig do. Private to ghost.infra.

The functions take a store (``stores.FolderStore`` / ``stores.SecretStore``), a ``Probes``
object and plain options -- never the module -- so unit tests drive them with fakes. A join
reads the source once, pre-warms it (``/version`` and a namespaces list with exactly the
credentials that would be stored, bounded by ``prewarm_timeout``), and only then compares with
the store and writes: a failed pre-warm leaves the store as it was, byte for byte.
The registration's expiry (``ttl`` / ``expires_at`` / ``max_ttl``, rule in _common/lifetime.py)
is part of its record, computed from the stored one before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import functools
import os

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._registry import client, spec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import store as files

KIND = "cluster"


def now_text():
    return lifetime.format_time(datetime.datetime.now(datetime.timezone.utc))


def _moment(text):
    """The aware datetime of an RFC 3339 ``now`` (the current time when it is not one)."""
    return lifetime.parse_time(text) or datetime.datetime.now(datetime.timezone.utc)


class Probes:
    """The live calls, behind one object so tests can replace them."""

    @staticmethod
    def prewarm(kubeconfig, timeout):
        return client.run_bounded({"prewarm": lambda: client.probe(kubeconfig, timeout)}, timeout)["prewarm"]

    @staticmethod
    def health(kubeconfigs, timeout):
        """id -> probe result for every ``(id, kubeconfig dict)``, all within ``timeout``."""
        tasks = {cluster_id: functools.partial(client.probe, kubeconfig, timeout, listing="nodes")
                 for cluster_id, kubeconfig in kubeconfigs}
        return client.run_bounded(tasks, timeout)


# ---------------------------------------------------------------- reading what to join

def _read_file(path, option):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise GhostError("cannot read %s: %s" % (path, exc), option=option)


def source_kubeconfig(options):
    """``(single-context kubeconfig dict, name, settings)`` from kubeconfig, kubeconfig_content or join_file."""
    name, settings = None, {}
    if options.get("join_file"):
        path = os.path.abspath(os.path.expanduser(options["join_file"]))
        artifact = spec.join_artifact(client.load_yaml(_read_file(path, "join_file"), option="join_file",
                                                       what="the join file %s" % path))
        document = artifact["kubeconfig"]
        if isinstance(document, str):
            document = client.load_yaml(document, option="join_file", what="the join file's cluster.kubeconfig")
        option, base = "join_file", os.path.dirname(path)
        name, settings = artifact["name"], artifact["settings"]
    elif options.get("kubeconfig"):
        path = os.path.abspath(os.path.expanduser(options["kubeconfig"]))
        document = client.load_yaml(_read_file(path, "kubeconfig"), option="kubeconfig", what="the kubeconfig %s" % path)
        option, base = "kubeconfig", os.path.dirname(path)
    else:
        document = client.load_yaml(options["kubeconfig_content"], option="kubeconfig_content",
                                    what="kubeconfig_content")
        option, base = "kubeconfig_content", os.getcwd()
    selected = spec.select_context(spec.check_kubeconfig(document, option), options.get("context"), option)
    flat = spec.flatten(selected, lambda p: _read_file(p, option), base, option)
    return flat, name, settings


def validate_join(params):
    """cluster_join's options, checked before anything is read; returns a copy."""
    options = dict(params)
    spec.validate_id(options.get("id"))
    options["labels"] = spec.validate_labels(options.get("labels"))
    spec.positive_timeout(options.get("prewarm_timeout"), "prewarm_timeout")
    sources = [key for key in ("kubeconfig", "kubeconfig_content", "join_file") if options.get(key)]
    if options.get("state", "present") == "present" and len(sources) != 1:
        raise GhostError("give exactly one of kubeconfig, kubeconfig_content and join_file%s" % (
            " (got %s)" % ", ".join(sources) if sources else ""))
    if options.get("state", "present") == "present":
        # The expiry options fail here, before a kubeconfig is read or a cluster reached.
        lifetime.parse_ttl(options.get("ttl"))
        lifetime.parse_ttl(options.get("max_ttl"), option="max_ttl")
        if options.get("expires_at") is not None:
            lifetime.parse_rfc3339(options["expires_at"])
    return options


# ---------------------------------------------------------------- cluster_join

def join(store, options, *, probes=Probes, check_mode=False, diff=False, now=None, hide=None):
    """state=present: pre-warm, then store the cluster unless it is stored as it is.

    ``hide(values)`` is called with the credentials of the kubeconfig as soon as they are read
    (the module masks them), before anything can fail with them around.
    """
    cluster_id = options["id"]
    kubeconfig, name, settings = source_kubeconfig(options)
    if hide is not None:
        hide(spec.kubeconfig_secrets(kubeconfig))
    described = spec.describe(kubeconfig)
    at = now or now_text()
    timeout = options["prewarm_timeout"]
    prewarm = spec.outcome(probes.prewarm(kubeconfig, timeout), server=described["server"], timeout=timeout, at=at)
    if not prewarm["ok"]:
        raise GhostError("Failed to join %s '%s': the pre-warm failed (%s): %s; the registry (%s) was left as it was" % (
            KIND, cluster_id, prewarm["cause"], prewarm["error"], store.describe()),
            details={"cause": prewarm["cause"], "prewarm": prewarm})
    current = store.get(cluster_id)
    data = client.dump_yaml(kubeconfig)
    old = (current or {}).get("record") or {}
    moment = _moment(at)
    expiry = lifetime.wanted(spec.expiry_of(old), ttl=options.get("ttl"), expires=options.get("expires_at"),
                             max_ttl=options.get("max_ttl"), now=moment)
    wanted = spec.record(cluster_id=cluster_id, described=described, added=old.get("added"), now=at,
                         prewarm=prewarm, labels=options["labels"], settings=settings, name=name, expiry=expiry)
    changed = spec.needs_change(current, wanted, data)
    if not changed and store.kind == "folder":
        # Same content; still private? (a chmod by hand is a change to repair)
        changed = store.needs_write(cluster_id, data, dict(old))
    if changed and not check_mode:
        store.put(cluster_id, data, wanted)
    kept = wanted if changed else old
    credentials = "replaced" if current is not None and current.get("kubeconfig") != data else "stored"
    view = spec.cluster_view(kept, store=store.describe(), kubeconfig_path=_own_path(store, cluster_id), now=moment)
    return build_result(changed, diff_enabled=diff, before=spec.diff_view(old, credentials="stored"),
                        after=spec.diff_view(wanted, credentials=credentials), cluster=view, prewarm=prewarm)


def _own_path(store, cluster_id):
    if store.kind != "folder":
        return None
    entry = store.get(cluster_id)
    if entry is not None:
        return entry["kubeconfig_path"]
    return store.paths(cluster_id)[0]


def leave(store, options, *, check_mode=False, diff=False):
    """state=absent: remove the cluster's entry; nothing there is no change."""
    cluster_id = options["id"]
    current = store.get(cluster_id)
    if current is None:
        return build_result(False, diff_enabled=diff, before={}, after={}, cluster={})
    if not check_mode:
        store.delete(cluster_id)
    view = spec.cluster_view(current["record"], store=store.describe(), kubeconfig_path=None,
                             now=_moment(now_text()))
    return build_result(True, diff_enabled=diff, before=spec.diff_view(current["record"], credentials="stored"),
                        after={}, cluster=view)


# ---------------------------------------------------------------- cluster_info

def _parsed(entry):
    """The entry's kubeconfig as a dict, or None with the reason."""
    if entry.get("kubeconfig") is None:
        return None, "its kubeconfig %s is missing" % (entry.get("kubeconfig_path") or "")
    try:
        document = client.load_yaml(entry["kubeconfig"], option="store", what="its kubeconfig")
        return spec.select_context(document, None, "store"), None
    except GhostError as exc:
        return None, exc.msg


def validate_info(params):
    """cluster_info's options, checked before the store is opened; returns them."""
    if params.get("id"):
        spec.validate_id(params["id"])
    spec.positive_timeout(params.get("timeout") or 10, "timeout")
    return params


def info(store, options, *, probes=Probes, now=None):
    """Every registered cluster (or ``id``), with its expiry at ``now`` (RFC 3339 text) and live
    health when ``health`` is true."""
    validate_info(options)
    if options.get("id"):
        entry = store.get(options["id"])
        entries = [entry] if entry else []
    else:
        entries = store.list()
    parsed = {entry["id"]: _parsed(entry) for entry in entries}
    timeout = options.get("timeout") or 10
    results = {}
    if options.get("health", True):
        results = probes.health([(cid, doc) for cid, (doc, _why) in parsed.items() if doc is not None], timeout)
    at = now or now_text()
    clusters = []
    for entry in entries:
        record = entry["record"]
        view = spec.cluster_view(record, store=store.describe(), kubeconfig_path=entry.get("kubeconfig_path"),
                                 now=_moment(at))
        live = {"reachable": None, "server_version": None, "node_count": None, "latency_ms": None,
                "cause": None, "error": None}
        document, why = parsed[entry["id"]]
        if document is None:
            live.update({"reachable": False, "cause": "error", "error": why})
        elif entry["id"] in results:
            found = spec.outcome(results[entry["id"]], server=record.get("server"), timeout=timeout, at=at)
            live = {"reachable": found["ok"], "server_version": found["server_version"],
                    "node_count": found["node_count"], "latency_ms": found["latency_ms"],
                    "cause": found["cause"], "error": found["error"]}
        view.update(live)
        clusters.append(view)
    return build_result(False, clusters=clusters)


# ---------------------------------------------------------------- kubeconfig export

def validate_export(params):
    """kubeconfig's options, checked before the store is opened; returns them."""
    for cluster_id in params.get("ids") or []:
        spec.validate_id(cluster_id, option="ids")
    return params


def export(store, options, *, check_mode=False, diff=False, hide=None):
    """One merged kubeconfig (0600) at ``dest`` with a context per registered cluster.

    ``hide(values)`` gets the credentials it holds (the module masks them)."""
    dest = os.path.abspath(os.path.expanduser(options["dest"]))
    wanted = list(validate_export(options).get("ids") or [])
    entries = store.list()
    known = {entry["id"] for entry in entries}
    missing = [cid for cid in wanted if cid not in known]
    if missing:
        raise GhostError("not registered in %s: %s" % (store.describe(), ", ".join(missing)), option="ids")
    chosen = [entry for entry in entries if not wanted or entry["id"] in wanted]
    pairs, skipped = [], []
    for entry in chosen:
        document, why = _parsed(entry)
        if document is None:
            skipped.append("%s (%s)" % (entry["id"], why))
            continue
        pairs.append((entry["id"], document))
        if hide is not None:
            hide(spec.kubeconfig_secrets(document))
    merged = spec.merge(pairs, options.get("current_context"))
    data = client.dump_yaml(merged)
    changed = files.needs_write(dest, data, option="dest")
    before_contexts = _contexts_in(dest) if diff else []
    if changed and not check_mode:
        files.write_private(dest, data, option="dest")
    contexts = [cid for cid, _doc in pairs]
    result = build_result(changed, diff_enabled=diff, before={"path": dest, "contexts": before_contexts},
                          after={"path": dest, "contexts": contexts,
                                 "current_context": merged.get("current-context")},
                          path=dest, contexts=contexts, current_context=merged.get("current-context"))
    if skipped:
        result["warnings"] = ["left out of %s: %s" % (dest, "; ".join(skipped))]
    return result


def _contexts_in(path):
    try:
        with open(path, "rb") as handle:
            document = client.load_yaml(handle.read(), option="dest", what="the current %s" % path)
    except (OSError, GhostError):
        return []
    return [c.get("name") for c in (document or {}).get("contexts") or [] if isinstance(c, dict)]
