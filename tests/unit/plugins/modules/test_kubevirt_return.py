# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubevirt_vm_snapshot's RETURN ``snapshot`` and kubevirt_vm_restore's RETURN ``restore`` against
their builders: spec.snapshot_summary and spec.restore_summary, over objects read back from the
cluster and over the definitions check mode would create."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._kubevirt import spec


def desired_snapshot():
    return spec.snapshot_definition("cp-snap", "cks-1", "cp", labels={"golden": "true"}, failure_deadline=600)


def read_snapshot():
    obj = desired_snapshot()
    obj["status"] = {"phase": "Succeeded", "readyToUse": True, "creationTime": "2025-01-01T12:00:00Z",
                     "indications": ["Online"], "conditions": [{"type": "Ready", "status": "True"}],
                     "virtualMachineSnapshotContentName": "vmsnapshot-content-1"}
    return obj


def desired_restore():
    return spec.restore_definition("cp-cp-snap", "cks-1", "cp", snapshot_name="cp-snap")


def read_restore():
    obj = desired_restore()
    obj["status"] = {"complete": True, "restoreTime": "2025-01-01T12:05:00Z",
                     "conditions": [{"type": "Ready", "status": "True"}]}
    return obj


@pytest.mark.parametrize("build", [read_snapshot, desired_snapshot], ids=lambda f: f.__name__)
def test_kubevirt_vm_snapshot_returns_what_it_documents(build, return_schema):
    return_schema.assert_matches(spec.snapshot_summary(build()),
                                 return_schema.doc("kubevirt_vm_snapshot")["snapshot"]["contains"])


@pytest.mark.parametrize("build", [read_restore, desired_restore], ids=lambda f: f.__name__)
def test_kubevirt_vm_restore_returns_what_it_documents(build, return_schema):
    return_schema.assert_matches(spec.restore_summary(build(), "Always"),
                                 return_schema.doc("kubevirt_vm_restore")["restore"]["contains"])


def test_nothing_is_returned_for_nothing():
    # RETURN: empty when state=absent found no snapshot
    assert spec.snapshot_summary(None) == {} and spec.restore_summary(None, None) == {}
