# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the workspace module does. Private to ghost.infra.

``ensure_workspace(api, options, ...)`` takes the cluster's ``WorkspaceClient`` and the options
``spec.validate`` returned -- never the module. Read each object, then apply it conditioned on
the resourceVersion just read (a controller that wrote it meanwhile -- a status, a binding --
makes the server refuse, and the object is read again): server-side apply changes nothing when
nothing differs, so ``changed`` is a changed resourceVersion and cannot be someone else's
write. Check mode runs the same apply as a dry run and compares. Then wait until the
Deployment is Available and return GuildNet's Workspace status. The password is a Secret: given, it is
applied; omitted, it is generated once, when the Secret is made, and never returned.
The lifetime record (``ttl``/``expires_at``/``max_ttl``, rule in _common/lifetime.py) is
computed from the Deployment as read, before anything is written, and applied with it as
annotations: the same TTL again leaves the Deployment as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import secrets

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._workspace import spec
from ansible_collections.ghost.infra.plugins.module_utils._workspace.client import Modified

KIND = "workspace"


def generate_password():
    return secrets.token_urlsafe(18)


def _key(obj):
    return (obj["kind"], obj["metadata"]["name"])


def _error(options, verb, cause):
    return GhostError(failure(verb, KIND, "%s/%s" % (options["namespace"], options["name"]), cause))


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def ensure_workspace(api, options, *, check_mode=False, diff=False, cluster_id=None, hide=None,
                     password_factory=generate_password, now=None):
    """state=present/absent of one workspace; returns the result dict.

    ``hide(values)`` gets a generated password before anything can print it; ``now`` (aware
    datetime) is the moment a TTL is counted from.
    """
    if options.get("state", "present") == "absent":
        return remove_workspace(api, options, check_mode=check_mode, diff=diff, cluster_id=cluster_id)
    now = now or now_utc()
    name, namespace = options["name"], options["namespace"]
    namespace_missing = api.get("Namespace", None, namespace) is None
    current_secret = None if namespace_missing else api.get("Secret", namespace, spec.secret_name(name))
    current_deploy = None if namespace_missing else api.get("Deployment", namespace, name)
    record = lifetime.wanted(spec.lifetime_record(current_deploy), ttl=options.get("ttl"),
                             expires=options.get("expires_at"), max_ttl=options.get("max_ttl"), now=now)
    password = options.get("password")
    if password is None and current_secret is None:
        password = password_factory()
        if hide is not None:
            hide([password])
    wanted = spec.desired(options, password=password, record=record)
    if namespace_missing and not check_mode:
        api.ensure_namespace(namespace, name)
    before, after, changed = {}, {}, namespace_missing
    for obj in wanted:
        key = _key(obj)
        if namespace_missing and check_mode:
            before[key], after[key] = None, obj
        else:
            before[key], after[key] = _apply(api, obj, check_mode=check_mode)
        changed = changed or _differs(before[key], after[key], check_mode)
    deploy = after[("Deployment", name)]
    svc = after[("Service", name)]
    if not check_mode and options.get("wait", True):
        deploy = _wait_available(api, options)
    view = spec.workspace_view(options, deploy=None if check_mode and before.get(("Deployment", name)) is None
                               else deploy, svc=svc, server=api.server, cluster_id=cluster_id,
                               record=record, now=now)
    return build_result(changed, diff_enabled=diff, before=spec.diff_view(before.values()),
                        after=spec.diff_view(after.values()), workspace=view)


def _differs(before, after, check_mode):
    if before is None:
        return True
    if check_mode:
        return spec.comparable(before) != spec.comparable(after)
    return (before.get("metadata") or {}).get("resourceVersion") != (after.get("metadata") or {}).get("resourceVersion")


def _apply(api, obj, *, check_mode, attempts=5):
    """``(object as read, object after the apply)``; in check mode the dry run's answer (the
    wanted object itself for one that does not exist)."""
    meta = obj["metadata"]
    attempt = 0
    while True:
        current = api.get(obj["kind"], meta["namespace"], meta["name"])
        if current is None and check_mode:
            return None, obj
        body = copy.deepcopy(obj)
        if current is not None:
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        try:
            return current, api.apply(body, dry_run=check_mode)
        except Modified:
            attempt += 1
            if attempt >= attempts:
                raise


def _wait_available(api, options):
    """Until the Deployment is Available (KWOK, or a kubelet, made its pod ready); its last read."""
    name, namespace = options["name"], options["namespace"]
    timeout = options.get("wait_timeout") or 300
    done, deploy, elapsed = api.wait("Deployment", namespace, name, until=spec.available, timeout=timeout)
    if not done:
        raise _error(options, "start", "timed out after %ds waiting for Deployment %s to become Available (%s)" % (
            round(elapsed), name, spec.describe_pods(api.pods(namespace, name))))
    return deploy


def remove_workspace(api, options, *, check_mode=False, diff=False, cluster_id=None):
    """state=absent: the Deployment, Service, Secret and claim, and the namespace if the module made
    it (for any workspace) and no other workspace is left in it."""
    name, namespace = options["name"], options["namespace"]
    found = []
    if api.get("Namespace", None, namespace) is not None:
        for kind, object_name in (("Deployment", name), ("Service", name), ("Secret", spec.secret_name(name)),
                                  ("PersistentVolumeClaim", spec.claim_name(name))):
            obj = api.get(kind, namespace, object_name)
            if obj is not None and ((obj.get("metadata") or {}).get("labels") or {}).get(spec.LABEL_WORKSPACE) == name:
                obj.setdefault("kind", kind)
                found.append(obj)
    if not found:
        return build_result(False, diff_enabled=diff, before={}, after={}, workspace={})
    view = {"name": name, "namespace": namespace, "cluster": cluster_id}
    if not check_mode:
        for obj in found:
            api.delete(obj["kind"], namespace, obj["metadata"]["name"])
        if options.get("wait", True):
            _wait_gone(api, options)
        _remove_namespace(api, options)
    return build_result(True, diff_enabled=diff, before=spec.diff_view(found), after={}, workspace=view)


def _wait_gone(api, options):
    name, namespace = options["name"], options["namespace"]
    done, pods, elapsed = api.waiter.wait(lambda: api.pods(namespace, name), options.get("wait_timeout") or 300,
                                          until=lambda pods: not pods)
    if not done:
        raise _error(options, "delete", "timed out after %ds waiting for its pods to go away (%s)" % (
            round(elapsed), spec.describe_pods(pods)))


def _remove_namespace(api, options):
    """A namespace the module made for a workspace goes with the last workspace in it."""
    namespace = api.get("Namespace", None, options["namespace"])
    annotations = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    if spec.CREATED_FOR in annotations and not api.other_workspaces(options["namespace"], options["name"]):
        api.delete("Namespace", None, options["namespace"])


def list_workspaces(api, options, *, cluster_id=None, now=None):
    """The info module: every workspace Deployment the collection made, in ``options["namespace"]``
    (None: every namespace), in one list call; ``name`` narrows it to one workspace."""
    now = now or now_utc()
    found = api.list("Deployment", options.get("namespace"), spec.info_selector(options.get("name")))
    records = []
    for deploy in found:
        record = spec.info_record(deploy, now)
        record["cluster"] = cluster_id
        records.append(record)
    records.sort(key=lambda r: (r["namespace"] or "", r["name"] or ""))
    return {"changed": False, "workspaces": records}
