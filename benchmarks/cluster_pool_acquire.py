#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: acquire/release of cluster pool members under 20-way contention, on the testbed's API server.

Three measurements, each against a pool of its own (Lease objects made directly: members without
VMs, since this measures leasing, not resets; released members are "reset" at once by a
janitor thread of the benchmark that does the real dirty -> resetting -> available writes):

1. module: ``--acquirers`` (20) ``ansible localhost -m ghost.infra.cluster_pool_lease`` processes
   started together on a pool with as many members, so every one gets a member and they only
   contend on the writes. Reported: p50/p95 of the module's own ``duration`` (what the module
   measured from its start: connect, one list, the PUT, retries) and API calls per acquire.
2. cycles: ``--acquirers`` worker processes (one API client each) on a ``--members`` (3) pool,
   each ``--cycles`` times: acquire with wait (the queue), hold ``--hold`` ms, release. Reported:
   p50/p95 of the acquire time (connect + runner, queue wait included), of the hand-over (from a
   holder's release call to the next holder having the member: release, reset, wake-up, acquire),
   API calls and lost writes per acquire, double assignments (overlapping holds of one member,
   from the workers' own clocks) -- expected 0.
3. naive: the same workload with the seed's algorithm: list, take the first available member,
   write it with a merge patch that carries no resourceVersion (last writer wins; a Lease refuses
   a PUT without one), no queue (poll every 50 ms). Reported: the same figures; its double
   assignments are the point.

    make testbed-up && source .testbed/env.sh
    tools/in-stage $PWD/.venv/bin/python benchmarks/cluster_pool_acquire.py [--acquirers 20] [--members 3]
        [--rounds 3 (cycles per worker)] [--quick (1 cycle)] [--hold 50] [--skip-module] [--json out.json]

Reported through benchmarks/_report.py (figures with targets: module p95 <= 250 ms, no double
assignment with compare-and-swap); there is no anchor collection to compare with, the naive
variant plays that part.

Namespaces are ``ghost-it-pool-bench-*`` and are deleted at the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types

import kubernetes
from _report import Report, Target, add_arguments, rounds

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict, PoolClient
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease, utcnow
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")


def client(kubeconfig):
    return PoolClient(K8sService(get_api_client(kubeconfig=kubeconfig), types.SimpleNamespace(check_mode=False, params={})))


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def make_pool(api, namespace, pool, members):
    """The pool's Lease objects, as cluster_pool writes them, for members without VMs."""
    api.ensure_namespace(namespace)
    declaration = {"kind": "kubevirt", "members": members, "labels": {}, "vms": [], "vm_selector": {}, "snapshots": {},
                   "templates_namespace": "vm-templates", "duration": 600, "max_reset_attempts": 3, "reset_timeout": 60,
                   "kubeconfig_secret": None, "vcluster": None}
    api.create(spec.lease_object(namespace, pool, spec.object_labels(pool, spec.OBJECT_POOL),
                                 {spec.ANNOTATION_POOL: spec.dumps(declaration)}))
    api.create(spec.lease_object(namespace, spec.queue_object_name(pool), spec.object_labels(pool, spec.OBJECT_QUEUE),
                                 {queue_spec.A_QUEUE: "[]"}))
    for member in members:
        body = spec.lease_object(namespace, spec.member_object_name(pool, member),
                                 spec.object_labels(pool, spec.OBJECT_MEMBER, member), {})
        api.create(lease_spec.declare(body, {"namespace": member, "vms": []}, utcnow()))


class Janitor(threading.Thread):
    """Makes dirty members available again at once, with the real compare-and-swap writes."""

    def __init__(self, kubeconfig, namespace, pool):
        super(Janitor, self).__init__(daemon=True)
        self.api = client(kubeconfig)
        self.namespace, self.pool = namespace, pool
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for obj in self.api.read_pool(self.namespace, self.pool).members:
                if lease_spec.state_of(obj) != lease_spec.DIRTY:
                    continue
                try:
                    started = self.api.replace(lease_spec.start_reset(obj, "janitor:bench", 60, utcnow()))
                    self.api.replace(lease_spec.finish_reset(started, "janitor:bench", utcnow()))
                except Conflict:
                    pass
            self.stop.wait(0.02)


# ---------------------------------------------------------------- workers (separate processes)

def cas_worker(kubeconfig, namespace, pool, owner, cycles, hold, barrier, out):
    records = []
    barrier.wait()
    for _cycle in range(cycles):
        started = time.perf_counter()
        api = client(kubeconfig)
        result = ensure_lease(api, {"pool": pool, "namespace": namespace, "owner": owner, "wait": True,
                                    "wait_timeout": 600, "state": "present", "reset": "janitor"}, now=utcnow)
        took = time.perf_counter() - started
        since = time.time()
        time.sleep(hold / 1000.0)
        until = time.time()
        ensure_lease(api, {"pool": pool, "namespace": namespace, "owner": owner, "state": "absent", "reset": "janitor"},
                     now=utcnow)
        records.append({"member": result["member"]["id"], "since": since, "until": until, "took": took,
                        "waited": result["waited"], "calls": result["api_calls"], "conflicts": result["conflicts"]})
    out.put((owner, records))


def naive_worker(kubeconfig, namespace, pool, owner, cycles, hold, barrier, out):
    """The seed's "first available": list, pick, write without the resourceVersion."""
    records = []
    api = client(kubeconfig)
    barrier.wait()
    for _cycle in range(cycles):
        started = time.perf_counter()
        calls_before = sum(api.calls.values())
        while True:
            found = [m for m in api.read_pool(namespace, pool).members if lease_spec.state_of(m) == lease_spec.AVAILABLE]
            if found:
                body = lease_spec.acquire(found[0], owner, 600, utcnow())
                # No compare-and-swap: a merge patch without resourceVersion, the last writer wins.
                api.patch(spec.LEASE, namespace, body["metadata"]["name"],
                          {"metadata": {"annotations": {lease_spec.A_STATE: lease_spec.LOCKED}}, "spec": body["spec"]})
                break
            time.sleep(0.05)
        took = time.perf_counter() - started
        calls = sum(api.calls.values()) - calls_before
        member = lease_spec.member_id(found[0])
        since = time.time()
        time.sleep(hold / 1000.0)
        until = time.time()
        api.patch(spec.LEASE, namespace, spec.member_object_name(pool, member), {
            "metadata": {"annotations": {lease_spec.A_STATE: lease_spec.AVAILABLE}},
            "spec": {"holderIdentity": None, "acquireTime": None, "renewTime": None, "leaseDurationSeconds": None}})
        records.append({"member": member, "since": since, "until": until, "took": took, "waited": None,
                        "calls": calls, "conflicts": 0})
    out.put((owner, records))


def handovers(records):
    """Seconds from one holder's release call to the next holder having the member."""
    by_member = {}
    for rows in records.values():
        for row in rows:
            by_member.setdefault(row["member"], []).append((row["since"], row["until"]))
    gaps = []
    for holds in by_member.values():
        holds.sort()
        gaps.extend(max(0.0, nxt[0] - cur[1]) for cur, nxt in zip(holds, holds[1:]))
    return gaps


def overlaps(records):
    """Pairs of holds of one member by two owners that overlap in time: double assignments."""
    by_member = {}
    for owner, rows in records.items():
        for row in rows:
            by_member.setdefault(row["member"], []).append((row["since"], row["until"], owner))
    found = 0
    for holds in by_member.values():
        holds.sort()
        for i, (_since, until, owner) in enumerate(holds):
            for other_since, _until, other in holds[i + 1:]:
                if other_since >= until:
                    break
                if other != owner:
                    found += 1
    return found


def guarded(target, *args):
    """Run a worker; an exception is reported to the parent instead of leaving it waiting."""
    out = args[-1]
    try:
        target(*args)
    except Exception as exc:   # the parent prints it and stops
        out.put((args[3], "%s: %s" % (type(exc).__name__, exc)))


def run_workers(target, args, kubeconfig, namespace, pool):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(args.acquirers)
    out = ctx.Queue()
    procs = [ctx.Process(target=guarded, args=(target, kubeconfig, namespace, pool, "bench-%02d" % i, args.cycles,
                                               args.hold, barrier, out)) for i in range(args.acquirers)]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    records = dict(out.get(timeout=1800) for unused in procs)
    failed = {owner: rows for owner, rows in records.items() if isinstance(rows, str)}
    if failed:
        raise GhostError("%d worker(s) failed, e.g. %s" % (len(failed), sorted(failed.items())[0]))
    for proc in procs:
        proc.join(60)
    elapsed = time.monotonic() - started
    rows = [row for rows in records.values() for row in rows]
    took = [row["took"] for row in rows]
    return {"acquires": len(rows), "elapsed_s": round(elapsed, 1),
            "acquire_p50_ms": round(1000 * percentile(took, 0.5), 1), "acquire_p95_ms": round(1000 * percentile(took, 0.95), 1),
            "handover_p50_ms": round(1000 * percentile(handovers(records), 0.5), 1),
            "handover_p95_ms": round(1000 * percentile(handovers(records), 0.95), 1),
            "api_calls_per_acquire": round(statistics.mean(row["calls"] for row in rows), 2),
            "lost_writes_per_acquire": round(statistics.mean(row["conflicts"] for row in rows), 2),
            "double_assignments": overlaps(records)}


# ---------------------------------------------------------------- module runs (ansible processes)

def phase_summary(path):
    """Median and p95 milliseconds of each phase the module runs wrote (plugins/module_utils/_pool/phases.py)."""
    try:
        with open(path) as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
    except OSError:
        return {}
    names = sorted({name for line in lines for name in line["ms"]})
    out = {}
    for name in names + ["total"]:
        values = [line["total_ms"] if name == "total" else line["ms"].get(name, 0.0) for line in lines]
        calls = [line["calls"].get(name, 0) for line in lines]
        out[name] = {"p50_ms": round(percentile(values, 0.5), 1), "p95_ms": round(percentile(values, 0.95), 1),
                     "calls_per_run": round(statistics.mean(calls), 2) if name not in ("own", "total") else None}
    return out


def module_runs(args, kubeconfig, namespace, pool):
    phases_file = os.path.join(tempfile.mkdtemp(prefix="pool-bench-"), "phases.jsonl")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", K8S_AUTH_KUBECONFIG=kubeconfig, GHOST_POOL_PHASES=phases_file)
    procs = []
    for i in range(args.acquirers):
        module_args = json.dumps({"pool": pool, "namespace": namespace, "owner": "module-%02d" % i, "wait": False})
        procs.append(subprocess.Popen([ANSIBLE, "localhost", "-c", "local", "-m", "ghost.infra.cluster_pool_lease", "-a",
                                       module_args, "-e", "ansible_python_interpreter=%s" % sys.executable],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True))
    durations, calls, members, failed, failures = [], [], [], 0, []
    for proc in procs:
        out = proc.communicate(timeout=900)[0]
        match = re.search(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", out, re.S | re.M)
        if proc.returncode != 0 or not match:
            failed += 1
            failures.append(out.strip().splitlines()[-1][:300] if out.strip() else "exit %s" % proc.returncode)
            continue
        result = json.loads(match.group(2))
        durations.append(result["duration"])
        calls.append(result["api_calls"])
        members.append(result["member"]["id"])
    phases = phase_summary(phases_file)
    shutil.rmtree(os.path.dirname(phases_file), ignore_errors=True)
    for name, row in phases.items():
        print("  module phase %-10s p50 %7.1f ms  p95 %7.1f ms%s" % (
            name, row["p50_ms"], row["p95_ms"], "" if row["calls_per_run"] is None else "  (%s per run)" % row["calls_per_run"]))
    return {"runs": len(procs), "failed": failed, "distinct_members": len(set(members)),
            "module_p50_ms": round(1000 * percentile(durations, 0.5), 1),
            "module_p95_ms": round(1000 * percentile(durations, 0.95), 1),
            "api_calls_per_acquire": round(statistics.mean(calls), 2) if calls else None,
            "phases": phases, "failures": failures[:3]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acquirers", type=int, default=20)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--hold", type=int, default=50, help="ms a worker holds its member")
    parser.add_argument("--skip-module", action="store_true", help="skip the ansible module runs")
    add_arguments(parser, rounds=3, quick_rounds=1)
    args = parser.parse_args()
    args.cycles = rounds(args)
    kubeconfig = os.environ.get("K8S_AUTH_KUBECONFIG")
    if not kubeconfig:
        sys.exit("source .testbed/env.sh first (K8S_AUTH_KUBECONFIG)")
    namespace = "ghost-it-pool-bench-%06x" % random.randrange(16 ** 6)
    api = client(kubeconfig)
    figures = {"acquirers": args.acquirers, "members": args.members, "cycles": args.cycles, "hold_ms": args.hold}
    try:
        if not args.skip_module:
            make_pool(api, namespace, "module", ["m%02d" % i for i in range(args.acquirers)])
            figures["module"] = module_runs(args, kubeconfig, namespace, "module")
            print("module: %s" % json.dumps(figures["module"]), flush=True)
        for name, worker in (("cas", cas_worker), ("naive", naive_worker)):
            make_pool(api, namespace, name, ["m%d" % i for i in range(args.members)])
            janitor = Janitor(kubeconfig, namespace, name) if name == "cas" else None
            if janitor:
                janitor.start()
            try:
                figures[name] = run_workers(worker, args, kubeconfig, namespace, name)
            finally:
                if janitor:
                    janitor.stop.set()
                    janitor.join(10)
            print("%s: %s" % (name, json.dumps(figures[name])), flush=True)
    except GhostError as exc:
        sys.exit("benchmark failed: %s" % exc)
    finally:
        core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kubeconfig))
        core.delete_namespace(namespace)
    report(args, figures)


def report(args, figures):
    out = Report("cluster_pool_acquire", "cluster_pool_lease under %d-way contention (%d members in the queue workload)" % (
        args.acquirers, args.members), args)
    module = figures.get("module")
    if module:
        out.figure("module acquire, %d at once (module duration p50)" % module["runs"], unit="ms", value=module["module_p50_ms"])
        out.figure("module acquire, %d at once (module duration p95)" % module["runs"], unit="ms", value=module["module_p95_ms"],
                   target=Target("value", "<=", 250), notes="%d failed, %d distinct members" % (
                       module["failed"], module["distinct_members"]))
        out.figure("API calls per acquire (module)", unit="calls", value=module["api_calls_per_acquire"])
        for name, row in sorted((module.get("phases") or {}).items()):
            out.figure("module phase %s (p95; p50 %s ms)" % (name, row["p50_ms"]), unit="ms", value=row["p95_ms"])
    cas, naive = figures["cas"], figures["naive"]
    out.figure("queue workload: hand-over p50 (release call -> next holder)", unit="ms", value=cas["handover_p50_ms"])
    out.figure("queue workload: hand-over p95", unit="ms", value=cas["handover_p95_ms"])
    out.figure("queue workload: API calls per acquire (queue included)", unit="calls", value=cas["api_calls_per_acquire"])
    out.figure("double assignments with compare-and-swap", unit="", value=cas["double_assignments"],
               target=Target("value", "<=", 0), notes="%d acquires" % cas["acquires"])
    out.figure("double assignments, naive list + first available + write without resourceVersion", unit="",
               value=naive["double_assignments"], notes="%d acquires" % naive["acquires"])
    out.data["figures"] = figures
    out.write()


if __name__ == "__main__":
    main()
