# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixture ``fake_api``: the fake API server the Secret store is tested against (stores and runner)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest


class FakeApi:
    """Secrets and namespaces in memory, with K8sClient's get / list / create / patch / delete."""

    def __init__(self, namespaces=("reg",)):
        self.objects = {("Namespace", None, ns): {"metadata": {"name": ns}} for ns in namespaces}
        self.calls = []

    def get(self, kind, namespace, name):
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def list(self, kind, namespace=None, label_selector=None):
        key, _eq, value = label_selector.partition("=")
        return [copy.deepcopy(o) for (k, ns, _n), o in sorted(self.objects.items(), key=lambda i: str(i[0]))
                if k == kind and ns == namespace and (o["metadata"].get("labels") or {}).get(key) == value]

    def create(self, definition, *, exist_ok=False):
        meta = definition["metadata"]
        key = (definition["kind"], meta.get("namespace"), meta["name"])
        self.calls.append(("create",) + key)
        if key in self.objects:
            assert exist_ok
            return None
        self.objects[key] = copy.deepcopy(definition)
        return copy.deepcopy(definition)

    def patch(self, kind, namespace, name, body, *, verb="update"):
        self.calls.append(("patch", kind, namespace, name))
        current = self.objects[(kind, namespace, name)]
        meta = copy.deepcopy(body["metadata"])
        # A JSON merge patch: a null annotation removes it.
        annotations = dict(current["metadata"].get("annotations") or {})
        annotations.update(meta.pop("annotations", None) or {})
        current["metadata"].update(meta)
        current["metadata"]["annotations"] = {k: v for k, v in annotations.items() if v is not None}
        current.setdefault("data", {}).update(body.get("data") or {})
        return copy.deepcopy(current)

    def delete(self, kind, namespace, name):
        self.calls.append(("delete", kind, namespace, name))
        return self.objects.pop((kind, namespace, name), None) is not None


@pytest.fixture
def fake_api():
    """The FakeApi class: ``fake_api()`` or ``fake_api(namespaces=())``."""
    return FakeApi
