#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every benchmark in benchmarks/ and write one report: JSON, a Markdown table, a PNG chart.

Each script (``benchmarks/*.py`` except ``_*.py`` and this one) runs in turn, each side by side
with its anchor inside the script (alternating rounds, medians and min-max: benchmarks/_report.py).
Scripts built on _report.py get ``--json`` (and ``--quick``); a script that only knows ``--json``
gets that and its figures are kept as they are; any other script's output is kept as text.
Written to ``--out`` (default benchmarks/results/):

    <date>.json   every script's figures, exit status and time, the machine's load
    <date>.md     the table: ours and the anchor (median, min-max), ratio, target, met
    <date>.png    the ratios (anchor / ours) as bars, the targets as marks (matplotlib)
    latest.md, latest.png   copies of the newest

Prints each case's target and whether it is met. Targets are reported, never enforced: the exit
status is non-zero only when a script fails.

    make testbed-up
    .venv/bin/python -m pip install -r benchmarks/requirements.txt    # matplotlib, for the chart
    source .testbed/env.sh
    tools/in-stage $PWD/.venv/bin/python benchmarks/run_all.py [--quick] [--only esxi_vm_info ...]
        [--skip NAME ...] [--out DIR] [--no-chart] [--render results/<date>.json]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _report import environment  # noqa: E402  (benchmarks/ is not a package)

INSTALL = "%s -m pip install -r %s" % (sys.executable, os.path.join(HERE, "requirements.txt"))


def scripts(only, skip):
    names = sorted(f[:-3] for f in os.listdir(HERE)
                   if f.endswith(".py") and not f.startswith("_") and f != "run_all.py")
    unknown = sorted(set(only or []) - set(names)) + sorted(set(skip or []) - set(names))
    if unknown:
        sys.exit("no benchmark named %s (there are: %s)" % (", ".join(unknown), ", ".join(names)))
    return [n for n in names if (not only or n in only) and n not in (skip or [])]


def kind_of(path):
    with open(path) as handle:
        text = handle.read()
    if "from _report import" in text:
        return "report"
    if "--json" in text:
        return "json"
    return "text"


def run_one(name, args):
    """Run one script, its output shown as it comes; returns its entry of the report."""
    path = os.path.join(HERE, name + ".py")
    kind = kind_of(path)
    entry = {"script": name, "kind": kind}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "figures.json")
        cmd = [sys.executable, path]
        if kind in ("report", "json"):
            cmd += ["--json", out]
        if kind == "report" and args.quick:
            cmd.append("--quick")
        print("\n=== %s (%s)" % (name, " ".join(cmd[1:])), flush=True)
        started = time.monotonic()
        lines = []
        # A session of its own: a script's workers and daemons go with it when it is stopped.
        proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, bufsize=1, start_new_session=True)
        timer = threading.Timer(args.timeout, _stop, (proc, lines, "run_all: stopped after %d s" % args.timeout))
        timer.start()
        try:
            for line in proc.stdout:
                sys.stdout.write("  | " + line)
                lines.append(line.rstrip("\n"))
        except KeyboardInterrupt:
            _stop(proc, lines, "run_all: interrupted")
            raise
        finally:
            timer.cancel()
            proc.stdout.close()
            entry["exit"] = proc.wait()
        entry["seconds"] = round(time.monotonic() - started, 1)
        entry["output_tail"] = lines[-40:]
        if os.path.isfile(out):
            with open(out) as handle:
                entry["figures" if kind == "json" else "data"] = json.load(handle)
    print("=== %s: exit %s after %.0f s" % (name, entry["exit"], entry["seconds"]), flush=True)
    return entry


def _stop(proc, lines, why):
    """SIGTERM the script's session, SIGKILL it 30 s later if it is still there."""
    lines.append(why)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def cases(report):
    for entry in report["benchmarks"]:
        for case in (entry.get("data") or {}).get("cases", []):
            yield entry, case


def _num(value):
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return "%.2f" % value if abs(value) < 100 else "%.0f" % value
    return "%d" % value


def _side(side, unit):
    if not side:
        return "-"
    spread = "" if side["min"] == side["max"] else " (%s-%s)" % (_num(side["min"]), _num(side["max"]))
    return "%s %s%s" % (_num(side["median"]), unit, spread)


def markdown(report):
    env = report["environment"]
    lines = ["# ghost.infra benchmarks, %s%s" % (report["date"], " (quick run)" if report["quick"] else ""), "",
             "Machine: %s CPUs, load average %s at the start; each case alternates ours and the anchor "
             "in the same run (medians, min-max over the rounds). Reproduce: see benchmarks/README.md." % (
                 env.get("host_cpus"), env.get("load_average")), "",
             "| benchmark | case | ghost.infra | anchor | ratio (anchor/ours) | target | met |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for entry, case in cases(report):
        ours, anchor = case.get("ours"), case.get("anchor")
        if case["kind"] == "figure":
            ours_text = "%s %s" % (_num(case["value"]), case["unit"])
            if ours and len(ours["samples"]) > 1:
                ours_text = _side(ours, case["unit"])
        else:
            ours_text = "%s: %s" % (ours["label"], _side(ours, case["unit"]))
        anchor_text = "%s: %s" % (anchor["label"], _side(anchor, case["unit"])) if anchor else "-"
        target = (case.get("target") or {}).get("text", "-")
        met = {True: "yes", False: "**no**", None: "-"}[case.get("met")]
        name = case["name"] + (" (%s)" % case["notes"] if case.get("notes") else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            entry["script"], name.replace("|", "/"), ours_text, anchor_text,
            _num(case.get("ratio")) + ("x" if case.get("ratio") is not None else ""), target, met))
    others = [e for e in report["benchmarks"] if e["kind"] != "report" or e["exit"] != 0 or not e.get("data")]
    if others:
        lines += ["", "Scripts without the shared report shape, or that failed:", ""]
        for entry in others:
            status = "exit %s after %.0f s" % (entry["exit"], entry["seconds"])
            if entry.get("figures") is not None:
                lines.append("- %s (%s): `%s`" % (entry["script"], status, json.dumps(entry["figures"], sort_keys=True)))
            else:
                lines.append("- %s (%s), last lines:" % (entry["script"], status))
                lines += ["      " + line for line in entry["output_tail"][-8:]]
    return "\n".join(lines) + "\n"


def chart(report, path):
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    rows = [(entry, case) for entry, case in cases(report) if case.get("ratio")]
    if not rows:
        return False
    fig, axis = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.6))
    labels, ratios, colors = [], [], []
    for entry, case in rows:
        labels.append("%s: %s" % (entry["script"], case["name"]))
        ratios.append(case["ratio"])
        colors.append({True: "#2e7d32", False: "#c62828", None: "#607d8b"}[case.get("met")])
    positions = list(range(len(rows)))[::-1]
    axis.barh(positions, ratios, color=colors)
    for pos, (_entry, case), ratio in zip(positions, rows, ratios):
        axis.text(ratio, pos, " %.1fx" % ratio, va="center", fontsize=8)
        target = case.get("target")
        if target and target["metric"] == "ratio":
            axis.plot([target["value"]], [pos], marker="|", markersize=18, color="black")
    axis.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axis.set_xscale("log")
    axis.set_yticks(positions)
    axis.set_yticklabels(labels, fontsize=8)
    axis.set_xlabel("anchor / ghost.infra (higher is better for ghost.infra; | marks the target)")
    axis.set_title("ghost.infra vs its anchors, %s%s" % (report["date"], " (quick)" if report["quick"] else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="short runs (fewer rounds, smaller sizes)")
    parser.add_argument("--only", nargs="+", help="run only these benchmarks (script names without .py)")
    parser.add_argument("--skip", nargs="+", help="run all but these benchmarks")
    parser.add_argument("--out", default=os.path.join(HERE, "results"), help="folder of the report files")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (no matplotlib needed)")
    parser.add_argument("--timeout", type=int, default=5400, help="seconds one script may run")
    parser.add_argument("--render", metavar="JSON", help="run nothing: write the table and chart of a report again")
    args = parser.parse_args()
    if args.render:
        with open(args.render) as handle:
            report = json.load(handle)
        stem = args.render[:-len(".json")] if args.render.endswith(".json") else args.render
        with open(stem + ".md", "w") as handle:
            handle.write(markdown(report))
        if not args.no_chart:
            chart(report, stem + ".png")
        print("wrote %s.md%s" % (stem, "" if args.no_chart else " and %s.png" % stem))
        return
    if not args.no_chart:
        try:
            import matplotlib  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            sys.exit("matplotlib is needed for the chart: %s\n(or run with --no-chart)" % INSTALL)
    names = scripts(args.only, args.skip)
    report = {"date": time.strftime("%Y-%m-%d"), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "quick": args.quick, "environment": environment(), "benchmarks": []}
    for name in names:
        report["benchmarks"].append(run_one(name, args))

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, report["date"])
    if os.path.exists(stem + ".json"):
        stem += time.strftime("-%H%M")
    with open(stem + ".json", "w") as handle:
        json.dump(report, handle, indent=2)
    table = markdown(report)
    with open(stem + ".md", "w") as handle:
        handle.write(table)
    shutil.copyfile(stem + ".md", os.path.join(args.out, "latest.md"))
    written = [stem + ".json", stem + ".md"]
    if not args.no_chart and chart(report, stem + ".png"):
        shutil.copyfile(stem + ".png", os.path.join(args.out, "latest.png"))
        written.append(stem + ".png")

    print("\n" + table)
    print("Targets:")
    for entry, case in cases(report):
        if case.get("target"):
            print("  %-22s %-70s %-14s %s" % (entry["script"], case["name"][:70], case["target"]["text"],
                                              "MET" if case["met"] else "NOT MET"))
    failed = [e["script"] for e in report["benchmarks"] if e["exit"] != 0]
    print("\nwrote %s" % ", ".join(written))
    if failed:
        sys.exit("failed: %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
