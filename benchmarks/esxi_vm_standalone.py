#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Creating a VM on a standalone ESXi host: ghost.infra.esxi_vm vs community.vmware.vmware_guest.

Not a test: prints SOAP calls and wall time. A private ESX simulator (the testbed's vcsim with
-esx, which answers CloneVM_Task with NotSupported as hostd does) gets, per round, one VM made by
esxi_vm from the template with cloud-init (folder, disk copy, CreateVM_Task, power-on), then
deleted; vmware_guest is run with the same request once, to show what it does on such a host.
For reference the same esxi_vm create runs against a private vCenter simulator (one CloneVM_Task).

    tools/in-stage $PWD/.venv/bin/python benchmarks/esxi_vm_standalone.py [--rounds 5] [--delay-ms 0]
        [--quick] [--json out.json]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _report import Report, add_arguments, rounds
from _vsphere_bench import USER, Simulator, collections_path, module_path

TEMPLATE = "ubuntu-22.04-template"
ESX = ["-esx", "-template", TEMPLATE]
VCENTER = ["-template", TEMPLATE, "-dc", "1", "-cluster", "1", "-host", "1", "-ds", "1", "-vm", "0"]


def run_once(fqcn, args, env_extra=None):
    """One module process, as Ansible runs it on the target; returns (seconds, result)."""
    root, path = module_path(fqcn)
    env = dict(os.environ)
    env.update(env_extra or {})
    env["PYTHONPATH"] = os.pathsep.join([root, collections_path()])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    try:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, path, handle.name], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=600, check=False)
        elapsed = time.monotonic() - started
    finally:
        os.unlink(handle.name)
    try:
        return elapsed, json.loads(proc.stdout)
    except ValueError:
        return elapsed, {"failed": True, "msg": (proc.stdout + proc.stderr)[-500:]}


def first_line(text, *words):
    """The first line of ``text`` holding one of ``words`` (a pyVmomi fault dump is long)."""
    lines = (text or "").splitlines()
    for line in lines:
        if any(w in line for w in words):
            return line.strip()[:200]
    return lines[0][:200] if lines else ""


def connection(sim):
    return {"hostname": "127.0.0.1", "port": sim.port, "username": USER, "password": sim.password,
            "validate_certs": False}


def ours(sim, name):
    return dict(connection(sim), name=name, template=TEMPLATE, state="poweredon", disk_gb=20,
                cloud_init={"hostname": name, "ip": "192.0.2.40/24", "gateway": "192.0.2.1"})


def _create(sim, name, holder):
    holder["t"], holder["r"] = run_once("ghost.infra.esxi_vm", ours(sim, name))


def creates(report, sim, label, runs):
    """Create and delete a VM ``runs`` times; report the create times and the calls of one."""
    times, calls = [], None
    for i in range(runs):
        name = "bench-sa-%d" % i
        holder = {}
        counted = sim.soap_calls(_create, sim, name, holder)
        if holder["r"].get("failed") or not holder["r"].get("changed"):
            sys.exit("%s: esxi_vm did not create %s: %s" % (label, name, holder["r"].get("msg")))
        times.append(holder["t"])
        calls = calls or counted
        _t, gone = run_once("ghost.infra.esxi_vm", dict(ours(sim, name), state="absent", force=True))
        if gone.get("failed"):
            sys.exit("%s: esxi_vm did not delete %s: %s" % (label, name, gone.get("msg")))
    report.figure("%s: esxi_vm create (template -> powered on, cloud-init, 20 GB disk)" % label, unit="s",
                  value=sorted(times)[len(times) // 2], samples=times)
    report.figure("%s: SOAP calls of one create" % label, unit="calls", value=sum(calls.values()), notes=", ".join(
        "%s %d" % kv for kv in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--delay-ms", type=int, default=0, help="latency the simulator adds to every SOAP call")
    args = add_arguments(parser, rounds=5, quick_rounds=2).parse_args()
    report = Report("esxi_vm_standalone", "esxi_vm creating a VM on a standalone ESXi host (no CloneVM_Task)", args)
    with Simulator(ESX, delay_ms=args.delay_ms, trace=True) as sim:
        print("standalone ESX simulator up in %.1f s (port %d, %d ms per call)" % (sim.startup, sim.port, args.delay_ms))
        creates(report, sim, "standalone host", rounds(args))
        theirs = dict(connection(sim), datacenter="ha-datacenter", folder="/ha-datacenter/vm", name="bench-vg",
                      template=TEMPLATE, state="poweredon", datastore="LocalDS_0",
                      disk=[{"size_gb": 20, "type": "thin", "datastore": "LocalDS_0"}])
        elapsed, result = run_once("community.vmware.vmware_guest", theirs)
        report.figure("standalone host: community.vmware.vmware_guest, same request", unit="s", value=round(elapsed, 2),
                      notes="%s: %s" % ("FAILED" if result.get("failed") else "changed=%s" % result.get("changed"),
                                        first_line(result.get("msg"), "NotSupported", "not supported")))
    with Simulator(VCENTER, delay_ms=args.delay_ms, trace=True) as sim:
        creates(report, sim, "vCenter (reference)", rounds(args))
    report.write()


if __name__ == "__main__":
    main()
