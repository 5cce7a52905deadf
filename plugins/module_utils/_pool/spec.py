# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster pool declaration rules. Private to ghost.infra; pure (plain data in and out).

Where the pool lives: every object of pool ``<pool>`` is a ``coordination.k8s.io/v1`` Lease in
one namespace (option ``namespace``, default ``ghost-pools``), labelled ``ghost.infra/pool=<pool>``
and ``ghost.infra/object=pool|queue|member|waiter``, so ONE list call reads the whole pool:

- ``<pool>`` (object ``pool``): the declaration (kind, members, VMs, snapshots...) as JSON in the
  annotation ``ghost.infra/pool``;
- ``<pool>.queue`` (object ``queue``): the ordered wait queue (``queue_spec.py``);
- ``<pool>.member.<id>`` (object ``member``, label ``ghost.infra/member=<id>``): one per member;
  ``spec.holderIdentity`` / ``acquireTime`` / ``renewTime`` / ``leaseDurationSeconds`` are the lease,
  annotations the pool state (``lease_spec.py``);
- ``<pool>.waiter.<hash of owner>`` (object ``waiter``): the heartbeat of one queued acquirer.

Why Lease objects: the API server serves them everywhere (no CRD to install, no cluster-admin
needed to start), their fields are exactly a lease (holder, acquire and renew times, duration,
transitions), ``kubectl get leases -n ghost-pools`` shows who holds what, and every write is a
PUT carrying the ``resourceVersion`` just read, so the API server refuses a stale one (409).

This file checks the declaration options and builds the wanted pool and member records. It
imports neither ansible nor the kubernetes client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import re

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

API_VERSION = "coordination.k8s.io/v1"
LEASE = "Lease"
DEFAULT_NAMESPACE = "ghost-pools"

LABEL_POOL = "ghost.infra/pool"
LABEL_OBJECT = "ghost.infra/object"
LABEL_MEMBER = "ghost.infra/member"
MANAGED_BY = {"app.kubernetes.io/managed-by": "ghost.infra"}
OBJECT_POOL = "pool"
OBJECT_QUEUE = "queue"
OBJECT_MEMBER = "member"
OBJECT_WAITER = "waiter"

ANNOTATION_POOL = "ghost.infra/pool"      # on the pool object: the declaration (JSON)
ANNOTATION_MEMBER = "ghost.infra/member"  # on a member: its namespace, VMs, kubeconfig (JSON)

KINDS = ("kubevirt", "vcluster")
ROLES = ("control-plane", "worker")
DEFAULT_SNAPSHOTS = {"control-plane": "cp-snap", "worker": "wk-snap"}
DEFAULT_TEMPLATES_NAMESPACE = "vm-templates"
DEFAULT_MEMBER_PREFIX = "cluster"
MAX_MEMBERS = 100
POOL_NAME_MAX = 40   # leaves room for ".member.<63-character id>" in a Lease name
LABEL_MAX = 63
MEMBER_PLACEHOLDER = "{member}"
VCLUSTER_KEY = "config"   # Secret vc-<name> key a vcluster publishes its kubeconfig in
VCLUSTER_OPTIONS = ("name", "values", "values_files", "chart_version", "chart_dir", "kubernetes_version",
                    "server", "expose", "vcluster_binary")

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_POOL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


# ---------------------------------------------------------------- names

def validate_label(value, option, what="name"):
    """A DNS-1123 label (namespaces, members, VMs, snapshots); GhostError naming ``option``."""
    if not isinstance(value, str) or not value:
        raise GhostError("must be a non-empty string", option=option)
    if len(value) > LABEL_MAX or not _LABEL.match(value):
        raise GhostError("'%s' is not a valid %s: use at most %d lower-case letters, digits and '-', starting and "
                         "ending with a letter or digit (DNS-1123 label)" % (value, what, LABEL_MAX), option=option)
    return value


def validate_pool_name(value, option="name"):
    if not isinstance(value, str) or not value:
        raise GhostError("a pool name is required", option=option)
    if len(value) > POOL_NAME_MAX or not _POOL.match(value):
        raise GhostError("'%s' is not a valid pool name: use at most %d lower-case letters, digits and '-', starting "
                         "with a letter and ending with a letter or digit" % (value, POOL_NAME_MAX), option=option)
    return value


def validate_owner(value, option="owner"):
    """The holder's identity (a session id): printable, no surrounding blanks, at most 128 characters."""
    if not isinstance(value, str) or not value.strip():
        raise GhostError("must be a non-empty string (the session that holds the lease)", option=option)
    if value != value.strip() or len(value) > 128 or not value.isprintable():
        raise GhostError("'%s' is not a valid owner: use at most 128 printable characters without leading or "
                         "trailing blanks" % value, option=option)
    return value


def pool_object_name(pool):
    return pool


def queue_object_name(pool):
    return "%s.queue" % pool


def member_object_name(pool, member):
    return "%s.member.%s" % (pool, member)


def waiter_object_name(pool, owner):
    """One waiter per owner: a re-run of the same owner finds its place in the queue again."""
    return "%s.waiter.%s" % (pool, hashlib.sha256(owner.encode("utf-8")).hexdigest()[:16])


def pool_selector(pool, obj=None):
    return "%s=%s" % (LABEL_POOL, pool) + (",%s=%s" % (LABEL_OBJECT, obj) if obj else "")


# ---------------------------------------------------------------- durations

_DURATION = re.compile(r"^(\d+[smhd])+$")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value, option, *, minimum=1, maximum=30 * 86400):
    """Seconds (int) from ``300``, ``'300'``, ``'30m'``, ``'2h'``, ``'1d12h'``; GhostError naming ``option``."""
    if isinstance(value, bool) or value is None or value == "":
        raise GhostError("expected a duration such as 30m, 2h or 300 (seconds), got %r" % (value,), option=option)
    if isinstance(value, int):
        seconds = value
    else:
        text = str(value).strip().lower()
        if text.isdigit():
            seconds = int(text)
        elif _DURATION.match(text):
            seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text))
        else:
            raise GhostError("'%s' is not a duration: use a number of seconds or a number with a unit such as 30m, "
                             "2h or 1d12h (units s, m, h, d)" % value, option=option)
    if seconds < minimum or seconds > maximum:
        raise GhostError("%s is out of range: use between %ds and %ds" % (value, minimum, maximum), option=option)
    return seconds


def format_duration(seconds):
    """The shortest spelling: 5400 -> '1h30m' (the TTL spelling every expiry uses)."""
    return lifetime.format_ttl(seconds)


# ---------------------------------------------------------------- the declaration

def member_ids(members, prefix=DEFAULT_MEMBER_PREFIX):
    """``members`` as a list of ids: a count N gives ``<prefix>1..N``, a list is checked as it is."""
    if isinstance(members, bool) or members is None:
        raise GhostError("give a number of members or a list of member ids", option="members")
    if isinstance(members, int) or (isinstance(members, str) and members.strip().isdigit()):
        count = int(members)
        if count < 1 or count > MAX_MEMBERS:
            raise GhostError("must be between 1 and %d, got %d" % (MAX_MEMBERS, count), option="members")
        return [validate_label("%s%d" % (prefix, i), "member_prefix", "member id") for i in range(1, count + 1)]
    if not isinstance(members, (list, tuple)) or not members:
        raise GhostError("give a number of members or a non-empty list of member ids", option="members")
    ids = [validate_label(m, "members", "member id") for m in members]
    duplicates = sorted({m for m in ids if ids.count(m) > 1})
    if duplicates:
        raise GhostError("member ids must be unique: %s given more than once" % ", ".join(duplicates), option="members")
    if len(ids) > MAX_MEMBERS:
        raise GhostError("at most %d members, got %d" % (MAX_MEMBERS, len(ids)), option="members")
    return ids


def _labels(labels, option):
    out = {}
    for key, value in (labels or {}).items():
        value = "" if value is None else str(value)
        if not _LABEL_KEY.match(str(key)) or len(str(key).rsplit("/", 1)[-1]) > LABEL_MAX:
            raise GhostError("'%s' is not a valid label key" % key, option=option)
        if len(value) > LABEL_MAX or not _LABEL_VALUE.match(value):
            raise GhostError("'%s' is not a valid value for label '%s'" % (value, key), option=option)
        out[str(key)] = value
    if LABEL_POOL in out:
        raise GhostError("%s is set by the module to the pool name" % LABEL_POOL, option=option)
    return out


def _vms(vms, vm_selector, kind):
    """``(vms, vm_selector)`` checked: roles known and unique, names DNS labels once {member} is filled."""
    if kind == "vcluster":
        if vms or vm_selector:
            raise GhostError("a vcluster pool has no VMs", option="vms" if vms else "vm_selector")
        return [], {}
    if vms and vm_selector:
        raise GhostError("give either vms or vm_selector, not both", option="vms")
    if vm_selector:
        out = {}
        for role, selector in vm_selector.items():
            if role not in ROLES:
                raise GhostError("'%s' is not a role: use %s" % (role, " or ".join(ROLES)), option="vm_selector")
            if not isinstance(selector, str) or not selector.strip():
                raise GhostError("the selector of %s must be a label selector such as app=cp" % role,
                                 option="vm_selector")
            out[role] = selector.strip()
        return [], out
    checked = []
    for index, vm in enumerate(vms or []):
        role, name = vm.get("role"), vm.get("name")
        where = "vms[%d]" % index
        if role not in ROLES:
            raise GhostError("'%s' is not a role: use %s" % (role, " or ".join(ROLES)), option=where + ".role")
        if not isinstance(name, str) or not name:
            raise GhostError("a VM name is required", option=where + ".name")
        validate_label(name.replace(MEMBER_PLACEHOLDER, "m"), where + ".name", "VM name")
        checked.append({"role": role, "name": name})
    roles = [vm["role"] for vm in checked]
    if len(set(roles)) != len(roles):
        raise GhostError("each role at most once", option="vms")
    return checked, {}


def _snapshots(snapshots, roles):
    out = dict(DEFAULT_SNAPSHOTS)
    out.update({k: v for k, v in (snapshots or {}).items() if v is not None})
    for role, name in out.items():
        if role not in ROLES:
            raise GhostError("'%s' is not a role: use %s" % (role, " or ".join(ROLES)), option="snapshots")
        validate_label(name, "snapshots.%s" % role, "snapshot name")
    return {role: out[role] for role in roles}


def _kubeconfig_secret(value, kind):
    if kind == "vcluster":
        if value:
            raise GhostError("a vcluster member's kubeconfig is the Secret its vcluster publishes",
                             option="kubeconfig_secret")
        return None
    if not value:
        return None
    name = validate_label(value.get("name"), "kubeconfig_secret.name", "Secret name")
    key = value.get("key") or "kubeconfig"
    if not isinstance(key, str) or not re.match(r"^[-._a-zA-Z0-9]+$", key):
        raise GhostError("'%s' is not a valid Secret key" % key, option="kubeconfig_secret.key")
    return {"name": name, "key": key}


def _vcluster(value, kind):
    if kind != "vcluster":
        if value:
            raise GhostError("only a vcluster pool takes vcluster options", option="vcluster")
        return None
    out = {}
    for key, item in (value or {}).items():
        if key not in VCLUSTER_OPTIONS:
            raise GhostError("'%s' is not a vcluster option: use %s" % (key, ", ".join(VCLUSTER_OPTIONS)),
                             option="vcluster")
        if item is not None:
            out[key] = item
    if out.get("name") is not None:
        validate_label(out["name"], "vcluster.name", "vcluster name")
    return out


def validate_declaration(params):
    """The cluster_pool options as the pool declaration stored on the pool object.

    Returns ``{"name", "namespace", "kind", "members", "labels", "vms", "vm_selector",
    "snapshots", "templates_namespace", "duration", "max_reset_attempts", "reset_timeout",
    "kubeconfig_secret", "vcluster"}``; GhostError names the option at fault.
    """
    kind = params.get("kind") or "kubevirt"
    if kind not in KINDS:
        raise GhostError("'%s' is not one of %s" % (kind, ", ".join(KINDS)), option="kind")
    vms, selector = _vms(params.get("vms"), params.get("vm_selector"), kind)
    roles = [vm["role"] for vm in vms] or [role for role in ROLES if role in selector]
    if kind == "kubevirt" and not roles:
        raise GhostError("a kubevirt pool needs its member VMs: give vms (names with {member}) or vm_selector",
                         option="vms")
    declaration = {
        "name": validate_pool_name(params.get("name")),
        "namespace": validate_label(params.get("namespace") or DEFAULT_NAMESPACE, "namespace", "namespace"),
        "kind": kind,
        "members": member_ids(params.get("members"), params.get("member_prefix") or DEFAULT_MEMBER_PREFIX),
        "labels": _labels(params.get("labels"), "labels"),
        "vms": vms,
        "vm_selector": selector,
        "snapshots": _snapshots(params.get("snapshots"), roles) if kind == "kubevirt" else {},
        "templates_namespace": validate_label(params.get("templates_namespace") or DEFAULT_TEMPLATES_NAMESPACE,
                                              "templates_namespace", "namespace"),
        "duration": parse_duration(params.get("duration") or "2h", "duration", minimum=10),
        "max_reset_attempts": params.get("max_reset_attempts") if params.get("max_reset_attempts") is not None else 3,
        "reset_timeout": parse_duration(params.get("reset_timeout") or 600, "reset_timeout", minimum=10,
                                        maximum=86400),
        "kubeconfig_secret": _kubeconfig_secret(params.get("kubeconfig_secret"), kind),
        "vcluster": _vcluster(params.get("vcluster"), kind),
    }
    if not isinstance(declaration["max_reset_attempts"], int) or declaration["max_reset_attempts"] < 1:
        raise GhostError("must be at least 1", option="max_reset_attempts")
    if declaration["namespace"] in declaration["members"]:
        raise GhostError("the pool's namespace '%s' cannot also be a member" % declaration["namespace"],
                         option="members")
    return declaration


def stored_declaration(declaration):
    """What the pool object keeps (the name and namespace are the object's own)."""
    return {k: v for k, v in declaration.items() if k not in ("name", "namespace")}


# ---------------------------------------------------------------- members

def member_vm_names(declaration, member):
    """The VMs of ``member`` declared by name: ``[{"role", "name", "snapshot"}]``."""
    return [{"role": vm["role"], "name": vm["name"].replace(MEMBER_PLACEHOLDER, member),
             "snapshot": declaration["snapshots"][vm["role"]]} for vm in declaration["vms"]]


def select_vms(declaration, member, found):
    """The VMs of ``member`` found through ``vm_selector``: ``found`` maps role -> VM names that matched.

    Each selector must match exactly one VM; GhostError otherwise, naming the member.
    """
    out = []
    for role in ROLES:
        if role not in declaration["vm_selector"]:
            continue
        names = sorted(found.get(role) or [])
        if len(names) != 1:
            raise GhostError("member %s: vm_selector %s '%s' matches %s in namespace %s, not exactly one" % (
                member, role, declaration["vm_selector"][role],
                "no VirtualMachine" if not names else "VirtualMachines %s" % ", ".join(names), member),
                option="vm_selector")
        out.append({"role": role, "name": names[0], "snapshot": declaration["snapshots"][role]})
    return out


def member_record(declaration, member, vms):
    """What a member object carries about its cluster (annotation ``ghost.infra/member``)."""
    record = {"namespace": member, "vms": vms}
    if declaration["kind"] == "vcluster":
        name = (declaration.get("vcluster") or {}).get("name") or member
        record["vcluster"] = name
        record["kubeconfig"] = {"name": "vc-%s" % name, "key": VCLUSTER_KEY}
    elif declaration.get("kubeconfig_secret"):
        record["kubeconfig"] = dict(declaration["kubeconfig_secret"])
    return record


def namespace_labels(declaration):
    """Labels every member namespace carries."""
    labels = dict(declaration["labels"])
    labels[LABEL_POOL] = declaration["name"]
    return labels


def labels_patch(current, wanted):
    """The labels of ``wanted`` that ``current`` lacks or has otherwise (None when nothing to do)."""
    current = current or {}
    patch = {k: v for k, v in wanted.items() if current.get(k) != v}
    return patch or None


def dumps(data):
    """Canonical JSON (sorted keys, no blanks): equal data gives equal annotations."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def loads(text, default=None):
    """Parsed JSON annotation, or ``default`` when absent or unreadable."""
    if not text:
        return copy.deepcopy(default)
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return copy.deepcopy(default)


def object_labels(pool, obj, member=None):
    labels = dict(MANAGED_BY)
    labels.update({LABEL_POOL: pool, LABEL_OBJECT: obj})
    if member:
        labels[LABEL_MEMBER] = member
    return labels


def lease_object(namespace, name, labels, annotations, spec=None):
    """A Lease body."""
    return {"apiVersion": API_VERSION, "kind": LEASE,
            "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
            "spec": spec or {}}


def declaration_view(declaration):
    """The pool as modules return it."""
    view = {k: copy.deepcopy(v) for k, v in declaration.items()}
    view["duration"] = format_duration(declaration["duration"])
    view["reset_timeout"] = declaration["reset_timeout"]
    return view
