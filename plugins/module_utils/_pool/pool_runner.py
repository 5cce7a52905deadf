# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What cluster_pool and cluster_pool_info do. Private to ghost.infra.

``ensure_pool`` declares a pool: it checks everything first (member VMs found by name or
selector, golden snapshots ready to use, vclusters published) and only then writes: the pool's
namespace, the declaration object, the queue object, one member object per member (new members
start ``available``), the ``ghost.infra/pool`` label (plus ``labels``) on every member namespace.
Members that left the declaration are deleted, unless held (or being reset) without ``force``;
their namespaces lose the pool label and keep everything else. Every delete of a member carries
the resourceVersion that was checked, so a member acquired meanwhile is not removed from under
its holder. ``pool_info`` reads the pool in one list call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict

BUSY = (lease_spec.LOCKED, lease_spec.RESETTING)


def _annotation(obj, key, default=None):
    return spec.loads(((obj or {}).get("metadata") or {}).get("annotations", {}).get(key), default)


def _resolve(api, declaration):
    """member -> member record; GhostError listing every problem when something is missing."""
    records, problems = {}, []
    for member in declaration["members"]:
        try:
            if declaration["kind"] == "vcluster":
                record = spec.member_record(declaration, member, [])
                if api.secret_value(member, record["kubeconfig"]["name"], record["kubeconfig"]["key"]) is None:
                    problems.append("member %s: vcluster '%s/%s' has not published its kubeconfig (Secret %s); create "
                                    "it first (ghost.infra.vcluster or the cluster_pool role)" % (
                                        member, member, record["vcluster"], record["kubeconfig"]["name"]))
                records[member] = record
                continue
            if declaration["vm_selector"]:
                found = {role: api.vms_by_selector(member, selector)
                         for role, selector in declaration["vm_selector"].items()}
                vms = spec.select_vms(declaration, member, found)
            else:
                vms = spec.member_vm_names(declaration, member)
            problems.extend(_check_vms(api, member, vms))
            records[member] = spec.member_record(declaration, member, vms)
        except GhostError as exc:
            problems.append(exc.msg)
    if problems:
        raise GhostError("Failed to declare pool '%s': %s" % (declaration["name"], "; ".join(problems)))
    return records


def _check_vms(api, member, vms):
    problems = []
    for vm in vms:
        if api.get("VirtualMachine", member, vm["name"]) is None:
            problems.append("member %s: VirtualMachine %s/%s not found" % (member, member, vm["name"]))
            continue
        snap = api.get("VirtualMachineSnapshot", member, vm["snapshot"])
        status = (snap or {}).get("status") or {}
        source = (((snap or {}).get("spec") or {}).get("source") or {}).get("name")
        if snap is None:
            problems.append("member %s: golden snapshot %s/%s of VM %s not found" % (member, member, vm["snapshot"], vm["name"]))
        elif source != vm["name"]:
            problems.append("member %s: snapshot %s/%s is of VM %s, not of %s" % (
                member, member, vm["snapshot"], source, vm["name"]))
        elif not status.get("readyToUse"):
            problems.append("member %s: snapshot %s/%s is not ready to use (phase %s)" % (
                member, member, vm["snapshot"], status.get("phase") or "unknown"))
    return problems


def _members_view(members, now):
    return [lease_spec.member_view(obj, now) for obj in members]


def _summary(members):
    return {lease_spec.member_id(m): {"state": lease_spec.state_of(m), "record": _annotation(m, spec.ANNOTATION_MEMBER, {})}
            for m in members}


def ensure_pool(api, params, *, check_mode=False, diff=False, now):
    """cluster_pool: state present/absent of one pool; returns the module result."""
    if params.get("state", "present") == "absent":
        name = spec.validate_pool_name(params.get("name"))
        namespace = spec.validate_label(params.get("namespace") or spec.DEFAULT_NAMESPACE, "namespace", "namespace")
        return remove_pool(api, namespace, name, force=params.get("force", False), check_mode=check_mode, diff=diff)
    declaration = spec.validate_declaration(params)
    ns, name = declaration["namespace"], declaration["name"]
    pool = api.read_pool(ns, name)
    records = _resolve(api, declaration)
    existing = {lease_spec.member_id(m): m for m in pool.members}
    removed = [existing[m] for m in existing if m not in declaration["members"]]
    busy = [m for m in removed if lease_spec.state_of(m) in BUSY]
    if busy and not params.get("force"):
        named = ", ".join("member %s (%s, held by %s)" % (
            lease_spec.member_id(m), lease_spec.state_of(m), lease_spec.describe_holder(m)) for m in busy)
        raise GhostError("Failed to update pool '%s': removing %s, which %s; set force=true to remove %s anyway" % (
            name, named, "is in use" if len(busy) == 1 else "are in use", "it" if len(busy) == 1 else "them"),
            option="members")
    stored = spec.stored_declaration(declaration)
    before_decl = _annotation(pool.declaration, spec.ANNOTATION_POOL)
    want_records = {m: records[m] for m in declaration["members"]}
    have_records = {m: _annotation(obj, spec.ANNOTATION_MEMBER) for m, obj in existing.items()}
    labels = spec.namespace_labels(declaration)
    relabel = [m for m in declaration["members"] if spec.labels_patch(api.namespace_labels(m), labels)]
    changed = bool(before_decl != stored or removed or relabel or pool.queue is None
                   or any(have_records.get(m) != r for m, r in want_records.items()))
    if changed and not check_mode:
        _apply(api, declaration, pool, want_records, removed, relabel, now=now)
    after_members = api.read_pool(ns, name).members if changed and not check_mode else pool.members
    view = spec.declaration_view(declaration)
    view["member_states"] = {lease_spec.member_id(m): lease_spec.state_of(m) for m in after_members}
    return build_result(changed, diff_enabled=diff,
                        before={"declaration": before_decl, "members": {m: have_records[m] for m in sorted(have_records)}}
                        if pool.declaration else {},
                        after={"declaration": stored, "members": want_records}, pool=view)


def _apply(api, declaration, pool, records, removed, relabel, *, now):
    ns, name = declaration["namespace"], declaration["name"]
    api.ensure_namespace(ns)
    stored = spec.dumps(spec.stored_declaration(declaration))
    _upsert(api, pool.declaration, spec.lease_object(
        ns, spec.pool_object_name(name), spec.object_labels(name, spec.OBJECT_POOL), {spec.ANNOTATION_POOL: stored}),
        lambda obj: _with_annotation(obj, spec.ANNOTATION_POOL, stored))
    if pool.queue is None:
        api.create(spec.lease_object(ns, spec.queue_object_name(name), spec.object_labels(name, spec.OBJECT_QUEUE),
                                     {queue_spec.A_QUEUE: "[]"}), exist_ok=True)
    existing = {lease_spec.member_id(m): m for m in pool.members}
    for member, record in records.items():
        body = spec.lease_object(ns, spec.member_object_name(name, member), spec.object_labels(name, spec.OBJECT_MEMBER, member),
                                 {})
        _upsert(api, existing.get(member), lease_spec.declare(body, record, now()),
                lambda obj, record=record: lease_spec.declare(obj, record, now()))
    for obj in removed:
        _remove_member(api, obj, force=True)
    for member in relabel:
        api.ensure_namespace(member, spec.namespace_labels(declaration))


def _with_annotation(obj, key, value):
    new = dict(obj, metadata=dict(obj["metadata"], annotations=dict(obj["metadata"].get("annotations") or {})))
    new["metadata"].pop("managedFields", None)
    new["metadata"]["annotations"][key] = value
    return new


def _upsert(api, current, body, change):
    """Create ``body`` or apply ``change`` to the current object (compare-and-swap, re-read on conflict)."""
    for _attempt in range(20):
        if current is None:
            created = api.create(body, exist_ok=True)
            if created is not None:
                return created
            current = api.get_lease(body["metadata"]["namespace"], body["metadata"]["name"])
            continue
        wanted = change(current)
        if wanted == current:
            return current
        try:
            return api.replace(wanted, verb="declare")
        except Conflict:
            current = api.get_lease(body["metadata"]["namespace"], body["metadata"]["name"])
    raise GhostError("Failed to declare Lease '%s': it kept changing" % body["metadata"]["name"])


def _remove_member(api, obj, *, force):
    """Delete a member object as read; re-checked on conflict (it may have been acquired meanwhile)."""
    for _attempt in range(10):
        if not force and lease_spec.state_of(obj) in BUSY:
            raise GhostError("Failed to remove member %s: it is %s by %s" % (
                lease_spec.member_id(obj), lease_spec.state_of(obj), lease_spec.describe_holder(obj)))
        try:
            api.delete_exact(obj)
            break
        except Conflict:
            obj = api.get_lease(obj["metadata"]["namespace"], obj["metadata"]["name"])
            if obj is None:
                break
    member = lease_spec.member_id(obj) if obj else None
    if member:
        api.unlabel_namespace(member, spec.LABEL_POOL)


def remove_pool(api, namespace, name, *, force, check_mode, diff):
    """state=absent: every object of the pool gone, member namespaces unlabelled (their content stays)."""
    pool = api.read_pool(namespace, name)
    if pool.declaration is None and pool.queue is None and not pool.members and not pool.waiters:
        return build_result(False, diff_enabled=diff, before={}, after={}, pool={})
    busy = [m for m in pool.members if lease_spec.state_of(m) in BUSY]
    if busy and not force:
        named = ", ".join("member %s is %s by %s" % (
            lease_spec.member_id(m), lease_spec.state_of(m), lease_spec.describe_holder(m)) for m in busy)
        raise GhostError("Failed to remove pool '%s': %s; set force=true to remove it anyway" % (name, named),
                         option="force")
    before = {"declaration": _annotation(pool.declaration, spec.ANNOTATION_POOL), "members": _summary(pool.members)}
    if not check_mode:
        for obj in pool.members:
            _remove_member(api, obj, force=force)
        for obj in list(pool.waiters.values()) + [pool.queue, pool.declaration]:
            if obj is not None:
                api.delete(spec.LEASE, namespace, obj["metadata"]["name"])
    return build_result(True, diff_enabled=diff, before=before, after={}, pool={"name": name, "namespace": namespace})


def pool_info(api, params, *, now):
    """cluster_pool_info: the declaration, stats, every member and the wait queue of one pool."""
    name = spec.validate_pool_name(params.get("pool"), "pool")
    namespace = spec.validate_label(params.get("namespace") or spec.DEFAULT_NAMESPACE, "namespace", "namespace")
    pool = api.read_pool(namespace, name)
    if pool.declaration is None:
        return build_result(False, exists=False, pool=None, stats=None, members=[], queue=[])
    moment = now()
    declared = _annotation(pool.declaration, spec.ANNOTATION_POOL, {})
    declared.update(name=name, namespace=namespace)
    entries = queue_spec.entries(pool.queue)
    live = queue_spec.live(entries, pool.waiters, pool.members, moment)
    live_owners = [e["owner"] for e in live]
    queue = []
    for entry in entries:
        waiter = pool.waiters.get(entry["owner"])
        alive = entry["owner"] in live_owners
        queue.append({"owner": entry["owner"], "since": entry.get("since"), "member": entry.get("member"),
                      "position": live_owners.index(entry["owner"]) + 1 if alive else None, "alive": alive,
                      "heartbeat": (waiter or {}).get("spec", {}).get("renewTime")})
    return build_result(False, exists=True, pool=spec.declaration_view(dict(declared, duration=declared.get("duration") or 7200)),
                        stats=lease_spec.stats(pool.members, len(live), moment),
                        members=_members_view(pool.members, moment), queue=queue)
