# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KubeVirt API calls over kubernetes.core's K8sService. Private to ghost.infra.

No AnsibleModule here: the client gets a ``K8sService`` (or a Mock in tests), returns plain
dicts and raises GhostError with the API server's message. Waiting is bounded polling with a
short, growing interval (0.25 s up to 2 s) so a fast controller is noticed quickly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message, http_status, to_dict
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.logic import API_VERSIONS

FIRST_INTERVAL = 0.25
MAX_INTERVAL = 2.0


def _ref(namespace, name):
    return "%s/%s" % (namespace, name)


class KubeVirtClient:
    """Get, create, patch, delete and wait for KubeVirt objects by kind, namespace and name."""

    def __init__(self, svc, sleep=time.sleep, clock=time.monotonic):
        self.svc = svc
        self._sleep = sleep
        self._clock = clock
        self._resources = {}

    def resource(self, kind):
        """The kubernetes dynamic-client resource for ``kind``; a clear error when the API lacks it."""
        if kind not in self._resources:
            api_version = API_VERSIONS[kind]
            try:
                found = self.svc.find_resource(kind, api_version, fail=True)
            except Exception as exc:
                raise GhostError(
                    "The Kubernetes API does not serve %s %s: is KubeVirt installed%s? (%s)" % (
                        api_version, kind,
                        " with the Snapshot feature gate" if api_version.startswith("snapshot.") else "",
                        api_error_message(exc)))
            self._resources[kind] = found
        return self._resources[kind]

    def get(self, kind, namespace, name):
        """The object as a dict, or None when it does not exist."""
        resource = self.resource(kind)
        definition = {"apiVersion": API_VERSIONS[kind], "kind": kind,
                      "metadata": {"name": name, "namespace": namespace}}
        try:
            return to_dict(self.svc.retrieve(resource, definition))
        except Exception as exc:
            raise GhostError("Failed to read %s '%s': %s" % (kind, _ref(namespace, name), api_error_message(exc)))

    def create(self, definition):
        """Create ``definition``; returns the object as stored. A name taken meanwhile is an error."""
        kind = definition["kind"]
        meta = definition["metadata"]
        try:
            created, warnings = self.svc.create(self.resource(kind), definition)
        except Exception as exc:
            raise GhostError("Failed to create %s '%s': %s" % (
                kind, _ref(meta["namespace"], meta["name"]), api_error_message(exc)))
        del warnings  # deprecation warnings of CRDs; nothing the user can act on here
        if not created:  # K8sService turns 409 Conflict into a warning and an empty result
            raise GhostError("Failed to create %s '%s': it was created by someone else at the same time" % (
                kind, _ref(meta["namespace"], meta["name"])))
        return created

    def patch(self, kind, namespace, name, patch):
        """JSON merge patch; returns the patched object."""
        try:
            patched, warnings = self.svc.patch_resource(self.resource(kind), patch, name, namespace, merge_type="merge")
        except Exception as exc:
            raise GhostError("Failed to update %s '%s': %s" % (kind, _ref(namespace, name), api_error_message(exc)))
        del warnings
        return patched

    def delete(self, kind, namespace, name):
        """Delete the object; one that is already gone is fine."""
        resource = self.resource(kind)
        try:
            self.svc.client.delete(resource, name=name, namespace=namespace)
        except Exception as exc:
            if http_status(exc) == 404:
                return
            raise GhostError("Failed to delete %s '%s': %s" % (kind, _ref(namespace, name), api_error_message(exc)))

    def wait(self, kind, namespace, name, predicate, timeout):
        """Poll until ``predicate(obj)`` is true (``obj`` is None while the object does not exist).

        Returns ``(success, last_obj, elapsed_seconds)`` like kubernetes.core's Waiter; the caller
        builds the message, because only it knows what it was waiting for.
        """
        start = self._clock()
        interval = FIRST_INTERVAL
        while True:
            obj = self.get(kind, namespace, name)
            elapsed = self._clock() - start
            if predicate(obj):
                return True, obj, elapsed
            remaining = timeout - elapsed
            if remaining <= 0:
                return False, obj, elapsed
            self._sleep(min(interval, remaining))
            interval = min(interval * 2, MAX_INTERVAL)
