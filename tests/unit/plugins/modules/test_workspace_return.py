# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""workspace's RETURN ``workspace`` against spec.workspace_view, and the registry options it shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._workspace import spec


def test_workspace_returns_what_it_documents(return_schema):
    options = spec.validate({"name": "alice", "namespace": "ws", "image": "codercom/code-server:4.104.0",
                             "ports": [8080], "storage": "1Gi", "exposure": "nodeport"})
    view = spec.workspace_view(options, deploy=None, svc=None, server="https://127.0.0.1:16443", cluster_id="lab")
    return_schema.assert_matches(view, return_schema.doc("workspace")["workspace"]["contains"])


def test_workspace_info_returns_what_it_documents(return_schema):
    import datetime
    options = spec.validate({"name": "alice", "namespace": "ws", "image": "nginxinc/nginx-unprivileged:1.27",
                             "ports": [8080]})
    record = {"ttl": "1h", "expires_at": "2026-12-01T13:00:00Z", "renewed_at": "2026-12-01T12:00:00Z"}
    deploy = spec.deployment(options, record)
    now = datetime.datetime(2026, 12, 1, 14, 0, tzinfo=datetime.timezone.utc)
    item = spec.info_record(deploy, now)
    item["cluster"] = None
    assert (item["flavor"], item["ttl"], item["expired"], item["ready"]) == ("nginx", "1h", True, False)
    return_schema.assert_matches([item], return_schema.doc("workspace_info")["workspaces"]["contains"])
