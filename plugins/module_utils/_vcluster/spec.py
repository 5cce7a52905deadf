# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure rules of the vcluster modules. Private to ghost.infra; no compatibility promise.

The checks of the module options, names, TTLs, the annotations that carry a vcluster's
lifetime on the host cluster, the hash that decides an upgrade, the status shown to users and
small kubeconfig transformations. Plain data in, plain data out; nothing here imports ansible
or an SDK, every error is a GhostError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
# The TTL parser and timestamps are shared with every resource that has an expiry.
from ansible_collections.ghost.infra.plugins.module_utils._common.lifetime import (  # noqa: F401  pylint: disable=unused-import
    MAX_TTL, MAX_TTL_SECONDS, expires_at, format_time, format_ttl, is_expired, parse_time, parse_ttl,
)

# Annotations on the vcluster's workload (the StatefulSet or Deployment `vcluster list` reads).
ANNOTATION_PREFIX = "ghost.infra/"
CREATED_AT = ANNOTATION_PREFIX + "created-at"
TTL = ANNOTATION_PREFIX + "ttl"
EXPIRES_AT = ANNOTATION_PREFIX + "expires-at"
CONFIG_HASH = ANNOTATION_PREFIX + "config-hash"
# Set by `vcluster pause`; the workload is scaled to zero meanwhile.
PAUSED_ANNOTATIONS = ("loft.sh/paused", "vcluster.loft.sh/paused")
# The namespace annotation the vcluster CLI sets on namespaces it creates: `vcluster delete`
# removes such a namespace once no virtual cluster is left in it.
CREATED_BY_VCLUSTER = "vcluster.loft.sh/created"

# Labels the vcluster chart puts on its workload and pods.
APP_SELECTOR = "app=vcluster"

RUNNING = "running"
NOT_READY = "not_ready"
OFFLINE = "offline"

EXPOSE_CHOICES = ("loadbalancer", "nodeport")
# A Service is named after the vcluster, so the name must be a DNS-1035 label (a DNS-1123 label
# starting with a letter); helm limits release names to 53 characters.
_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NAME_MAX = 53
NAMESPACE_MAX = 63
# Kubeconfig fields that hold credentials (a client certificate is one with its key: hide both).
SECRET_USER_FIELDS = ("token", "password", "client-key-data", "client-certificate-data")
DEFAULT_NAMESPACE = "ghostcluster"
# A local kubeconfig not re-read from the host cluster for this long is stale (ghostctl's refresh).
KUBECONFIG_MAX_AGE = "1h"


def validate_params(params):
    """The vcluster module's options, checked before anything runs (no cluster, no CLI needed).

    Returns a copy of ``params`` with ``namespace`` defaulted, ``server`` normalised and the TTL
    in seconds as ``ttl_seconds``; GhostError names the option at fault.
    """
    options = dict(params)
    options["name"] = validate_name(params.get("name"))
    options["namespace"] = validate_namespace(params.get("namespace") or DEFAULT_NAMESPACE)
    options["ttl_seconds"] = parse_ttl(params.get("ttl"))
    options["server"] = validate_server(params.get("server"))
    options["kubeconfig_max_age_seconds"] = parse_ttl(params.get("kubeconfig_max_age") or KUBECONFIG_MAX_AGE,
                                                      option="kubeconfig_max_age")
    if params.get("expose") not in (None,) + EXPOSE_CHOICES:
        raise GhostError("'%s' is not one of %s" % (params["expose"], ", ".join(EXPOSE_CHOICES)), option="expose")
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout <= 0:
        raise GhostError("must be a positive number of seconds, not %s" % timeout, option="wait_timeout")
    return options


def validate_filters(params):
    """vcluster_info's optional name and namespace (and freshness options); returns a copy with
    ``kubeconfig_max_age_seconds``."""
    if params.get("name"):
        validate_name(params["name"])
    if params.get("namespace"):
        validate_namespace(params["namespace"])
    options = dict(params)
    options["kubeconfig_max_age_seconds"] = parse_ttl(params.get("kubeconfig_max_age") or KUBECONFIG_MAX_AGE,
                                                      option="kubeconfig_max_age")
    timeout = params.get("reachable_timeout")
    if timeout is not None and timeout <= 0:
        raise GhostError("must be a positive number of seconds, not %s" % timeout, option="reachable_timeout")
    return options


def validate_name(name):
    """A vcluster name: DNS-1123 label that starts with a letter, at most 53 characters."""
    if not isinstance(name, str) or not name:
        raise GhostError("a vcluster name is required", option="name")
    if len(name) > NAME_MAX or not _NAME_RE.match(name):
        raise GhostError(
            "'%s' is not a valid vcluster name: use at most %d lowercase letters, digits and '-', "
            "starting with a letter and ending with a letter or digit (a DNS-1123 label that is also "
            "a valid Service and helm release name)" % (name, NAME_MAX), option="name")
    return name


def validate_namespace(namespace):
    """A namespace name: DNS-1123 label of at most 63 characters."""
    if not isinstance(namespace, str) or len(namespace) > NAMESPACE_MAX or not _LABEL_RE.match(namespace):
        raise GhostError(
            "'%s' is not a valid namespace: use at most %d lowercase letters, digits and '-', "
            "starting and ending with a letter or digit" % (namespace, NAMESPACE_MAX), option="namespace")
    return namespace


def lifetime(annotations, creation_timestamp, ttl_seconds, now):
    """The lifetime annotations a vcluster should carry.

    ``created-at`` is kept once set (else the workload's creation time, else ``now``), so a
    re-run never extends a vcluster's life. A requested TTL (``ttl_seconds``) replaces the
    stored one and ``expires-at`` is recomputed from ``created-at``; without one, the stored
    TTL and expiry stay as they are.
    """
    annotations = annotations or {}
    created = annotations.get(CREATED_AT) or creation_timestamp or format_time(now)
    out = {CREATED_AT: created}
    if ttl_seconds is not None:
        out[TTL] = format_ttl(ttl_seconds)
        out[EXPIRES_AT] = expires_at(created, ttl_seconds)
    else:
        for key in (TTL, EXPIRES_AT):
            if annotations.get(key):
                out[key] = annotations[key]
    return out


def lifetime_values(wanted):
    """Chart values that put the lifetime annotations of ``wanted`` on the vcluster's workload.

    Helm then creates the StatefulSet (or Deployment) with them, so a vcluster whose CLI run
    fails or is killed halfway still carries its TTL and is reaped once expired.
    """
    annotations = {key: wanted[key] for key in (CREATED_AT, TTL, EXPIRES_AT) if wanted.get(key)}
    return {"controlPlane": {"statefulSet": {"annotations": annotations}}}


def annotation_patch(current, desired):
    """The annotations of ``desired`` whose value differs in ``current`` (empty when none)."""
    current = current or {}
    return {key: value for key, value in desired.items() if current.get(key) != value}


def config_hash(chart_version, values, values_files_digests, kubernetes_version, *, reach=None):
    """Hash of what was asked of the chart; a different hash means `vcluster create --upgrade`.

    ``values_files_digests`` are SHA-256 digests of the files' contents (in order), so editing a
    values file is a change too. ``reach`` are the values that make the vcluster reachable
    (``reach.reach_values``): another server or Service type is a change.
    """
    document = {
        "chart_version": normalize_version(chart_version) or "",
        "values": values or {},
        "values_files": list(values_files_digests or []),
        "kubernetes_version": normalize_version(kubernetes_version, prefix="v") or "",
    }
    if reach:
        document["reach"] = reach
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def normalize_version(version, prefix=""):
    """'v0.30.0' and '0.30.0' alike: without a leading v, then with ``prefix`` added."""
    if version is None or str(version).strip() == "":
        return None
    text = str(version).strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    return prefix + text


def kubernetes_version_values(kubernetes_version):
    """Chart values that pin the virtual cluster's Kubernetes version (the k8s distro image tag)."""
    tag = normalize_version(kubernetes_version, prefix="v")
    if tag is None:
        return None
    return {"controlPlane": {"distro": {"k8s": {"image": {"tag": tag}}}}}


def chart_version_from_label(labels):
    """'0.30.0' from the chart label ``vcluster-0.30.0`` the chart puts on its workload."""
    label = (labels or {}).get("chart") or ""
    match = re.match(r"^vcluster(?:-k8s|-eks|-k3s|-k0s)?-(.+)$", label)
    return match.group(1) if match else None


def pod_ready(pod):
    """True when the pod's Ready condition is True (and it is not being deleted)."""
    if ((pod or {}).get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def status(workload, pods):
    """running (a vcluster pod is Ready), offline (paused or scaled to zero), else not_ready."""
    if workload is None:
        return None
    meta = workload.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    replicas = (workload.get("spec") or {}).get("replicas")
    if any(annotations.get(key) == "true" for key in PAUSED_ANNOTATIONS) or replicas == 0:
        return OFFLINE
    if any(pod_ready(pod) for pod in pods or []):
        return RUNNING
    return NOT_READY


def summary(name, namespace, *, workload, pods, now, kubeconfig_path=None):
    """What both modules return for one vcluster (never a credential)."""
    meta = (workload or {}).get("metadata") or {}
    annotations = meta.get("annotations") or {}
    created = annotations.get(CREATED_AT) or meta.get("creationTimestamp")
    expires = annotations.get(EXPIRES_AT)
    return {
        "name": name,
        "namespace": namespace,
        "status": status(workload, pods),
        "created_at": created,
        "ttl": annotations.get(TTL),
        "expires_at": expires,
        "expired": is_expired(expires, now),
        "chart_version": chart_version_from_label(meta.get("labels")),
        "kubeconfig_path": kubeconfig_path,
    }


def default_kubeconfig_dir(home=None):
    """``~/.ghost/kubeconfigs`` (``home`` replaces ``~`` when given)."""
    base = home if home is not None else os.path.expanduser("~")
    return os.path.join(base, ".ghost", "kubeconfigs")


def kubeconfig_path(directory, namespace, name):
    """``<directory>/<namespace>/<name>.yaml``: one file per vcluster, whatever the namespace.

    Namespace-qualified, so deleting vcluster ``foo`` of one namespace never removes the
    kubeconfig of a live ``foo`` in another.
    """
    return os.path.join(directory, namespace, "%s.yaml" % name)


def default_kubeconfig_path(name, namespace, home=None):
    """``~/.ghost/kubeconfigs/<namespace>/<name>.yaml`` (``home`` replaces ``~`` when given)."""
    return kubeconfig_path(default_kubeconfig_dir(home), namespace, name)


def kubeconfig_dest(dest, name, namespace, home=None):
    """Where the kubeconfig of vcluster ``namespace/name`` goes: ``dest`` made absolute, else the default path."""
    if dest:
        return os.path.abspath(os.path.expanduser(dest))
    return default_kubeconfig_path(name, namespace, home)


def values_documents(values, kubernetes_version):
    """The values documents handed to the CLI: ``values``, then the Kubernetes version pin, which wins."""
    documents = [values] if values else []
    pinned = kubernetes_version_values(kubernetes_version)
    if pinned:
        documents.append(pinned)
    return documents


def describe_pods(pods):
    """'pod vc-0 Running (not Ready), ...' for messages, or 'no vcluster pod yet'."""
    if not pods:
        return "no vcluster pod yet"
    parts = []
    for pod in pods:
        st = pod.get("status") or {}
        parts.append("pod %s %s%s" % (pod["metadata"]["name"], st.get("phase") or "Unknown",
                                      "" if pod_ready(pod) else " (not Ready)"))
    return ", ".join(parts)


def public(view):
    """A summary without internal keys (the config hash is for the diff only)."""
    return {key: value for key, value in view.items() if key != "config_hash"}


def absent_view(before, name, namespace, kubeconfig_path):
    """The ``vcluster`` the vcluster module returns for a deletion: the vcluster as it was (or only
    its name and namespace when just a local kubeconfig was left) and the kubeconfig path removed.
    """
    view = public(before) if before else {"name": name, "namespace": namespace}
    view["kubeconfig_path"] = kubeconfig_path
    return view


def vcluster_view(found, *, kubeconfig_path, server=None):
    """The ``vcluster`` the vcluster module returns for state=present: the summary ``found`` without
    internal keys, with the local kubeconfig path and the API server URL of the exported kubeconfig.
    """
    view = public(found)
    view["kubeconfig_path"] = kubeconfig_path
    view["server"] = server
    return view


_SERVER_RE = re.compile(r"^https?://[^\s/]+(/\S*)?$")


def validate_server(server):
    """An API server URL such as ``https://vc.example.com:8443``."""
    if server is None:
        return None
    if not _SERVER_RE.match(server):
        raise GhostError("'%s' is not an API server URL such as https://vc.example.com:443" % server,
                         option="server")
    return server.rstrip("/")


def rewrite_server(kubeconfig, server):
    """A copy of the kubeconfig dict with every cluster's ``server`` set to ``server``."""
    out = copy.deepcopy(kubeconfig)
    if not server:
        return out
    for entry in out.get("clusters") or []:
        cluster = entry.get("cluster")
        if isinstance(cluster, dict):
            cluster["server"] = server
    return out


def kubeconfig_servers(kubeconfig):
    """The API server URLs a kubeconfig dict points at."""
    return [(entry.get("cluster") or {}).get("server") for entry in (kubeconfig or {}).get("clusters") or []
            if isinstance(entry, dict) and (entry.get("cluster") or {}).get("server")]


def kubeconfig_secrets(kubeconfig):
    """Every credential in a kubeconfig dict (tokens, passwords, client keys), for no_log."""
    found = []
    for entry in (kubeconfig or {}).get("users") or []:
        user = (entry or {}).get("user") or {}
        for field in SECRET_USER_FIELDS:
            value = user.get(field)
            if isinstance(value, str) and value:
                found.append(value)
    return found
