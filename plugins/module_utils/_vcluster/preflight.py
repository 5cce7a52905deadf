# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`ghostctl init` as checks: is everything there to run vclusters from here? Private to ghost.infra.

Each check returns ``{"name", "ok", "detail", "fix"}``; a failed one carries the message
ghostctl gives (``vcluster CLI not found in PATH``, ``failed to connect to Kubernetes
cluster``, ``failed to create namespace``, ``failed to initialize metadata store``) and what to
do about it. Nothing is created: the namespace check asks the API server whether it *could* be
created (SelfSubjectAccessReview), the store check whether the folders could be written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import to_dict
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import cli
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.client import KUBERNETES, VclusterClient

_VERSION_RE = re.compile(r"v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)")
VERSION_TIMEOUT = 30


def parse_version(output):
    """``0.30.0`` from ``vcluster version 0.30.0`` (or helm's ``v3.19.5+g...``), else None."""
    match = _VERSION_RE.search(output or "")
    return match.group(1) if match else None


def version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version or "")[:3])


def check(name, ok, detail, fix=None):
    return {"name": name, "ok": bool(ok), "detail": detail, "fix": None if ok else fix}


def writable(path):
    """Whether ``path`` could be created or written: the nearest existing folder is writable."""
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return False, current
        current = parent
    return os.path.isdir(current) and os.access(current, os.W_OK | os.X_OK), current


class PreflightClient(VclusterClient):
    """The host-cluster reads of the checks."""

    API_VERSIONS = dict(VclusterClient.API_VERSIONS, SelfSubjectAccessReview="authorization.k8s.io/v1")

    def server_version(self):
        api_client = self.svc.client.client.client  # kubernetes.core K8SClient -> DynamicClient -> ApiClient
        return KUBERNETES.require().client.VersionApi(api_client).get_code(_request_timeout=(5, 15)).git_version

    def can(self, verb, resource, namespace=None, group=""):
        """Whether this user may ``verb`` ``resource``: ``(allowed, the authorizer's reason)``."""
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {},
                  "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                                  "namespace": namespace}}}
        try:  # not K8sClient.create: a review has no name (its metadata must be empty)
            answer = to_dict(self.svc.client.create(self.resource("SelfSubjectAccessReview"), review)) or {}
        except Exception as exc:
            raise GhostError("cannot ask whether it may %s %s: %s" % (verb, resource, api_error_message(exc)))
        status = answer.get("status") or {}
        return bool(status.get("allowed")), status.get("reason") or status.get("evaluationError")


def cli_check(binary, environ, *, runner=cli.run_process, minimum=None):
    """vcluster CLI present, and its version (at least ``minimum``)."""
    try:
        path = cli.find_binary(binary or "vcluster", environ)
    except GhostError as exc:
        found = exc.msg.split(": ", 1)[-1].replace("; " + cli.INSTALL_HINT, "")  # the hint goes to fix
        return check("vcluster_cli", False, "vcluster CLI not found in PATH: %s" % found, cli.INSTALL_HINT), None
    try:
        rc, out, err = runner([path, "version"], dict(environ), None, VERSION_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return check("vcluster_cli", False, "cannot run %s version: %s" % (path, exc), cli.INSTALL_HINT), None
    version = parse_version(out + "\n" + err) if rc == 0 else None
    if version is None:
        return check("vcluster_cli", False, "`%s version` failed (exit %d): %s" % (
            path, rc, cli.clean_output(out + "\n" + err) or "no output"), cli.INSTALL_HINT), None
    if minimum and version_tuple(version) < version_tuple(minimum):
        return check("vcluster_cli", False, "vcluster CLI %s at %s is older than %s" % (version, path, minimum),
                     "install vcluster %s or newer (%s)" % (minimum, cli.INSTALL_HINT)), version
    return check("vcluster_cli", True, "vcluster CLI %s found at %s" % (version, path)), version


def helm_check(environ, *, runner=cli.run_process):
    """helm present (`vcluster create` and `helm uninstall` run it)."""
    try:
        path = cli.find_binary("helm", environ, option=None, label="helm", hint=cli.HELM_HINT)
    except GhostError:
        return check("helm", False, "helm not found in PATH (%s)" % environ.get("PATH", ""), cli.HELM_HINT), None
    try:
        rc, out, err = runner([path, "version", "--short"], dict(environ), None, VERSION_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return check("helm", False, "cannot run %s version: %s" % (path, exc), cli.HELM_HINT), None
    version = parse_version(out) if rc == 0 else None
    if version is None:
        return check("helm", False, "`%s version` failed (exit %d)" % (path, rc), cli.HELM_HINT), None
    return check("helm", True, "helm %s found at %s" % (version, path)), version


def host_checks(connect_api, namespace):
    """The host API answers, and ``namespace`` exists or may be created. ``connect_api()`` gives a
    PreflightClient (or raises GhostError)."""
    fix = ("make sure the kubeconfig (K8S_AUTH_KUBECONFIG, ~/.kube/config or the module's kubeconfig/context/host "
           "options) points at the host cluster and that it is reachable from here")
    try:
        api = connect_api()
        version = api.server_version()
    except Exception as exc:  # GhostError from connect, or the client's own errors
        message = getattr(exc, "msg", None) or str(exc).splitlines()[0]
        return [check("host_api", False, "failed to connect to Kubernetes cluster: %s" % message, fix),
                check("namespace", False, "not checked: the host cluster is not reachable", fix)], None
    checks = [check("host_api", True, "connected to Kubernetes %s" % version)]
    try:
        if api.namespace(namespace) is not None:
            checks.append(check("namespace", True, "namespace already exists: %s" % namespace))
            return checks, version
        allowed, reason = api.can("create", "namespaces")
    except GhostError as exc:
        checks.append(check("namespace", False, "failed to create namespace %r: %s" % (namespace, exc.msg),
                            "create namespace %s as an administrator, or grant create on namespaces" % namespace))
        return checks, version
    if allowed:
        checks.append(check("namespace", True, "namespace %s does not exist yet and may be created" % namespace))
    else:
        checks.append(check("namespace", False, "failed to create namespace %r: the user may not create namespaces%s"
                            % (namespace, " (%s)" % reason if reason else ""),
                            "create namespace %s as an administrator (kubectl create namespace %s), or grant "
                            "create on namespaces" % (namespace, namespace)))
    return checks, version


def store_check(folders):
    """The private folders (kubeconfigs, cluster registry) can be written."""
    blocked = []
    for folder in folders:
        ok, where = writable(folder)
        if not ok:
            blocked.append("%s (%s is not writable)" % (folder, where))
    if blocked:
        return check("store", False, "failed to initialize metadata store: cannot write %s" % ", ".join(blocked),
                     "make the folder writable for the user running the module, or point HOME (or "
                     "kubeconfig_dest) elsewhere")
    return check("store", True, "store writable: %s" % ", ".join(folders))


def summary(checks):
    """The failure message of the failed checks (None when all passed)."""
    failed = [c for c in checks if not c["ok"]]
    if not failed:
        return None
    return "Preflight failed: " + "; ".join("%s (fix: %s)" % (c["detail"], c["fix"]) for c in failed)
