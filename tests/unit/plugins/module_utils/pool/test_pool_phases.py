# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark's phase clock: one JSON line per run when asked for, nothing otherwise."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.ghost.infra.plugins.module_utils._pool import phases
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease


def test_a_run_appends_its_phases_when_asked(monkeypatch, tmp_path, pool_api, clock):
    path = tmp_path / "phases.jsonl"
    monkeypatch.setenv(phases.ENV, str(path))
    for owner in ("s1", "s2"):
        phases.start()
        with phases.span("connect"):
            pass
        ensure_lease(pool_api, {"pool": "cks", "owner": owner, "wait": False, "state": "present"}, now=clock.now,
                     clock=clock.monotonic, sleep=clock.sleep, home=str(tmp_path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["owner"] for line in lines] == ["s1", "s2"]
    assert lines[0]["calls"] == {"connect": 1} and set(lines[0]["ms"]) == {"connect", "own"}
    assert lines[0]["api_calls"] == 2 and lines[0]["conflicts"] == 0   # one list, one compare-and-swap PUT
    assert lines[0]["total_ms"] >= lines[0]["ms"]["connect"]


def test_nothing_is_written_without_the_variable(monkeypatch, tmp_path, pool_api, clock):
    monkeypatch.delenv(phases.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    phases.start()
    with phases.span("connect"):
        pass
    ensure_lease(pool_api, {"pool": "cks", "owner": "s1", "wait": False, "state": "present"}, now=clock.now,
                 clock=clock.monotonic, sleep=clock.sleep, home="/nonexistent")
    assert phases.write() is None and list(tmp_path.iterdir()) == []
