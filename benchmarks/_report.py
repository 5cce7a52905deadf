# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmarks' one reporting shape: cases side by side with their anchor, targets, JSON.

A benchmark script adds the common options (``add_arguments``: ``--json``, ``--quick``,
``--rounds``), measures through ``alternate`` (ours and the anchor in turns, the first side
swapped each round, so load that drifts during a run hits both alike), and records:

- ``report.compare(...)``: one case, ours vs the anchor, samples of both; the ratio is
  anchor median / our median for "lower is better" units (seconds, bytes, calls);
- ``report.figure(...)``: one measured value with no anchor (SOAP calls per no-op, boot time).

Each may carry a target (``Target("ratio", ">=", 25)``, ``Target("value", "<=", 4)``); ``met`` is
decided here, printed with the case and kept in the JSON that ``benchmarks/run_all.py`` collects.

JSON shape (one file per script)::

    {"benchmark": "esxi_vm_info", "title": "...", "quick": false, "environment": {...},
     "cases": [{"name", "kind": "compare"|"figure", "unit", "ours": {"label", "samples", "median",
                "min", "max"}, "anchor": {...}, "ratio", "value", "target": {"metric", "op",
                "value", "text"}, "met", "notes"}]}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os
import platform
import statistics
import time

OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


class Target(collections.namedtuple("Target", "metric op value")):
    """``metric`` is "ratio" (anchor / ours) or "value" (our median, or a figure's value)."""

    def text(self):
        return "%s %s %s%s" % ("ratio" if self.metric == "ratio" else "value", self.op, _num(self.value),
                               "x" if self.metric == "ratio" else "")

    def met(self, ratio, value):
        measured = ratio if self.metric == "ratio" else value
        return None if measured is None else OPS[self.op](measured, self.value)


def add_arguments(parser, *, rounds=3, quick_rounds=1):
    """The options every benchmark takes (run_all.py passes them)."""
    parser.add_argument("--json", help="also write the figures to this file (the shape of benchmarks/_report.py)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run: fewer rounds and smaller sizes, for a loaded machine or a smoke test")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of each side (default %d, %d with --quick)" % (rounds, quick_rounds))
    parser.set_defaults(_default_rounds=rounds, _quick_rounds=quick_rounds)
    return parser


def rounds(args):
    if args.rounds:
        return args.rounds
    return args._quick_rounds if args.quick else args._default_rounds


def alternate(count, ours, anchor):
    """Run ``ours()`` and ``anchor()`` ``count`` times each, in turns (ours first in even rounds,
    the anchor first in odd ones); each returns a number (or a dict of numbers). Returns the two
    lists of samples."""
    mine, theirs = [], []
    for index in range(count):
        order = [(ours, mine), (anchor, theirs)]
        if index % 2:
            order.reverse()
        for func, samples in order:
            samples.append(func())
    return mine, theirs


def summary(samples):
    values = [float(v) for v in samples]
    return {"samples": [round(v, 4) for v in values], "median": round(statistics.median(values), 4),
            "min": round(min(values), 4), "max": round(max(values), 4)}


class Report:
    def __init__(self, benchmark, title, args=None):
        self.data = {"benchmark": benchmark, "title": title, "quick": bool(getattr(args, "quick", False)),
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "environment": environment(), "cases": []}
        self.args = args
        print(title)

    def compare(self, name, *, unit, ours, anchor, target=None, notes=None):
        """``ours``/``anchor``: (label, samples). Lower is better (time, bytes, calls)."""
        mine, theirs = summary(ours[1]), summary(anchor[1])
        mine["label"], theirs["label"] = ours[0], anchor[0]
        ratio = theirs["median"] / mine["median"] if mine["median"] else None
        case = {"name": name, "kind": "compare", "unit": unit, "ours": mine, "anchor": theirs,
                "ratio": None if ratio is None else round(ratio, 2), "value": mine["median"], "notes": notes or ""}
        self._target(case, target)
        self.data["cases"].append(case)
        print("  %s" % name)
        for side in (mine, theirs):
            print("    %-52s median %10s %s  (min %s, max %s, %d rounds)" % (
                side["label"], _num(side["median"]), unit, _num(side["min"]), _num(side["max"]), len(side["samples"])))
        print("    ratio (anchor / ours): %sx%s" % (_num(case["ratio"]), _verdict(case)))
        if notes:
            print("    note: %s" % notes)
        return case

    def figure(self, name, *, unit, value, samples=None, target=None, notes=None):
        """One measured value (``samples`` gives median/min/max too)."""
        case = {"name": name, "kind": "figure", "unit": unit, "value": value, "notes": notes or ""}
        if samples:
            case["ours"] = summary(samples)
        self._target(case, target)
        self.data["cases"].append(case)
        spread = ""
        if samples and len(samples) > 1:
            spread = "  (min %s, max %s, %d rounds)" % (_num(case["ours"]["min"]), _num(case["ours"]["max"]), len(samples))
        print("  %s: %s %s%s%s" % (name, _num(value), unit, spread, _verdict(case)))
        if notes:
            print("    note: %s" % notes)
        return case

    @staticmethod
    def _target(case, target):
        if target is None:
            case["target"], case["met"] = None, None
            return
        case["target"] = {"metric": target.metric, "op": target.op, "value": target.value, "text": target.text()}
        case["met"] = target.met(case.get("ratio"), case.get("value"))

    def write(self):
        path = getattr(self.args, "json", None)
        if path:
            with open(path, "w") as handle:
                json.dump(self.data, handle, indent=2)
        return self.data


def environment():
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"host_cpus": os.cpu_count(), "load_average": [round(x, 2) for x in load] if load else None,
            "python": platform.python_version(), "platform": platform.platform()}


def _verdict(case):
    if case.get("target") is None:
        return ""
    return "   target %s: %s" % (case["target"]["text"], "MET" if case["met"] else "NOT MET")


def _num(value):
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return "%.2f" % value if abs(value) < 100 else "%.0f" % value
    return "%d" % value
