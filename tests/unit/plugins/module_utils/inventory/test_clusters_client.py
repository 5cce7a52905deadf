# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/clusters_client.read_registry: a real folder store, each entry with its expiry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.ghost.infra.plugins.module_utils._inventory import clusters_client
from ansible_collections.ghost.infra.plugins.module_utils._registry import stores


def test_read_registry_gives_each_registration_its_expiry(tmp_path):
    store = stores.FolderStore(str(tmp_path / "clusters"))
    store.put("loaner", b"kc", {"id": "loaner", "ttl": "1s", "expires_at": "2026-12-01T12:00:01Z",
                                "renewed_at": "2026-12-01T12:00:00Z"})
    store.put("kept", b"kc", {"id": "kept"})
    now = datetime.datetime(2026, 12, 1, 12, 0, 3, tzinfo=datetime.timezone.utc)
    read = clusters_client.read_registry(None, None, open_store=lambda _store, _auth: store, now=now)
    expiry = {entry["id"]: entry["expiry"] for entry in read["entries"]}
    assert expiry == {"kept": {"expires_at": None, "expired": False, "ttl": None},
                      "loaner": {"expires_at": "2026-12-01T12:00:01Z", "expired": True, "ttl": "1s"}}
