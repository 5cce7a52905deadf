# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KubeVirt snapshot and restore rules. Private to ghost.infra; pure (plain dicts in and out).

Checks object names, builds the desired snapshot.kubevirt.io/v1beta1 objects, reads the state
of existing ones from their ``status`` and turns conditions into messages a user can act on.
Imports neither ansible nor the kubernetes client.

Names are checked as DNS-1123 labels (lower-case alphanumerics and '-', starting and ending
with an alphanumeric, at most 63 characters): what KubeVirt accepts for VirtualMachine names
and safe for snapshots and restores, whose names end up in labels of derived objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

KUBEVIRT_API = "kubevirt.io/v1"
SNAPSHOT_API = "snapshot.kubevirt.io/v1beta1"
VM = "VirtualMachine"
VMI = "VirtualMachineInstance"
SNAPSHOT = "VirtualMachineSnapshot"
RESTORE = "VirtualMachineRestore"
API_VERSIONS = {VM: KUBEVIRT_API, VMI: KUBEVIRT_API, SNAPSHOT: SNAPSHOT_API, RESTORE: SNAPSHOT_API}

# Annotation on the VirtualMachine: its run strategy from before a reset began. Written in the
# same patch as the first change (the stop), used by every later run, removed with the patch
# that gives the VM its run strategy back, so its presence means "a reset is unfinished".
PREVIOUS_RUN_STRATEGY = "ghost.infra/run-strategy-before-restore"

READY = "ready"          # snapshot readyToUse / restore complete
FAILED = "failed"
PENDING = "pending"

RUNNING = "Always"
HALTED = "Halted"
RUN_AFTER_RESTORE = ("previous", "running", "halted")
# targetReadinessPolicy values under which KubeVirt itself deals with a running target.
POLICIES_FOR_RUNNING_VM = ("StopTarget", "WaitEventually", "WaitGracePeriod")
TARGET_READINESS_POLICIES = ("WaitGracePeriod", "StopTarget", "FailImmediate", "WaitEventually")
VOLUME_RESTORE_POLICIES = ("RandomizeNames", "InPlace", "PrefixTargetName")

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION = re.compile(r"^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ms|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")

MAX_NAME = 63
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HASH_LEN = 8


# ---------------------------------------------------------------- names

def validate_name(value, option):
    """Return ``value`` if it is a DNS-1123 label; otherwise raise GhostError naming ``option``."""
    if not isinstance(value, str) or not value:
        raise GhostError("must be a non-empty string", option=option)
    if len(value) > MAX_NAME:
        raise GhostError("'%s' is %d characters long; at most %d are allowed" % (value, len(value), MAX_NAME),
                         option=option)
    if not _LABEL.match(value):
        raise GhostError(
            "'%s' is not a valid name: use lower-case letters, digits and '-', starting and ending "
            "with a letter or digit (DNS-1123 label)" % value, option=option)
    return value


def default_restore_name(vm_name, snapshot_name):
    """The restore name used when the user gives none: ``<vm>-<snapshot>``, stable, at most 63 characters.

    When that is too long, the front is kept and an 8-character hash of both inputs is appended,
    so two long pairs that share a prefix still get different names, and the same pair always
    gets the same name (a re-run finds its own restore).
    """
    name = "%s-%s" % (vm_name, snapshot_name)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(("%s/%s" % (vm_name, snapshot_name)).encode("utf-8")).hexdigest()[:_HASH_LEN]
    head = name[:MAX_NAME - _HASH_LEN - 1].rstrip("-")
    return "%s-%s" % (head, digest)


def validate_wait_timeout(value, option="wait_timeout"):
    """Return ``value`` if it is a positive number of seconds; otherwise raise GhostError naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise GhostError("must be a positive number of seconds, got %s" % (value,), option=option)
    return value


# ---------------------------------------------------------------- durations

def parse_duration(value, option="failure_deadline"):
    """Seconds (float) from ``300``, ``'300'``, ``'5m'``, ``'1h30m'``, ``'90s'`` or ``'1.5h'``.

    The units are those of Go's time.ParseDuration that make sense here (h, m, s, ms); a bare
    number is seconds. Negative or malformed values raise GhostError naming ``option``.
    """
    if isinstance(value, bool) or value is None:
        raise GhostError("expected a duration such as 5m, 1h30m or 300, got %r" % (value,), option=option)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        if re.match(r"^\d+(?:\.\d+)?$", text):
            seconds = float(text)
        elif _DURATION.match(text):
            seconds = sum(float(num) * _UNITS[unit] for num, unit in _DURATION_PART.findall(text))
        else:
            raise GhostError("expected a duration such as 5m, 1h30m or 300, got '%s'" % value, option=option)
    if seconds < 0:
        raise GhostError("must not be negative, got '%s'" % value, option=option)
    return seconds


def format_duration(seconds):
    """Go's canonical Duration string (what metav1.Duration serialises to): 300 -> '5m0s'."""
    millis = int(round(seconds * 1000))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return "%dms" % millis
    hours, rest = divmod(millis, 3600000)
    minutes, rest = divmod(rest, 60000)
    secs, frac = divmod(rest, 1000)
    sec_text = "%d" % secs if not frac else ("%d.%03d" % (secs, frac)).rstrip("0")
    if hours:
        return "%dh%dm%ss" % (hours, minutes, sec_text)
    if minutes:
        return "%dm%ss" % (minutes, sec_text)
    return "%ss" % sec_text


# ---------------------------------------------------------------- conditions and state

def _status(obj):
    return (obj or {}).get("status") or {}


def _spec(obj):
    return (obj or {}).get("spec") or {}


def describe_conditions(conditions):
    """'Ready=False (reason): message; Failure=True: message' or 'no conditions reported'."""
    parts = []
    for cond in conditions or ():
        text = "%s=%s" % (cond.get("type", "?"), cond.get("status", "?"))
        if cond.get("reason") and cond.get("reason") != cond.get("message"):
            text += " (%s)" % cond["reason"]
        if cond.get("message"):
            text += ": %s" % cond["message"]
        parts.append(text)
    return "; ".join(parts) if parts else "no conditions reported"


def _condition_true(obj, kind):
    return any(c.get("type") == kind and str(c.get("status")) == "True" for c in _status(obj).get("conditions") or ())


def snapshot_state(obj):
    """READY (readyToUse), FAILED (phase Failed or a true Failure condition) or PENDING."""
    status = _status(obj)
    if status.get("phase") == "Failed" or _condition_true(obj, "Failure"):
        return FAILED
    if status.get("readyToUse") is True:
        return READY
    return PENDING


def describe_snapshot(obj):
    """Phase, readyToUse, error and conditions of a snapshot, for error messages."""
    if not obj:
        return "the snapshot does not exist"
    status = _status(obj)
    text = "phase %s, readyToUse %s" % (status.get("phase") or "not set", bool(status.get("readyToUse")))
    error = (status.get("error") or {}).get("message")
    conditions = status.get("conditions")
    if error and error not in describe_conditions(conditions):
        text += ", error: %s" % error
    return "%s; conditions: %s" % (text, describe_conditions(conditions))


def restore_state(obj):
    """READY (status.complete), FAILED (a true Failure condition) or PENDING."""
    if _status(obj).get("complete") is True:
        return READY
    if _condition_true(obj, "Failure"):
        return FAILED
    return PENDING


def describe_restore(obj):
    if not obj:
        return "the restore does not exist"
    status = _status(obj)
    return "complete %s; conditions: %s" % (bool(status.get("complete")), describe_conditions(status.get("conditions")))


def snapshot_source(obj):
    """Name of the VirtualMachine a snapshot is of, or None when it is not a VM snapshot."""
    source = _spec(obj).get("source") or {}
    if source.get("kind", VM) != VM:
        return None
    return source.get("name")


def restore_target(obj):
    """(target VM name, snapshot name) of a restore."""
    spec = _spec(obj)
    target = spec.get("target") or {}
    return target.get("name"), spec.get("virtualMachineSnapshotName")


# ---------------------------------------------------------------- run strategy

def run_strategy(vm):
    """The VM's effective run strategy; legacy ``spec.running`` maps to Always/Halted (KubeVirt's rule)."""
    spec = _spec(vm)
    if spec.get("runStrategy"):
        return spec["runStrategy"]
    return RUNNING if spec.get("running") is True else HALTED


def run_strategy_patch(vm, strategy):
    """Merge patch setting ``strategy``, keeping a VM on legacy ``spec.running`` when it can express it."""
    spec = _spec(vm)
    if spec.get("running") is not None:
        if strategy in (RUNNING, HALTED):
            return {"spec": {"running": strategy == RUNNING}}
        return {"spec": {"running": None, "runStrategy": strategy}}
    return {"spec": {"runStrategy": strategy}}


def recorded_run_strategy(vm):
    """The run strategy a VM had before an unfinished reset (annotation PREVIOUS_RUN_STRATEGY), or None."""
    annotations = ((vm or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(PREVIOUS_RUN_STRATEGY) or None


def record_patch(vm, previous, *, halt):
    """Merge patch starting a reset: record ``previous`` on the VM (unless recorded) and, with ``halt``, stop it.

    One patch, so the VM is never stopped by the module without its run strategy recorded.
    None when there is nothing to write.
    """
    patch = run_strategy_patch(vm, HALTED) if halt and run_strategy(vm) != HALTED else {}
    if recorded_run_strategy(vm) is None:
        patch["metadata"] = {"annotations": {PREVIOUS_RUN_STRATEGY: previous}}
    return patch or None


def settle_patch(vm, strategy):
    """Merge patch ending a reset: run strategy ``strategy``, the record removed. None when both are so."""
    patch = run_strategy_patch(vm, strategy) if run_strategy(vm) != strategy else {}
    if recorded_run_strategy(vm) is not None:
        patch["metadata"] = {"annotations": {PREVIOUS_RUN_STRATEGY: None}}
    return patch or None


def desired_run_strategy(run_after_restore, previous):
    """Run strategy after a restore: the previous one, a running one, or Halted."""
    if run_after_restore not in RUN_AFTER_RESTORE:
        raise GhostError("must be one of %s, got '%s'" % (", ".join(RUN_AFTER_RESTORE), run_after_restore),
                         option="run_after_restore")
    if run_after_restore == "halted":
        return HALTED
    if run_after_restore == "running":
        return previous if previous in (RUNNING, "RerunOnFailure") else RUNNING
    return previous or HALTED


def wants_running(strategy):
    """Whether a VM with this run strategy is expected to start on its own."""
    return strategy in (RUNNING, "RerunOnFailure", "Once")


def vm_ready(vm):
    return _status(vm).get("ready") is True


# ---------------------------------------------------------------- desired objects

def _string_map(values, option):
    out = {}
    for key, value in (values or {}).items():
        if value is None or isinstance(value, (dict, list)):
            raise GhostError("the value of '%s' must be a string" % key, option=option)
        out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def snapshot_definition(name, namespace, vm_name, *, labels=None, annotations=None, failure_deadline=None):
    """A VirtualMachineSnapshot of ``vm_name``; ``failure_deadline`` in seconds or None (KubeVirt's default)."""
    metadata = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = _string_map(labels, "labels")
    if annotations:
        metadata["annotations"] = _string_map(annotations, "annotations")
    spec = {"source": {"apiGroup": "kubevirt.io", "kind": VM, "name": vm_name}}
    if failure_deadline is not None:
        spec["failureDeadline"] = format_duration(failure_deadline)
    return {"apiVersion": SNAPSHOT_API, "kind": SNAPSHOT, "metadata": metadata, "spec": spec}


def restore_definition(name, namespace, vm_name, *, snapshot_name, target_readiness_policy=None,
                       volume_restore_policy=None):
    """A VirtualMachineRestore of ``snapshot_name`` onto ``vm_name``."""
    spec = {
        "target": {"apiGroup": "kubevirt.io", "kind": VM, "name": vm_name},
        "virtualMachineSnapshotName": snapshot_name,
    }
    if target_readiness_policy:
        spec["targetReadinessPolicy"] = target_readiness_policy
    if volume_restore_policy:
        spec["volumeRestorePolicy"] = volume_restore_policy
    return {
        "apiVersion": SNAPSHOT_API,
        "kind": RESTORE,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def metadata_patch(existing, labels=None, annotations=None):
    """Merge patch adding or changing the given labels/annotations on ``existing``; None when nothing differs."""
    meta = (existing or {}).get("metadata") or {}
    patch = {}
    for key, wanted, option in (("labels", labels, "labels"), ("annotations", annotations, "annotations")):
        have = meta.get(key) or {}
        delta = {k: v for k, v in _string_map(wanted, option).items() if have.get(k) != v}
        if delta:
            patch[key] = delta
    return {"metadata": patch} if patch else None


def object_view(obj):
    """The user-facing part of an object (identity, labels, annotations, spec) for --diff."""
    if not obj:
        return {}
    meta = obj.get("metadata") or {}
    view_meta = {"name": meta.get("name"), "namespace": meta.get("namespace")}
    for key in ("labels", "annotations"):
        if meta.get(key):
            view_meta[key] = dict(meta[key])
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": view_meta,
            "spec": dict(obj.get("spec") or {})}


# ---------------------------------------------------------------- results

def snapshot_summary(obj):
    """The ``snapshot`` return value."""
    if not obj:
        return {}
    meta = obj.get("metadata") or {}
    status = _status(obj)
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "vm_name": snapshot_source(obj),
        "phase": status.get("phase"),
        "ready_to_use": status.get("readyToUse") is True,
        "creation_time": status.get("creationTime"),
        "indications": list(status.get("indications") or []),
        "conditions": list(status.get("conditions") or []),
        "content_name": status.get("virtualMachineSnapshotContentName"),
    }


def restore_summary(obj, vm_run_strategy):
    """The ``restore`` return value."""
    if not obj:
        return {}
    meta = obj.get("metadata") or {}
    status = _status(obj)
    vm_name, snapshot_name = restore_target(obj)
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "vm_name": vm_name,
        "snapshot_name": snapshot_name,
        "complete": status.get("complete") is True,
        "restore_time": status.get("restoreTime"),
        "conditions": list(status.get("conditions") or []),
        "vm_run_strategy": vm_run_strategy,
    }
