# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one Kubernetes client base of ghost.infra. Private to ghost.infra.

``K8sClient`` works over kubernetes.core's ``K8sService`` (``service.connect``) and its dynamic
client: a resource lookup cache, and get / list / create / patch / delete of plain dicts, every
failure a GhostError ``Failed to <verb> <Kind> '<namespace>/<name>': <the API server's
message>``. Its ``waiter`` (``waiter.Waiter``) is what every wait goes through. A backend client
(KubeVirt, the vcluster host cluster) subclasses it with its kinds (``API_VERSIONS``) and the
operations it needs. No AnsibleModule here; a Mock service does in unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message, http_status
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter

MERGE_PATCH = "application/merge-patch+json"


def to_dict(obj):
    """A dynamic-client object (ResourceInstance) as a plain dict; None stays None."""
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return dict(obj)


def ref(namespace, name):
    """How messages name an object: ``<namespace>/<name>``, or the name of a cluster-scoped one."""
    return "%s/%s" % (namespace, name) if namespace else name


class K8sClient:
    """Objects by kind, namespace and name, as plain dicts."""

    # kind -> apiVersion of every kind the client handles; set by each backend's client.
    API_VERSIONS = {}

    def __init__(self, svc, *, waiter=None):
        self.svc = svc
        self.waiter = waiter or Waiter()
        self._resources = {}

    def missing_resource(self, kind, cause):
        """The error when the API server does not serve ``kind``; a backend says what to install."""
        return GhostError("The Kubernetes API does not serve %s %s: %s" % (self.API_VERSIONS[kind], kind, cause))

    def resource(self, kind):
        """The dynamic-client resource of ``kind``, looked up once per client."""
        if kind not in self._resources:
            try:
                self._resources[kind] = self.svc.find_resource(kind, self.API_VERSIONS[kind], fail=True)
            except Exception as exc:
                raise self.missing_resource(kind, api_error_message(exc))
        return self._resources[kind]

    def get(self, kind, namespace, name):
        """The object as a dict, or None when it does not exist."""
        resource = self.resource(kind)
        try:
            return to_dict(self.svc.client.get(resource, name=name, namespace=namespace))
        except Exception as exc:
            if http_status(exc) == 404:
                return None
            raise GhostError(failure("read", kind, ref(namespace, name), api_error_message(exc)))

    def namespace_exists(self, name):
        """Whether namespace ``name`` exists; read only to explain a missing object, so anything
        but a 404 (a user who may not read namespaces) counts as existing."""
        try:
            self.svc.client.get(self.svc.find_resource("Namespace", "v1", fail=True), name=name)
        except Exception as exc:  # pylint: disable=broad-except  # only a 404 is an answer
            return http_status(exc) != 404
        return True

    def list(self, kind, namespace=None, label_selector=None):
        """The objects of ``kind`` in ``namespace`` (None: every namespace) matching the selector."""
        resource = self.resource(kind)
        try:
            listing = to_dict(self.svc.client.get(resource, namespace=namespace, label_selector=label_selector))
        except Exception as exc:
            raise GhostError("Failed to list %ss%s: %s" % (
                kind, " in namespace '%s'" % namespace if namespace else "", api_error_message(exc)))
        return [to_dict(item) for item in (listing or {}).get("items") or []]

    def create(self, definition, *, exist_ok=False):
        """Create ``definition``; returns the object as stored.

        A name taken meanwhile (409 Conflict) is an error, or None with ``exist_ok``.
        """
        kind = definition["kind"]
        meta = definition["metadata"]
        resource = self.resource(kind)
        try:
            return to_dict(self.svc.client.create(resource, definition))
        except Exception as exc:
            if http_status(exc) != 409:
                raise GhostError(failure("create", kind, ref(meta.get("namespace"), meta["name"]), api_error_message(exc)))
        if exist_ok:
            return None
        raise GhostError(failure("create", kind, ref(meta.get("namespace"), meta["name"]),
                                 "it was created by someone else at the same time"))

    def patch(self, kind, namespace, name, body, *, verb="update"):
        """JSON merge patch; returns the patched object. ``verb`` words a failure."""
        resource = self.resource(kind)
        try:
            return to_dict(self.svc.client.patch(resource, body, name=name, namespace=namespace,
                                                 content_type=MERGE_PATCH))
        except Exception as exc:
            raise GhostError(failure(verb, kind, ref(namespace, name), api_error_message(exc)))

    def delete(self, kind, namespace, name):
        """Delete the object; True when it was there, False when it was already gone."""
        resource = self.resource(kind)
        try:
            self.svc.client.delete(resource, name=name, namespace=namespace)
        except Exception as exc:
            if http_status(exc) == 404:
                return False
            raise GhostError(failure("delete", kind, ref(namespace, name), api_error_message(exc)))
        return True

    def wait(self, kind, namespace, name, *, until, timeout):
        """Poll the object until ``until(obj)`` is true (``obj`` is None while it does not exist).

        Returns the waiter's ``WaitResult(done, value, elapsed)`` with the last object read.
        """
        return self.waiter.wait(lambda: self.get(kind, namespace, name), timeout, until=until)
