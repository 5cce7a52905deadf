# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two registry stores, one interface. Private to ghost.infra.

An entry is ``{"id", "record": dict, "kubeconfig": bytes or None, "kubeconfig_path": str or None}``.
Both stores answer ``get(id)``, ``list()``, ``put(id, kubeconfig, record)`` and ``delete(id)``:

- ``FolderStore``: ``<folder>/<id>.yaml`` (the kubeconfig) and ``<folder>/<id>.json`` (the
  record), written through ``_vcluster/store.py`` -- the same 0600 atomic writes and 0700
  folders as the vcluster kubeconfigs. A record may instead point at a kubeconfig kept
  elsewhere (``kubeconfig_path``): that is how M(ghost.infra.vcluster) lists its virtual
  clusters here without a second copy of their credentials.
- ``SecretStore``: Secret ``ghost-cluster-<id>`` in one namespace, labelled
  ``ghost.infra/registry=true``, the kubeconfig in ``data.kubeconfig`` and the record in the
  annotation ``ghost.infra/record``; one object, so one write is atomic. The registration's
  expiry is not in that record but in the annotations ``ghost.infra/expires-at``,
  ``ghost.infra/ttl`` and ``ghost.infra/renewed-at`` (where every backend keeps it); ``get``
  puts it back in the record, so callers see the same record from both stores.

Nothing is written before the caller decided to (after a successful pre-warm), and a folder
write that fails halfway puts back what was there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._registry import spec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import store as files

OPTION = "store"


def _read(path):
    """Bytes of ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GhostError("cannot read %s: %s" % (path, exc), option=OPTION)


class FolderStore:
    """The registry as a private folder on the host running the module."""

    kind = "folder"

    def __init__(self, path):
        self.path = path

    def describe(self):
        return "folder %s" % self.path

    def paths(self, cluster_id):
        """``(kubeconfig, record)`` paths of ``cluster_id``."""
        return (os.path.join(self.path, cluster_id + ".yaml"), os.path.join(self.path, cluster_id + ".json"))

    def _entry(self, cluster_id, record_bytes, where):
        record = spec.decode_record(record_bytes, where)
        own, _record_path = self.paths(cluster_id)
        path = record.get("kubeconfig_path") or own
        return {"id": cluster_id, "record": record, "kubeconfig": _read(path), "kubeconfig_path": path}

    def get(self, cluster_id):
        _kubeconfig, record_path = self.paths(cluster_id)
        data = _read(record_path)
        return None if data is None else self._entry(cluster_id, data, record_path)

    def list(self):
        """Every entry, sorted by id; a record that does not parse is an error naming its file."""
        try:
            names = sorted(os.listdir(self.path))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise GhostError("cannot list %s: %s" % (self.path, exc), option=OPTION)
        found = []
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            path = os.path.join(self.path, name)
            data = _read(path)
            if data is not None:
                found.append(self._entry(name[:-len(".json")], data, path))
        return found

    def needs_write(self, cluster_id, kubeconfig, record):
        """Whether the files differ from these bytes (or are not private)."""
        kubeconfig_path, record_path = self.paths(cluster_id)
        if kubeconfig is not None and files.needs_write(kubeconfig_path, kubeconfig, option=OPTION):
            return True
        return files.needs_write(record_path, spec.encode_record(record), option=OPTION)

    def put(self, cluster_id, kubeconfig, record):
        """Write the kubeconfig (None: the record points elsewhere), then the record.

        If the record cannot be written, the kubeconfig that was there before is put back.
        """
        kubeconfig_path, record_path = self.paths(cluster_id)
        previous = _read(kubeconfig_path)
        if kubeconfig is not None:
            files.write_private(kubeconfig_path, kubeconfig, option=OPTION)
        try:
            files.write_private(record_path, spec.encode_record(record), option=OPTION)
        except GhostError:
            if kubeconfig is not None:
                if previous is None:
                    files.remove(kubeconfig_path, option=OPTION)
                else:
                    files.write_private(kubeconfig_path, previous, option=OPTION)
            raise
        if kubeconfig is None:
            files.remove(kubeconfig_path, option=OPTION)  # a join replaced by a pointer

    def delete(self, cluster_id):
        """Remove the record and the store's own kubeconfig (never a file a record points at)."""
        kubeconfig_path, record_path = self.paths(cluster_id)
        removed = files.remove(record_path, option=OPTION)
        return files.remove(kubeconfig_path, option=OPTION) or removed


class SecretStore:
    """The registry as Secrets in a namespace of a management cluster."""

    kind = "k8s"

    def __init__(self, api, namespace):
        self.api = api
        self.namespace = namespace

    def describe(self):
        return "Secrets in namespace %s" % self.namespace

    @staticmethod
    def secret_name(cluster_id):
        return spec.SECRET_PREFIX + cluster_id

    def _entry(self, secret):
        meta = secret.get("metadata") or {}
        where = "in Secret %s/%s" % (self.namespace, meta.get("name"))
        text = (meta.get("annotations") or {}).get(spec.ANNOTATION_RECORD)
        if not text:
            raise GhostError("the registry entry %s has no annotation %s" % (where, spec.ANNOTATION_RECORD),
                             option=OPTION)
        record = spec.join_expiry(spec.decode_record(text, where), meta.get("annotations"))
        data = (secret.get("data") or {}).get(spec.SECRET_KEY)
        try:
            kubeconfig = base64.b64decode(data) if data else None
        except (ValueError, TypeError):
            raise GhostError("the kubeconfig %s is not base64" % where, option=OPTION)
        return {"id": record["id"], "record": record, "kubeconfig": kubeconfig, "kubeconfig_path": None}

    def get(self, cluster_id):
        secret = self.api.get("Secret", self.namespace, self.secret_name(cluster_id))
        if secret is None or ((secret.get("metadata") or {}).get("labels") or {}).get(spec.LABEL_REGISTRY) != "true":
            return None
        return self._entry(secret)

    def list(self):
        secrets = self.api.list("Secret", self.namespace, "%s=true" % spec.LABEL_REGISTRY)
        return sorted((self._entry(s) for s in secrets), key=lambda entry: entry["id"])

    def needs_write(self, cluster_id, kubeconfig, record):
        current = self.get(cluster_id)
        return (current is None or current["kubeconfig"] != kubeconfig
                or spec.encode_record(current["record"]) != spec.encode_record(record))

    def _body(self, cluster_id, kubeconfig, record):
        """The Secret; its lifetime annotations that are unset are None (a merge patch removes them)."""
        rest, expiry = spec.split_expiry(record)
        annotations = {spec.ANNOTATION_RECORD: spec.encode_record(rest).decode("utf-8")}
        annotations.update(expiry)
        return {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": self.secret_name(cluster_id), "namespace": self.namespace,
                         "labels": {spec.LABEL_REGISTRY: "true", spec.LABEL_ID: cluster_id,
                                    "app.kubernetes.io/managed-by": "ghost.infra"},
                         "annotations": annotations},
            "data": {spec.SECRET_KEY: base64.b64encode(kubeconfig).decode("ascii")},
        }

    def put(self, cluster_id, kubeconfig, record):
        """Create or update the cluster's Secret (and the namespace, when it is missing)."""
        if kubeconfig is None:
            raise GhostError("the Kubernetes store keeps every kubeconfig in its Secret", option=OPTION)
        body = self._body(cluster_id, kubeconfig, record)
        created = dict(body, metadata=dict(body["metadata"], annotations={
            key: value for key, value in body["metadata"]["annotations"].items() if value is not None}))
        if self.api.get("Namespace", None, self.namespace) is None:
            self.api.create({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": self.namespace,
                                          "labels": {"app.kubernetes.io/managed-by": "ghost.infra"}}},
                            exist_ok=True)
        if self.api.create(created, exist_ok=True) is None:
            self.api.patch("Secret", self.namespace, body["metadata"]["name"],
                           {"metadata": body["metadata"], "data": body["data"]})

    def delete(self, cluster_id):
        if self.get(cluster_id) is None:
            return False
        return self.api.delete("Secret", self.namespace, self.secret_name(cluster_id))


def open_store(parsed, *, connect_k8s):
    """The store ``spec.parse_store`` described; ``connect_k8s()`` gives the management cluster's
    ``RegistrySecrets`` (only called for the Kubernetes store)."""
    if parsed["kind"] == "k8s":
        return SecretStore(connect_k8s(), parsed["namespace"])
    return FolderStore(parsed["path"])


def from_options(store, store_auth, *, check_mode=False, home=None):
    """The store the ``store`` / ``store_auth`` options name (the management cluster reached only
    for ``k8s:<namespace>``)."""
    from ansible_collections.ghost.infra.plugins.module_utils._registry import client
    return open_store(spec.parse_store(store, home), connect_k8s=lambda: client.RegistrySecrets(
        client.store_service(store_auth, check_mode=check_mode)))
