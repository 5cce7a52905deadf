# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure rules of the cluster registry. Private to ghost.infra; no compatibility promise.

Cluster ids, the ``store`` option, GuildNet join artifacts, choosing one context of a
kubeconfig and making it self-contained, the CA fingerprint, the record kept per cluster, what
decides a change and what a diff shows, the cause of a failed pre-warm, and the merged
kubeconfig. Plain data in, plain data out; nothing here imports ansible or an SDK (YAML is
parsed and written by the caller), every error is a GhostError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import json
import os
import re

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ID_MAX = 63
RECORD_VERSION = 1

# The Kubernetes store: one Secret per cluster in the namespace of ``store: k8s:<namespace>``.
STORE_K8S_PREFIX = "k8s:"
SECRET_PREFIX = "ghost-cluster-"
SECRET_KEY = "kubeconfig"
LABEL_REGISTRY = "ghost.infra/registry"
LABEL_ID = "ghost.infra/cluster-id"
ANNOTATION_RECORD = "ghost.infra/record"
# The expiry of a registration (not of the cluster): the lifetime record (_common/lifetime.py).
# In the folder store these are fields of the JSON record; the Kubernetes store keeps them as
# annotations of the Secret beside ANNOTATION_RECORD, under the names every backend uses.
LIFETIME_FIELDS = lifetime.FIELDS
LIFETIME_ANNOTATIONS = {"ttl": "ghost.infra/ttl", "expires_at": "ghost.infra/expires-at",
                        "renewed_at": "ghost.infra/renewed-at"}

# Record fields that decide whether a join changes anything (with the kubeconfig bytes); the
# timestamps and the pre-warm result do not, so re-joining the same content is no change.
DECIDING = ("id", "name", "source", "server", "context", "cluster_name", "user_name", "ca_fingerprint",
            "labels", "settings", "kubeconfig_path", "vcluster") + LIFETIME_FIELDS
# What a diff shows of a record: names, addresses and expiry, never credentials.
DIFF_FIELDS = ("id", "name", "server", "context", "cluster_name", "user_name", "labels", "ttl", "expires_at")

# kubeconfig keys naming a file, and the key that carries the same content inline.
_FILE_KEYS = {
    "clusters": (("certificate-authority", "certificate-authority-data", True),),
    "users": (("client-certificate", "client-certificate-data", True),
              ("client-key", "client-key-data", True),
              ("tokenFile", "token", False)),
}
# User fields that hold credentials (a client certificate is hidden with its key).
SECRET_USER_FIELDS = ("token", "password", "client-key-data", "client-certificate-data")

CAUSES = ("dns", "tls", "unauthorized", "forbidden", "timeout", "refused", "unreachable", "error")
_DNS = re.compile(r"NameResolutionError|gaierror|Name or service not known|nodename nor servname|"
                  r"Temporary failure in name resolution|No address associated|getaddrinfo failed|Failed to resolve",
                  re.I)
_TIMEOUT = re.compile(r"TimeoutError|timed out|timeout", re.I)
_TLS = re.compile(r"SSL|TLS|CERTIFICATE_VERIFY_FAILED|certificate verify failed|wrong version number|"
                  r"hostname mismatch|doesn't match|X509", re.I)
_REFUSED = re.compile(r"Connection refused|ConnectionRefusedError|Errno 111\b", re.I)
_UNREACHABLE = re.compile(r"No route to host|Network is unreachable|Host is unreachable|Errno 11[03]\b", re.I)
_FIXES = {
    "dns": "the server name of %(server)s does not resolve from here; check the address in the kubeconfig",
    "tls": ("TLS verification of %(server)s failed; check that the kubeconfig's certificate-authority "
            "is the CA of this API server and that the server name is in its certificate"),
    "unauthorized": ("%(server)s rejected the credentials (HTTP 401 Unauthorized); the token or client "
                     "certificate is wrong or has expired"),
    "forbidden": ("%(server)s accepted the credentials but refused the request (HTTP 403 Forbidden); the user "
                  "needs get on /version and list on namespaces"),
    "timeout": "%(server)s did not answer within %(timeout)ss",
    "refused": "nothing listens at %(server)s (connection refused)",
    "unreachable": "%(server)s is unreachable from here (no route)",
    "error": "%(server)s failed the request",
}


# ---------------------------------------------------------------- options

def validate_id(value, option="id"):
    """A cluster id: DNS-1123 label of at most 63 characters (it names a Secret, a file and a context)."""
    if not isinstance(value, str) or len(value) > ID_MAX or not _LABEL_RE.match(value):
        raise GhostError(
            "'%s' is not a valid cluster id: use at most %d lowercase letters, digits and '-', starting and "
            "ending with a letter or digit (a DNS-1123 label)" % (value, ID_MAX), option=option)
    return value


def default_folder(home=None):
    """``~/.ghost/clusters`` (``home`` replaces ``~`` when given)."""
    base = home if home is not None else os.path.expanduser("~")
    return os.path.join(base, ".ghost", "clusters")


def parse_store(value, home=None):
    """The ``store`` option: ``{"kind": "folder", "path": ...}`` or ``{"kind": "k8s", "namespace": ...}``.

    Empty means the default folder; ``k8s:<namespace>`` the Kubernetes store; anything else is a
    folder path (``~`` expanded, made absolute).
    """
    if value is None or str(value).strip() == "":
        return {"kind": "folder", "path": default_folder(home)}
    text = str(value).strip()
    if text.startswith(STORE_K8S_PREFIX):
        namespace = text[len(STORE_K8S_PREFIX):]
        if not namespace or len(namespace) > 63 or not _LABEL_RE.match(namespace):
            raise GhostError("'%s' does not name a namespace: write k8s:<namespace>, such as k8s:ghost-registry"
                             % text, option="store")
        return {"kind": "k8s", "namespace": namespace}
    if home is not None and (text == "~" or text.startswith("~/")):
        text = home + text[1:]
    return {"kind": "folder", "path": os.path.abspath(os.path.expanduser(text))}


def positive_timeout(value, option):
    if value is None or value <= 0:
        raise GhostError("must be a positive number of seconds, not %s" % value, option=option)
    return value


def validate_labels(labels, option="labels"):
    """``labels``: a flat mapping of strings (numbers and booleans become text)."""
    out = {}
    for key, value in (labels or {}).items():
        if isinstance(value, (dict, list)) or value is None:
            raise GhostError("label '%s' must be a string, not %s" % (key, type(value).__name__), option=option)
        out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


# ---------------------------------------------------------------- join artifacts and kubeconfigs

def join_artifact(document):
    """A GuildNet join artifact (``{"cluster": {"kubeconfig": ..., "name": ..., hints...}, ...}``).

    Returns ``{"kubeconfig": text or dict, "name": str or None, "settings": {hint: value}}``. Hints
    are the other scalar keys of ``cluster`` (namespace, ingress_domain, api_proxy_url...); every
    other section (``ui``, ``hostapp``, ``tailscale`` with its pre-auth key) is ignored.
    """
    if not isinstance(document, dict):
        raise GhostError("the join file is not a JSON or YAML mapping", option="join_file")
    cluster = document.get("cluster")
    if not isinstance(cluster, dict):
        raise GhostError("the join file has no 'cluster' section", option="join_file")
    kubeconfig = cluster.get("kubeconfig")
    if not kubeconfig or not isinstance(kubeconfig, (str, dict)):
        raise GhostError("the join file's cluster.kubeconfig is empty: generate it with a kubeconfig",
                         option="join_file")
    name = cluster.get("name")
    settings = {key: value for key, value in cluster.items()
                if key not in ("kubeconfig", "name") and isinstance(value, (str, int, float, bool))
                and value not in ("", None)}
    return {"kubeconfig": kubeconfig, "name": str(name) if name else None, "settings": settings}


def _named(entries, name):
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def check_kubeconfig(document, option):
    """GhostError unless ``document`` looks like a kubeconfig (a mapping with clusters and contexts)."""
    if not isinstance(document, dict) or not isinstance(document.get("clusters"), list) or not document["clusters"]:
        raise GhostError("this is not a kubeconfig: it has no clusters", option=option)
    if not isinstance(document.get("contexts"), list) or not document["contexts"]:
        raise GhostError("the kubeconfig has no contexts", option=option)
    return document


def select_context(document, context, option):
    """A kubeconfig holding only one context, its cluster and its user, that context current.

    ``context`` picks it; without one, the kubeconfig's current-context, or its only context.
    """
    check_kubeconfig(document, option)
    names = [c.get("name") for c in document["contexts"] if isinstance(c, dict)]
    if context:
        chosen = context
        if chosen not in names:
            raise GhostError("the kubeconfig has no context '%s'; it has %s" % (context, ", ".join(map(str, names))),
                             option="context")
    elif document.get("current-context") in names:
        chosen = document["current-context"]
    elif len(names) == 1:
        chosen = names[0]
    else:
        raise GhostError("the kubeconfig has %d contexts and no current-context; choose one with the context "
                         "option (%s)" % (len(names), ", ".join(map(str, names))), option="context")
    entry = (_named(document["contexts"], chosen).get("context") or {})
    cluster = _named(document.get("clusters"), entry.get("cluster"))
    if cluster is None:
        raise GhostError("context '%s' names cluster '%s', which the kubeconfig does not define" % (
            chosen, entry.get("cluster")), option=option)
    out = {"apiVersion": "v1", "kind": "Config", "clusters": [copy.deepcopy(cluster)],
           "contexts": [{"name": chosen, "context": copy.deepcopy(entry)}], "current-context": chosen,
           "users": []}
    if entry.get("user"):
        user = _named(document.get("users"), entry["user"])
        if user is None:
            raise GhostError("context '%s' names user '%s', which the kubeconfig does not define" % (
                chosen, entry["user"]), option=option)
        out["users"].append(copy.deepcopy(user))
    if not (cluster.get("cluster") or {}).get("server"):
        raise GhostError("cluster '%s' of the kubeconfig has no server" % cluster.get("name"), option=option)
    return out


def flatten(document, read, base_dir, option):
    """A copy of ``document`` with every file it names inlined (``kubectl config view --flatten``).

    ``read(path)`` returns the bytes of a file; relative paths are relative to ``base_dir`` (the
    kubeconfig's folder). The stored kubeconfig must work where these files do not exist (a
    fresh AWX execution environment, another controller).
    """
    out = copy.deepcopy(document)
    for section, keys in _FILE_KEYS.items():
        for entry in out.get(section) or []:
            body = (entry or {}).get(section[:-1]) or {}
            for file_key, data_key, encode in keys:
                path = body.get(file_key)
                if not path:
                    continue
                full = path if os.path.isabs(os.path.expanduser(path)) else os.path.join(base_dir, path)
                try:
                    content = read(os.path.expanduser(full))
                except OSError as exc:
                    raise GhostError("cannot read %s %s named by %s '%s': %s" % (
                        file_key, full, section[:-1], entry.get("name"), exc), option=option)
                body.pop(file_key)
                body[data_key] = (base64.b64encode(content).decode("ascii") if encode
                                  else content.decode("utf-8").strip())
    return out


def _pem_certificates(data):
    """DER bytes of each certificate in PEM text."""
    text = data.decode("ascii", "replace")
    found = re.findall(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", text, re.S)
    out = []
    for block in found:
        try:
            out.append(base64.b64decode("".join(block.split())))
        except (ValueError, TypeError):
            continue
    return out


def ca_fingerprint(document):
    """``SHA256:AB:CD:...`` of the (first) CA certificate the kubeconfig trusts, or None.

    None when it trusts the system CAs or skips verification (see ``tls_verify``).
    """
    cluster = (document["clusters"][0].get("cluster") or {})
    data = cluster.get("certificate-authority-data")
    if not data:
        return None
    try:
        pem = base64.b64decode(data)
    except (ValueError, TypeError):
        return None
    certificates = _pem_certificates(pem)
    if not certificates:
        return None
    digest = hashlib.sha256(certificates[0]).hexdigest().upper()
    return "SHA256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def describe(document):
    """Names and addresses of a single-context kubeconfig (``select_context``'s output)."""
    context = document["contexts"][0]
    cluster = document["clusters"][0]
    return {
        "server": (cluster.get("cluster") or {}).get("server"),
        "context": context.get("name"),
        "cluster_name": cluster.get("name"),
        "user_name": (context.get("context") or {}).get("user"),
        "ca_fingerprint": ca_fingerprint(document),
        "tls_verify": not (cluster.get("cluster") or {}).get("insecure-skip-tls-verify", False),
    }


def kubeconfig_secrets(document):
    """Every credential in a kubeconfig dict (tokens, passwords, client certificates and keys)."""
    found = []
    for entry in (document or {}).get("users") or []:
        user = (entry or {}).get("user") or {}
        for field in SECRET_USER_FIELDS:
            value = user.get(field)
            if isinstance(value, str) and value:
                found.append(value)
        provider = (user.get("auth-provider") or {}).get("config") or {}
        found += [v for k, v in provider.items() if isinstance(v, str) and v and "token" in k.lower()]
    return found


# ---------------------------------------------------------------- records

def record(*, cluster_id, described, added, now, prewarm, labels=None, settings=None, name=None,
           source="join", kubeconfig_path=None, vcluster=None, expiry=None):
    """The record kept next to a cluster's kubeconfig (a JSON file, or a Secret annotation);
    ``expiry`` is its lifetime record (lifetime.wanted), whose fields it carries when set."""
    out = {"version": RECORD_VERSION, "id": cluster_id, "name": name, "source": source,
           "added": added or now, "updated": now, "prewarm": prewarm,
           "labels": dict(labels or {}), "settings": dict(settings or {}),
           "kubeconfig_path": kubeconfig_path, "vcluster": vcluster}
    for key in ("server", "context", "cluster_name", "user_name", "ca_fingerprint", "tls_verify"):
        out[key] = described.get(key)
    out.update(expiry_of(expiry))
    return out


def expiry_of(entry_record):
    """The lifetime record (``ttl``, ``expires_at``, ``renewed_at`` that are set) of a record."""
    return {key: (entry_record or {})[key] for key in LIFETIME_FIELDS if (entry_record or {}).get(key)}


def split_expiry(entry_record):
    """``(record without its lifetime fields, lifetime annotations)`` for the Kubernetes store;
    an unset field maps to None so a merge patch removes the annotation."""
    rest = {key: value for key, value in entry_record.items() if key not in LIFETIME_FIELDS}
    return rest, {LIFETIME_ANNOTATIONS[key]: entry_record.get(key) or None for key in LIFETIME_FIELDS}


def join_expiry(entry_record, annotations):
    """A record read from the Kubernetes store with the lifetime of its Secret's annotations."""
    out = {key: value for key, value in entry_record.items() if key not in LIFETIME_FIELDS}
    for key in LIFETIME_FIELDS:
        if (annotations or {}).get(LIFETIME_ANNOTATIONS[key]):
            out[key] = annotations[LIFETIME_ANNOTATIONS[key]]
    return out


def expiry_view(entry_record, now):
    """``expires_at``, ``expired`` and ``ttl`` of a registration at ``now`` (aware datetime)."""
    view = lifetime.status(expiry_of(entry_record), now)
    view["ttl"] = (entry_record or {}).get("ttl") or None
    return view


def encode_record(data):
    """The record's stored bytes: sorted JSON, so equal records are equal bytes."""
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def decode_record(data, where):
    """A stored record; GhostError naming ``where`` when it is not one."""
    try:
        out = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GhostError("the registry record %s is not JSON: %s" % (where, exc), option="store")
    if not isinstance(out, dict) or not out.get("id"):
        raise GhostError("the registry record %s has no id" % where, option="store")
    return out


def needs_change(current, wanted_record, wanted_kubeconfig):
    """Whether a stored entry (``{"record", "kubeconfig"}`` or None) differs from what is wanted."""
    if current is None:
        return True
    old = current.get("record") or {}
    if any(old.get(key) != wanted_record.get(key) for key in DECIDING):
        return True
    return current.get("kubeconfig") != wanted_kubeconfig


def diff_view(entry_record, *, credentials):
    """What ``--diff`` shows of a record: names, addresses and labels, and whether the
    credentials are the stored ones (``stored``) or replaced (``replaced``)."""
    if not entry_record:
        return {}
    out = {key: entry_record.get(key) for key in DIFF_FIELDS}
    out["credentials"] = credentials
    return out


def cluster_view(entry_record, *, store, kubeconfig_path, now):
    """The ``cluster`` cluster_join returns and each of cluster_info's ``clusters`` (no
    credentials), with the registration's expiry at ``now``."""
    rec = entry_record or {}
    view = {
        "id": rec.get("id"),
        "name": rec.get("name"),
        "source": rec.get("source"),
        "server": rec.get("server"),
        "context": rec.get("context"),
        "cluster_name": rec.get("cluster_name"),
        "user_name": rec.get("user_name"),
        "ca_fingerprint": rec.get("ca_fingerprint"),
        "tls_verify": rec.get("tls_verify", True),
        "labels": dict(rec.get("labels") or {}),
        "settings": dict(rec.get("settings") or {}),
        "added": rec.get("added"),
        "updated": rec.get("updated"),
        "prewarm": rec.get("prewarm"),
        "store": store,
        "kubeconfig_path": kubeconfig_path,
    }
    view.update(expiry_view(rec, now))
    return view


# ---------------------------------------------------------------- pre-warm and health outcomes

def classify(failure):
    """The cause of a failed request: one of CAUSES.

    ``failure`` is plain data: ``{"status": HTTP status or None, "chain": [[type name, message],
    ...], "timed_out": bool}`` (``timed_out``: the deadline passed before an answer).
    """
    status = failure.get("status")
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    if failure.get("timed_out"):
        return "timeout"
    text = "\n".join("%s: %s" % (kind, message) for kind, message in failure.get("chain") or [])
    for cause, pattern in (("dns", _DNS), ("timeout", _TIMEOUT), ("tls", _TLS), ("refused", _REFUSED),
                           ("unreachable", _UNREACHABLE)):
        if pattern.search(text):
            return cause
    return "error"


def _detail(failure):
    chain = failure.get("chain") or []
    if not chain:
        return None
    kind, message = chain[-1]
    first = (message or "").strip().splitlines()
    # An ApiException prints "(401)\nReason: Unauthorized\n..." -- the reason line says it.
    reason = [line for line in first if line.startswith("Reason:")]
    return "%s: %s" % (kind, (reason[0][len("Reason:"):].strip() if reason else (first[0] if first else "")))


def explain(cause, failure, *, server, timeout):
    """A sentence for a failed pre-warm or health check: what went wrong and what to check."""
    text = _FIXES[cause] % {"server": server, "timeout": timeout}
    detail = _detail(failure)
    if detail and cause not in ("timeout",):
        text += " [%s]" % detail
    return text


def outcome(result, *, server, timeout, at):
    """A probe's raw result as the ``prewarm`` / health dict: ok, versions and counts, or cause and error."""
    failure = result.get("failure")
    out = {"ok": failure is None, "at": at, "server_version": result.get("server_version"),
           "namespace_count": result.get("namespace_count"), "node_count": result.get("node_count"),
           "latency_ms": result.get("latency_ms"), "cause": None, "error": None}
    if failure is not None:
        out["cause"] = classify(failure)
        out["error"] = explain(out["cause"], failure, server=server, timeout=timeout)
    return out


# ---------------------------------------------------------------- the merged kubeconfig

def merge(entries, current_context=None):
    """One kubeconfig with a context, cluster and user named after each entry's id.

    ``entries`` are ``(id, single-context kubeconfig dict)`` pairs, in the order wanted.
    """
    out = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [], "users": [], "contexts": []}
    for cluster_id, document in entries:
        cluster = copy.deepcopy(document["clusters"][0].get("cluster") or {})
        context = copy.deepcopy(document["contexts"][0].get("context") or {})
        out["clusters"].append({"name": cluster_id, "cluster": cluster})
        if document.get("users"):
            out["users"].append({"name": cluster_id, "user": copy.deepcopy(document["users"][0].get("user") or {})})
            context["user"] = cluster_id
        context["cluster"] = cluster_id
        out["contexts"].append({"name": cluster_id, "context": context})
    ids = [cluster_id for cluster_id, _doc in entries]
    if current_context:
        if current_context not in ids:
            raise GhostError("'%s' is not one of the exported clusters (%s)" % (current_context, ", ".join(ids)),
                             option="current_context")
        out["current-context"] = current_context
    elif ids:
        out["current-context"] = ids[0]
    return out


def vcluster_id(name, namespace):
    """The registry id of vcluster ``namespace/name``: ``vc-<namespace>-<name>``, shortened with a
    hash when longer than a DNS-1123 label allows."""
    wanted = "vc-%s-%s" % (namespace, name)
    if len(wanted) <= ID_MAX:
        return wanted
    digest = hashlib.sha256(("%s/%s" % (namespace, name)).encode("utf-8")).hexdigest()[:8]
    return wanted[:ID_MAX - 9].rstrip("-") + "-" + digest
