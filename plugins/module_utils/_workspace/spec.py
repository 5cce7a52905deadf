# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure rules of the workspace module. Private to ghost.infra; no compatibility promise.

GuildNet's Workspace reconciler without the operator: the option checks, which kind of image
this is (code-server, an unprivileged nginx-like web server, anything else), the Deployment,
Service, Secret and PersistentVolumeClaim a workspace is made of, what of a stored object a
comparison or a diff looks at, and the status GuildNet reports (phase, ready replicas, service
DNS and IP, the URL through the API server's service proxy). Plain data in, plain data out;
nothing here imports ansible or an SDK, every error is a GhostError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import re

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import mask_secrets

NAME_MAX = 53
_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_ENV_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

FLAVORS = ("auto", "code-server", "nginx", "plain")
EXPOSURES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer"}
PASSWORD_KEY = "PASSWORD"
CONTAINER = "workspace"
MANAGED_BY = "ghost.infra"
LABEL_WORKSPACE = "ghost.infra/workspace"
CREATED_FOR = "ghost.infra/created-for-workspace"
DEFAULT_NGINX_UID = 101
CODE_SERVER_UID = 1000
# Where a flavor's data volume goes, and what an unprivileged nginx must be able to write.
DATA_PATHS = {"code-server": "/home/coder", "nginx": "/usr/share/nginx/html", "plain": "/data"}
NGINX_WRITABLE = (("cache", "/var/cache/nginx"), ("run", "/var/run"), ("tmp", "/tmp"))
# The lifetime record (_common/lifetime.py) as annotations of the workspace's Deployment, the
# object that stands for the workspace (it carries LABEL_WORKSPACE, as the info module lists).
LIFETIME_ANNOTATIONS = {"ttl": "ghost.infra/ttl", "expires_at": "ghost.infra/expires-at",
                        "renewed_at": "ghost.infra/renewed-at"}

RUNNING = "Running"
PENDING = "Pending"
FAILED = "Failed"


# ---------------------------------------------------------------- options

def validate_info(params):
    """The info module's filters (name, namespace), checked before a cluster is reached."""
    name = params.get("name")
    if name is not None and (len(name) > NAME_MAX or not _NAME_RE.match(name)):
        raise GhostError("'%s' is not a valid workspace name" % name, option="name")
    namespace = params.get("namespace")
    if namespace is not None and (len(namespace) > 63 or not _LABEL_RE.match(namespace)):
        raise GhostError("'%s' is not a valid namespace: a DNS-1123 label" % namespace, option="namespace")
    return dict(params)


def validate(params):
    """The workspace options, checked before anything is reached; returns a normalised copy."""
    options = dict(params)
    name = params.get("name")
    if not isinstance(name, str) or len(name) > NAME_MAX or not _NAME_RE.match(name):
        raise GhostError("'%s' is not a valid workspace name: use at most %d lowercase letters, digits and '-', "
                         "starting with a letter and ending with a letter or digit (it names a Service)" % (
                             name, NAME_MAX), option="name")
    namespace = params.get("namespace") or "default"
    if len(namespace) > 63 or not _LABEL_RE.match(namespace):
        raise GhostError("'%s' is not a valid namespace: a DNS-1123 label" % namespace, option="namespace")
    options["namespace"] = namespace
    if options.get("state", "present") == "absent":
        return options
    # The expiry options are checked here too, so bad ones fail before a cluster is reached.
    lifetime.parse_ttl(params.get("ttl"))
    lifetime.parse_ttl(params.get("max_ttl"), option="max_ttl")
    if params.get("expires_at") is not None:
        lifetime.parse_rfc3339(params["expires_at"])
    if not params.get("image"):
        raise GhostError("an image is required with state=present", option="image")
    options["flavor"] = flavor(params["image"], params.get("flavor") or "auto")
    ports = list(params.get("ports") or [8080])
    for port in ports:
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise GhostError("%r is not a TCP port (1-65535)" % (port,), option="ports")
    if len(set(ports)) != len(ports):
        raise GhostError("each port may appear once", option="ports")
    options["ports"] = ports
    env = {}
    for key, value in (params.get("env") or {}).items():
        if not _ENV_RE.match(str(key)) or key == PASSWORD_KEY:
            raise GhostError("'%s' is not a usable environment variable name%s" % (
                key, " (PASSWORD comes from the password option)" if key == PASSWORD_KEY else ""), option="env")
        if isinstance(value, (dict, list)):
            raise GhostError("'%s' must be a string, number or boolean, not a %s" % (
                key, "mapping" if isinstance(value, dict) else "list"), option="env")
        env[str(key)] = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    options["env"] = env
    run_as = params.get("run_as_user")
    if run_as is not None and not 0 <= run_as <= 2147483647:
        raise GhostError("must be at least 0 and at most 2147483647 (a user id), got %r" % (run_as,),
                         option="run_as_user")
    if params.get("storage") is not None and not _QUANTITY_RE.match(str(params["storage"])):
        raise GhostError("'%s' is not a size such as 5Gi or 500Mi" % params["storage"], option="storage")
    if (params.get("exposure") or "clusterip") not in EXPOSURES:
        raise GhostError("'%s' is not one of %s" % (params["exposure"], ", ".join(EXPOSURES)), option="exposure")
    options["exposure"] = params.get("exposure") or "clusterip"
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout <= 0:
        raise GhostError("must be a positive number of seconds, not %s" % timeout, option="wait_timeout")
    return options


def _repository(image):
    """The repository part of an image reference (no tag, no digest), lower case."""
    ref = image.split("@", 1)[0].lower()
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[:len(ref) - len(last)] + last.split(":", 1)[0]
    return ref


def flavor(image, wanted="auto"):
    """``code-server``, ``nginx`` (unprivileged nginx-like web server) or ``plain``."""
    if wanted not in FLAVORS:
        raise GhostError("'%s' is not one of %s" % (wanted, ", ".join(FLAVORS)), option="flavor")
    if wanted != "auto":
        return wanted
    repository = _repository(image)
    if "code-server" in repository:
        return "code-server"
    if "nginx" in repository:
        return "nginx"
    return "plain"


# ---------------------------------------------------------------- names

def secret_name(name):
    return "%s-auth" % name


def claim_name(name):
    return "%s-data" % name


def labels(name):
    return {"app.kubernetes.io/name": "workspace", "app.kubernetes.io/instance": name,
            "app.kubernetes.io/managed-by": MANAGED_BY, LABEL_WORKSPACE: name}


def selector(name):
    return {"app.kubernetes.io/instance": name, LABEL_WORKSPACE: name}


def selector_text(name):
    return ",".join("%s=%s" % item for item in sorted(selector(name).items()))


# ---------------------------------------------------------------- desired objects

def _meta(options, name):
    return {"name": name, "namespace": options["namespace"], "labels": labels(options["name"])}


def secret(options, password):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": _meta(options, secret_name(options["name"])),
            "data": {PASSWORD_KEY: base64.b64encode(password.encode("utf-8")).decode("ascii")}}


def claim(options):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": str(options["storage"])}}}
    if options.get("storage_class") is not None:
        spec["storageClassName"] = options["storage_class"]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(options, claim_name(options["name"])),
            "spec": spec}


def _container(options):
    name = options["name"]
    port = options["ports"][0]
    env = [{"name": key, "value": value} for key, value in sorted(options["env"].items())]
    env.append({"name": PASSWORD_KEY, "valueFrom": {"secretKeyRef": {"name": secret_name(name), "key": PASSWORD_KEY}}})
    container = {"name": CONTAINER, "image": options["image"],
                 "ports": [{"name": "p%d" % p, "containerPort": p, "protocol": "TCP"} for p in options["ports"]],
                 "env": env, "volumeMounts": []}
    kind = options["flavor"]
    if kind == "code-server":
        container["env"].insert(0, {"name": "PORT", "value": str(port)})
        container["args"] = ["--bind-addr", "0.0.0.0:%d" % port, "--auth", "password"]
        container["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 5}
    else:
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 5}
    if kind == "nginx":
        uid = options.get("run_as_user") or DEFAULT_NGINX_UID
        container["securityContext"] = {
            "runAsUser": uid, "runAsGroup": uid, "runAsNonRoot": True, "allowPrivilegeEscalation": False}
        container["volumeMounts"] += [{"name": volume, "mountPath": path} for volume, path in NGINX_WRITABLE]
    if options.get("storage"):
        container["volumeMounts"].append({"name": "data", "mountPath": DATA_PATHS[kind]})
    if not container["volumeMounts"]:
        del container["volumeMounts"]
    return container


def deployment(options, record=None):
    """The Deployment: one replica, replaced (not rolled) so a ReadWriteOnce claim is never held
    twice; it carries the lifetime ``record`` as annotations."""
    name = options["name"]
    kind = options["flavor"]
    pod = {"containers": [_container(options)]}
    volumes = []
    if kind == "nginx":
        uid = options.get("run_as_user") or DEFAULT_NGINX_UID
        volumes += [{"name": volume, "emptyDir": {}} for volume, _path in NGINX_WRITABLE]
        paths = " ".join(path for _volume, path in NGINX_WRITABLE)
        # emptyDirs start root-owned; the web server runs as uid, so hand them over first.
        pod["initContainers"] = [{
            "name": "fix-permissions", "image": options["image"],
            "command": ["sh", "-c", "chown -R %d:%d %s" % (uid, uid, paths)],
            "securityContext": {"runAsUser": 0},
            "volumeMounts": [{"name": volume, "mountPath": path} for volume, path in NGINX_WRITABLE]}]
        pod["securityContext"] = {"fsGroup": uid}
    elif kind == "code-server":
        pod["securityContext"] = {"fsGroup": CODE_SERVER_UID}
    if options.get("storage"):
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": claim_name(name)}})
    if volumes:
        pod["volumes"] = volumes
    meta = _meta(options, name)
    if record:
        meta["annotations"] = lifetime_annotations(record)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": selector(name)},
                     "template": {"metadata": {"labels": labels(name)}, "spec": pod}}}


def service(options):
    """The Service: every port, endpoints published before the pods are ready (GuildNet's proxy
    waits on the workspace itself, not on Kubernetes' readiness)."""
    name = options["name"]
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(options, name),
            "spec": {"type": EXPOSURES[options["exposure"]], "selector": selector(name),
                     "publishNotReadyAddresses": True,
                     "ports": [{"name": "p%d" % p, "port": p, "targetPort": p, "protocol": "TCP"}
                               for p in options["ports"]]}}


def desired(options, *, password, record=None):
    """Every object of a workspace, in the order they are applied; ``password`` None leaves the
    Secret out (it exists and keeps the password it has). ``record``: its lifetime record,
    always given in full (an apply drops annotations it no longer carries)."""
    objects = []
    if password is not None:
        objects.append(secret(options, password))
    if options.get("storage"):
        objects.append(claim(options))
    objects += [deployment(options, record), service(options)]
    return objects


# ---------------------------------------------------------------- lifetime

def lifetime_annotations(record):
    """The Deployment annotations of a lifetime record (only the fields it has)."""
    return {LIFETIME_ANNOTATIONS[key]: value for key, value in (record or {}).items()
            if key in LIFETIME_ANNOTATIONS and value}


def lifetime_record(obj):
    """The lifetime record stored on an object's annotations (``{}`` when none)."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    return {key: annotations[name] for key, name in LIFETIME_ANNOTATIONS.items() if annotations.get(name)}


def lifetime_view(record, now):
    """``expires_at``, ``expired`` and ``ttl`` as results and info records show them."""
    view = lifetime.status(record, now)
    view["ttl"] = (record or {}).get("ttl") or None
    return view


# ---------------------------------------------------------------- comparison and views

_SERVER_META = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp", "selfLink")


def comparable(obj):
    """What a comparison of two versions of an object looks at: no status, no server bookkeeping."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _SERVER_META:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("deployment.kubernetes.io/revision", None)
    if not annotations:
        meta.pop("annotations", None)
    return out


def diff_view(objects):
    """``{"Kind/name": comparable object}`` with every Secret value masked."""
    out = {}
    for obj in objects:
        if obj is None:
            continue
        view = comparable(obj)
        if view.get("kind") == "Secret":
            view = mask_secrets(view, ("data", "stringData"))
        out["%s/%s" % (view["kind"], view["metadata"]["name"])] = view
    return out


def _condition(obj, kind):
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def available(deploy):
    """Whether the Deployment is Available for its current generation."""
    if deploy is None:
        return False
    status = deploy.get("status") or {}
    if (status.get("observedGeneration") or 0) < ((deploy.get("metadata") or {}).get("generation") or 0):
        return False
    condition = _condition(deploy, "Available")
    return bool(condition and condition.get("status") == "True" and status.get("readyReplicas"))


def phase(deploy):
    """GuildNet's Workspace phase: Running (Available), Failed (its rollout gave up), else Pending."""
    if available(deploy):
        return RUNNING
    progressing = _condition(deploy, "Progressing")
    if progressing and progressing.get("status") == "False":
        return FAILED
    return PENDING


def proxy_url(server, namespace, name, port):
    """The workspace's HTTP port through the API server's service proxy (reachable wherever the API is)."""
    if not server:
        return None
    return "%s/api/v1/namespaces/%s/services/http:%s:%d/proxy/" % (server.rstrip("/"), namespace, name, port)


def workspace_view(options, *, deploy, svc, server, cluster_id, record=None, now=None):
    """The ``workspace`` the module returns: what GuildNet puts in a Workspace's status and its
    lifetime (``record`` at ``now``), no secret."""
    name = options["name"]
    namespace = options["namespace"]
    spec = (svc or {}).get("spec") or {}
    ingress = (((svc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ports = options.get("ports") or [p.get("port") for p in spec.get("ports") or []]
    node_port = next((p.get("nodePort") for p in spec.get("ports") or [] if p.get("nodePort")), None)
    cluster_ip = spec.get("clusterIP")
    view = {
        "name": name,
        "namespace": namespace,
        "cluster": cluster_id,
        "image": options.get("image"),
        "flavor": options.get("flavor"),
        "ports": ports,
        "exposure": options.get("exposure"),
        "phase": phase(deploy) if deploy is not None else None,
        "ready_replicas": ((deploy or {}).get("status") or {}).get("readyReplicas") or 0,
        "service_name": name,
        "service_dns": "%s.%s.svc.cluster.local" % (name, namespace),
        "service_ip": cluster_ip if cluster_ip and cluster_ip != "None" else None,
        "node_port": node_port,
        "load_balancer": (ingress[0].get("hostname") or ingress[0].get("ip")) if ingress else None,
        "proxy_url": proxy_url(server, namespace, name, ports[0]) if ports else None,
        "password_secret": {"name": secret_name(name), "key": PASSWORD_KEY},
        "storage_claim": claim_name(name) if options.get("storage") else None,
    }
    view.update(lifetime_view(record, now))
    return view


def flavor_of(deploy):
    """How a stored workspace Deployment runs its image, read from what deployment() wrote."""
    pod = (((deploy or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    if any(c.get("name") == "fix-permissions" for c in pod.get("initContainers") or []):
        return "nginx"
    container = next((c for c in pod.get("containers") or [] if c.get("name") == CONTAINER), {})
    if "--bind-addr" in (container.get("args") or []):
        return "code-server"
    return "plain"


def info_record(deploy, now):
    """One workspace as the info module lists it, from its Deployment: no secret."""
    meta = deploy.get("metadata") or {}
    pod = ((deploy.get("spec") or {}).get("template") or {}).get("spec") or {}
    container = next((c for c in pod.get("containers") or [] if c.get("name") == CONTAINER), {})
    out = {"name": (meta.get("labels") or {}).get(LABEL_WORKSPACE) or meta.get("name"),
           "namespace": meta.get("namespace"), "image": container.get("image"), "flavor": flavor_of(deploy),
           "ready": available(deploy), "phase": phase(deploy),
           "ready_replicas": (deploy.get("status") or {}).get("readyReplicas") or 0}
    out.update(lifetime_view(lifetime_record(deploy), now))
    return out


def info_selector(name=None):
    """The label selector of the workspace Deployments the collection made (``name``: that one)."""
    return "app.kubernetes.io/managed-by=%s,%s" % (MANAGED_BY, "%s=%s" % (LABEL_WORKSPACE, name) if name
                                                   else LABEL_WORKSPACE)


def describe_pods(pods):
    """'pod ws-1 Pending (Unschedulable: ...)' for a timeout message, or 'no pod yet'."""
    if not pods:
        return "no pod yet"
    parts = []
    for pod in pods:
        status = pod.get("status") or {}
        why = [c.get("reason") or c.get("message") for c in status.get("conditions") or []
               if c.get("status") == "False" and (c.get("reason") or c.get("message"))]
        parts.append("pod %s %s%s" % (pod["metadata"]["name"], status.get("phase") or "Unknown",
                                      " (%s)" % ", ".join(why) if why else ""))
    return ", ".join(parts)
