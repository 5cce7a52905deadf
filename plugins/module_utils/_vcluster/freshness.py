# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubeconfigs that refresh themselves (ghostctl). Private to ghost.infra.

A local vcluster kubeconfig is *fresh* when it was written or re-read from the host cluster
within ``kubeconfig_max_age`` (its file's modification time). ``refresh`` (the vcluster module's
``state: refreshed``) re-reads it from Secret ``vc-<name>`` when it is missing, stale or no
longer reaches the virtual API server, writes it when its content changed (else only renews
its time, as ``touch`` would), and proves it with ``/version``. ``reachability`` checks many
kubeconfigs in parallel under one timeout for vcluster_info.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._registry import client as registry_client
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import client as vclient
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec, store

DEFAULT_MAX_AGE = "1h"
PROBE_TIMEOUT = 10


def age(path, now_ts):
    """Seconds since ``path`` was last written, or None when there is no such file."""
    try:
        return max(0.0, now_ts - os.stat(path).st_mtime)
    except FileNotFoundError:
        return None


def is_fresh(file_age, max_age):
    """Whether a kubeconfig of ``file_age`` seconds (None: missing) is younger than ``max_age``."""
    return file_age is not None and file_age <= max_age


def _read_local(path):
    try:
        with open(path, "rb") as handle:
            return vclient.parse_kubeconfig(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, GhostError):
        return None


def _reaches(run, kubeconfig):
    """``(True, version)`` when /version answers through ``kubeconfig``, else ``(False, why)``."""
    try:
        return True, run.probe(kubeconfig, timeout=PROBE_TIMEOUT)
    except GhostError as exc:
        return False, str(exc)


def refresh(run, workload, *, now_ts, check_mode=False, diff=False):
    """state=refreshed: ``(result, no_log_values)``; the result's ``refresh`` says why and what."""
    if workload is None:
        raise run.error("refresh", "it does not exist (no StatefulSet or Deployment labelled app=vcluster,release=%s)"
                        % run.name)
    max_age = run.options["kubeconfig_max_age_seconds"]
    file_age = age(run.dest, now_ts)
    local = _read_local(run.dest) if file_age is not None else None
    reason = None
    if local is None:
        reason = "missing" if file_age is None else "unreadable"
    elif not is_fresh(file_age, max_age):
        reason = "stale"
    else:
        ok, _detail = _reaches(run, local)
        reason = None if ok else "unreachable"
    summary = spec.summary(run.name, run.namespace, workload=workload, pods=run.api.pods(run.namespace, run.name),
                           now=run.now(), kubeconfig_path=run.dest if file_age is not None else None)
    info = {"needed": reason is not None, "reason": reason, "age": None if file_age is None else int(file_age)}
    if reason is None:
        view = spec.vcluster_view(summary, kubeconfig_path=run.dest,
                                  server=(spec.kubeconfig_servers(local) or [None])[0])
        return build_result(False, vcluster=view, refresh=info), spec.kubeconfig_secrets(local)
    text = run.api.kubeconfig_text(run.namespace, run.name)
    if not text:
        raise run.error("refresh", "Secret %s holds no kubeconfig (is the vcluster running?)" % vclient.secret_name(run.name))
    server = _server(run, local)
    data = vclient.parse_kubeconfig(text)
    secrets = spec.kubeconfig_secrets(data)
    if server and spec.kubeconfig_servers(data) != [server]:
        data = spec.rewrite_server(data, server)
        payload = vclient.dump_kubeconfig(data).encode("utf-8")
    else:
        payload = text.encode("utf-8")
    changed = store.needs_write(run.dest, payload)
    if not check_mode:
        if changed:
            store.write_private(run.dest, payload)
        else:
            os.utime(run.dest)  # verified against the host cluster: fresh again
        ok, detail = _reaches(run, data)
        if not ok:
            raise run.error("refresh", "the kubeconfig re-read from Secret %s does not reach %s either: %s" % (
                vclient.secret_name(run.name), ", ".join(spec.kubeconfig_servers(data)), detail))
    summary["kubeconfig_path"] = run.dest
    view = spec.vcluster_view(summary, kubeconfig_path=run.dest, server=(spec.kubeconfig_servers(data) or [None])[0])
    before = {"kubeconfig_path": run.dest if file_age is not None else None,
              "server": (spec.kubeconfig_servers(local or {}) or [None])[0]}
    after = {"kubeconfig_path": run.dest, "server": view["server"]}
    return build_result(changed, diff_enabled=diff, before=before, after=after, vcluster=view, refresh=info), secrets


def _server(run, local):
    """The address to write: ``server``/``expose`` when given, else the one the local file had
    (the module wrote it from those options before), else the published one."""
    if run.options.get("server") or run.options.get("expose"):
        server, missing = run.address(run.api.pods(run.namespace, run.name))
        if missing:
            raise run.error("refresh", "its address is not known yet: %s" % missing)
        return server
    servers = spec.kubeconfig_servers(local or {})
    return servers[0] if servers else None


def reachability(kubeconfigs, timeout):
    """key -> whether /version answers through each kubeconfig dict, all within ``timeout``."""
    tasks = {key: functools.partial(registry_client.probe, document, timeout, listing=None)
             for key, document in kubeconfigs.items()}
    results = registry_client.run_bounded(tasks, timeout)
    return {key: result.get("failure") is None for key, result in results.items()}
