# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a cluster pool run spends its time, for benchmarks/cluster_pool_acquire.py only. Private to ghost.infra.

When the environment variable ``GHOST_POOL_PHASES`` names a file, each run appends one JSON line
to it: milliseconds per phase (``connect``, ``lookup`` of an API resource, each API call by verb,
the rest of the run as ``own``) and the number of calls per phase. Without it every function
here returns at once, and nothing ever reaches the module's output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import time

ENV = "GHOST_POOL_PHASES"

_spans = {}
_counts = {}
_started = [None]


def enabled():
    return bool(os.environ.get(ENV))


def start():
    """The run starts now (the phases of an earlier run in this process are forgotten)."""
    if enabled():
        _spans.clear()
        _counts.clear()
        _started[0] = time.perf_counter()


@contextlib.contextmanager
def span(name):
    """Time the ``with`` block as phase ``name`` (added up over repeated blocks)."""
    if not enabled():
        yield
        return
    begun = time.perf_counter()
    try:
        yield
    finally:
        _spans[name] = _spans.get(name, 0.0) + time.perf_counter() - begun
        _counts[name] = _counts.get(name, 0) + 1


def write(**extra):
    """Append the run's phases to the ``GHOST_POOL_PHASES`` file (one JSON line)."""
    path = os.environ.get(ENV)
    if not path or _started[0] is None:
        return None
    total = time.perf_counter() - _started[0]
    line = {"pid": os.getpid(), "total_ms": round(1000 * total, 2),
            "ms": {k: round(1000 * v, 2) for k, v in _spans.items()}, "calls": dict(_counts)}
    line["ms"]["own"] = round(1000 * (total - sum(_spans.values())), 2)
    line.update(extra)
    # One write of one line to a file opened for appending: concurrent runs never interleave.
    with open(path, "a") as handle:
        handle.write(json.dumps(line, sort_keys=True) + "\n")
    _started[0] = None
    return line
