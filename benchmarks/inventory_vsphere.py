#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.vsphere vs community.vmware.vmware_vm_inventory and vmware.vmware.vms on a
simulator with 2,000 VMs: wall time and vSphere API calls per refresh.

Not a test: prints the figures and the ratios (target: ghost.infra.vsphere >= 20x faster than
the fastest of the others). Each plugin runs with its defaults and must list every VM, two ways:
``ansible-inventory --list`` (a new process per refresh, as AWX runs it: Python and Ansible
start-up, the refresh, the JSON output) and the refresh alone (the time InventoryManager takes
to parse the source, in a process of its own: plugin loading with its imports, API calls,
adding the hosts). For ghost.infra.vsphere, its vSphere read alone (no Ansible) shows what the
simulator costs. A plugin that cannot list the simulator's VMs is reported with its exact
error and left out of the comparisons. Wall times come from a simulator without tracing; the
API calls from a second simulator with ``-trace``, one refresh per plugin (tracing slows the
simulator, more so for plugins that make many calls, so it is kept out of the timings).
vmware.vmware.vms is measured when the ``vmware.vmware`` collection is installed (the
``ansible`` package ships it). ``--quick`` (make bench BENCH_ARGS=--quick): 300 VMs, one round.

    tools/in-stage $PWD/.venv/bin/python benchmarks/inventory_vsphere.py [--vms 2000] [--rounds 2] [--delay-ms 0]
        [--quick] [--json FILE] [--no-calls] [--skip vmware.vmware.vms]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from _report import Report, Target, add_arguments, alternate, rounds
from _vsphere_bench import Simulator, collections_path

PLUGINS = [
    # (name, source file name (each plugin wants its own suffix), source text)
    ("ghost.infra.vsphere", "bench.ghost.infra.vsphere.yml", "plugin: ghost.infra.vsphere\n"),
    ("community.vmware.vmware_vm_inventory", "bench.vmware.yml", "plugin: community.vmware.vmware_vm_inventory\n"),
    ("vmware.vmware.vms", "bench.vmware_vms.yml", "plugin: vmware.vmware.vms\n"),
]
BASELINE = ("baseline (ansible-inventory, static file)", "bench.yml", "all:\n  hosts:\n    one:\n")


def installed(plugin):
    namespace, name, short = plugin.split(".")
    if namespace == "ghost":
        return True
    return importlib.util.find_spec("ansible_collections.%s.%s.plugins.inventory.%s" % (namespace, name, short)) is not None


# The refresh alone: InventoryManager parsing the source, timed inside a process of its own.
PARSE_ONLY = """\
import json, sys, time
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader()
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
started = time.monotonic()
inventory = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
print(json.dumps({"seconds": time.monotonic() - started, "hosts": len(inventory.hosts)}))
"""


# ghost.infra.vsphere's vSphere read alone (log in, the paged view read, log out, the records):
# what the simulator and the network cost, apart from Ansible.
READ_ONLY = """\
import json, os, sys, time
import pyVmomi
from ansible_collections.ghost.infra.plugins.module_utils._inventory import vsphere_client
options = {"hostname": os.environ["VMWARE_HOST"], "username": os.environ["VMWARE_USER"],
           "password": os.environ["VMWARE_PASSWORD"], "port": int(os.environ["VMWARE_PORT"]), "validate_certs": False}
started = time.monotonic()
inventory = vsphere_client.read_inventory(options, timeout=600)
print(json.dumps({"seconds": time.monotonic() - started, "hosts": len(inventory["vms"])}))
"""


class RefreshFailed(Exception):
    """A plugin could not list the simulator's VMs; the message is its own error."""


def _error_of(stderr):
    """The lines of ansible-inventory's stderr that say why a source failed, joined."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    picked = [line for line in lines if re.search(r"ERROR|Failed to parse|Error|error|Exception|Traceback", line)]
    text = " | ".join(picked or lines[-5:])
    return text[-800:] or "no error output"


def _env(tmp, env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    env.update({"ANSIBLE_COLLECTIONS_PATH": collections_path(), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true", "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "tmp"),
                "PYTHONPATH": os.pathsep.join([collections_path()] + [p for p in [os.environ.get("PYTHONPATH")] if p])})
    return env


def refresh(tmp, filename, text, env_extra, *, expect=None, mode="list"):
    """One refresh of a new source file: ``ansible-inventory --list`` (mode "list"), the
    source's parse alone ("parse") or ghost.infra.vsphere's vSphere read alone ("read");
    (seconds, hosts listed). RefreshFailed with the plugin's error when it fails or misses VMs."""
    path = os.path.join(tmp, filename)
    with open(path, "w") as handle:
        handle.write(text)
    inventory_cli = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    cmd = {"list": [inventory_cli, "-i", path, "--list"], "parse": [sys.executable, "-c", PARSE_ONLY, path],
           "read": [sys.executable, "-c", READ_ONLY]}[mode]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=_env(tmp, env_extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=7200, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RefreshFailed("exit %d: %s" % (proc.returncode, _error_of(proc.stderr)))
    if mode == "list":
        hosts = len(json.loads(proc.stdout)["_meta"]["hostvars"])
    else:
        found = json.loads(proc.stdout.strip().splitlines()[-1])
        elapsed, hosts = found["seconds"], found["hosts"]
    if expect is not None and hosts != expect:
        raise RefreshFailed("listed %d hosts, not %d: %s" % (hosts, expect, _error_of(proc.stderr)))
    return elapsed, hosts


TARGET = Target("ratio", ">=", 20)
MODES = (("list", "ansible-inventory --list"), ("parse", "the refresh alone (InventoryManager parse)"))


def probe(report, tmp, sim, plugins, vms):
    """The plugins that list every VM of the simulator; a plugin that cannot is reported with
    its exact error as its figure, and left out of the comparisons."""
    working = []
    for name, filename, text in plugins:
        try:
            seconds, _hosts = refresh(tmp, filename, text, sim.env(), expect=vms)
        except RefreshFailed as exc:
            report.figure("%s cannot refresh against the simulator (%d VMs)" % (name, vms), unit="s", value=None,
                          notes="FAILED: %s" % exc)
            continue
        print("  first refresh (not counted) %-40s %8.2f s" % (name, seconds), flush=True)
        working.append((name, filename, text))
    return working


def measure(report, args, tmp, sim, vms, anchors):
    ours = PLUGINS[0]
    for mode, label in MODES:
        for name, filename, text in anchors:
            def side(plugin_file, plugin_text, how=mode):
                return lambda: refresh(tmp, plugin_file, plugin_text, sim.env(), expect=vms, mode=how)[0]

            mine, theirs = alternate(rounds(args), side(ours[1], ours[2]), side(filename, text))
            report.compare("%d VMs, %s (%d ms per call)" % (vms, label, args.delay_ms), unit="s",
                           ours=(ours[0], mine), anchor=(name, theirs), target=TARGET)
    read = [refresh(tmp, ours[1], ours[2], sim.env(), expect=vms, mode="read")[0] for _round in range(rounds(args))]
    report.figure("%d VMs, ghost.infra.vsphere's vSphere read alone (log in, paged view read, log out, records)"
                  % vms, unit="s", value=min(read), samples=read)


def count_calls(report, args, tmp, inventory, vms, plugins):
    with Simulator(inventory, delay_ms=args.delay_ms, trace=True) as sim:
        print("traced simulator up in %.0f s" % sim.startup, flush=True)
        for name, filename, text in plugins:
            try:
                calls = sim.soap_calls(refresh, tmp, filename, text, sim.env())
            except RefreshFailed as exc:
                report.figure("SOAP calls of one refresh of %d VMs, %s" % (vms, name), unit="calls", value=None,
                              notes="FAILED: %s" % exc)
                continue
            top = ", ".join("%s %d" % (m, c) for m, c in sorted(calls.items(), key=lambda i: -i[1])[:4])
            report.figure("SOAP calls of one refresh of %d VMs, %s" % (vms, name), unit="calls",
                          value=sum(calls.values()), notes=top)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vms", type=int, default=None, help="VMs in the simulator (default 2000, 300 with --quick)")
    parser.add_argument("--delay-ms", type=int, default=0, help="latency the simulator adds to every SOAP call")
    parser.add_argument("--no-calls", action="store_true", help="skip the traced simulator (API call counts)")
    parser.add_argument("--skip", action="append", default=[], metavar="PLUGIN",
                        help="leave a plugin out (vmware.vmware.vms makes calls per VM: slow with --delay-ms)")
    args = add_arguments(parser, rounds=2, quick_rounds=1).parse_args()
    vms = args.vms or (300 if args.quick else 2000)
    report = Report("inventory_vsphere", "inventory refresh of %d VMs, %d ms per SOAP call: ghost.infra.vsphere vs "
                    "the other vSphere inventory plugins" % (vms, args.delay_ms), args)
    inventory = ["-template", "", "-dc", "1", "-cluster", "1", "-host", "1", "-standalone-host", "0", "-pool", "0",
                 "-vm", str(vms), "-folder", "0"]
    for name, _filename, _text in PLUGINS[1:]:
        if not installed(name):
            report.figure("%s: not installed, not measured" % name, unit="s", value=None)
    candidates = [p for p in PLUGINS if installed(p[0]) and p[0] not in args.skip]
    with tempfile.TemporaryDirectory() as tmp:
        with Simulator(inventory, delay_ms=args.delay_ms) as sim:
            print("simulator with %d VMs up in %.0f s (port %d)" % (vms, sim.startup, sim.port), flush=True)
            working = probe(report, tmp, sim, candidates, vms)
            if not working or working[0][0] != PLUGINS[0][0]:
                report.write()
                sys.exit("ghost.infra.vsphere did not list the simulator's VMs")
            base = [refresh(tmp, BASELINE[1], BASELINE[2], {})[0] for _round in range(rounds(args))]
            report.figure("ansible-inventory --list of a static one-host file (its own start-up)", unit="s",
                          value=min(base), samples=base)
            measure(report, args, tmp, sim, vms, working[1:])
        if not args.no_calls:
            count_calls(report, args, tmp, inventory, vms, working)
    report.write()


if __name__ == "__main__":
    main()
