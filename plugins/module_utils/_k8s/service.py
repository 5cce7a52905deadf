# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connecting to Kubernetes through kubernetes.core, and its errors. Private to ghost.infra.

Every Kubernetes-backed module (KubeVirt, vCluster) talks to the API through kubernetes.core's
``K8sService``. This file holds what they share about the connection:

- ``connect(module)``: ``K8sService`` over ``get_api_client(module)``, with connection
  problems raised as GhostError (``module`` is an ``AnsibleK8SModule`` or anything with
  ``params``, ``check_mode``, ``warn`` and ``requires``);
- ``api_error_message(exc)``: the API server's own message out of a kubernetes.core
  CoreException or a kubernetes client ApiException, instead of a raw JSON body;
- ``http_status(exc)``: the HTTP status behind such an error.

The connection options are in ``argspec.py``, the client base built on the service in
``client.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService


_CONFIG_PREFIX = re.compile(r"^(Could not create API client: )?(Invalid kube-config file\. ?)?")
_SERVICE_PREFIX = re.compile(r"^Failed to (?:create|retrieve|patch|replace|apply|delete) (?:requested )?object: ")


def connect(module):
    """A kubernetes.core K8sService for the module's connection options; GhostError when that fails."""
    try:
        client = get_api_client(module=module)
    except Exception as exc:  # CoreException, ConfigException, a bad kubeconfig path...
        fault = kubeconfig_fault((getattr(module, "params", None) or {}).get("kubeconfig"), exc)
        if fault:
            raise GhostError(fault, option="kubeconfig")
        raise GhostError("Failed to connect to the Kubernetes API: %s" % api_error_message(exc))
    return K8sService(client, module)


def kubeconfig_fault(path, exc):
    """What is wrong with the kubeconfig file ``path`` when loading it raised ``exc``, or None
    (the error is not the file's). The path is left out: kubernetes.core hides it (no_log)."""
    if not isinstance(path, str) or not path:
        return None
    name = type(exc).__name__
    config_error = name == "ConfigException" or "kube-config" in str(exc) or type(exc).__module__.startswith("yaml")
    if not config_error:
        return None
    if not os.path.exists(path):
        return "the file does not exist"
    if os.path.isdir(path):
        return "is a directory, not a kubeconfig file"
    if type(exc).__module__.startswith("yaml"):
        mark = getattr(exc, "problem_mark", None)
        return "the file is not YAML%s" % (" (line %d)" % (mark.line + 1) if mark is not None else "")
    text = str(exc).replace(path, "the file")
    return "the file is not a usable kubeconfig: %s" % _CONFIG_PREFIX.sub("", text)


def _body_message(body):
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return body.strip() if isinstance(body, str) and body.strip() else None
    if isinstance(data, dict) and data.get("message"):
        return data["message"]
    return None


def api_error_message(exc):
    """The most useful text for ``exc``: a Status ``message`` from the API server when there is one."""
    seen = exc
    while seen is not None:
        body = getattr(seen, "body", None)
        if body:
            message = _body_message(body)
            if message:
                status = getattr(seen, "status", None)
                return "%s (HTTP %s)" % (message, status) if status else message
        seen = seen.__cause__
    # K8sService prefixes its own text ("Failed to retrieve requested object: ..."); callers say
    # what failed themselves.
    return _SERVICE_PREFIX.sub("", str(exc))


def http_status(exc):
    """HTTP status of the API error behind ``exc`` (following __cause__), or None."""
    seen = exc
    while seen is not None:
        status = getattr(seen, "status", None)
        if isinstance(status, int):
            return status
        seen = seen.__cause__
    return None
