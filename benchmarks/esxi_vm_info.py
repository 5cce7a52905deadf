#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.esxi_vm_info vs community.vmware.vmware_vm_info on a simulator with 2,000 VMs.

Not a test: prints timings and the ratio (target >= 25x). Both modules run with their
defaults through ansible-playbook, in alternating rounds, and must return every VM. esxi_vm_info
reads everything with one paged RetrievePropertiesEx; vmware_vm_info makes several calls per VM.
A playbook of the same shape with a module that does nothing gives ansible-playbook's own time.

    tools/in-stage $PWD/.venv/bin/python benchmarks/esxi_vm_info.py [--vms 2000] [--rounds 3] [--delay-ms 0]
        [--quick] [--json out.json]

The simulator has no template: vmware_vm_info with its defaults fails on vcsim's template
(an unset resourcePool reference pyVmomi cannot read).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse

from _report import Report, Target, add_arguments, alternate, rounds
from _vsphere_bench import Simulator, run_playbook

TARGET = Target("ratio", ">=", 25)

PLAY = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: List every VM
      {module}:
      register: listed
    - name: Every VM was listed
      ansible.builtin.assert:
        that: listed.{key} | length == {vms}
        quiet: true
"""

# The same playbook shape with a module that does nothing: ansible-playbook's own time.
BASELINE = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.ping:
    - name: Nothing either
      ansible.builtin.assert:
        that: true
        quiet: true
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vms", type=int, default=2000)
    parser.add_argument("--delay-ms", type=int, default=0, help="latency the simulator adds to every SOAP call")
    args = add_arguments(parser, rounds=3, quick_rounds=1).parse_args()
    report = Report("esxi_vm_info", "esxi_vm_info vs community.vmware.vmware_vm_info, %d VMs" % args.vms, args)
    inventory = ["-template", "", "-dc", "1", "-cluster", "1", "-host", "1", "-standalone-host", "0", "-pool", "0",
                 "-vm", str(args.vms), "-folder", "0"]
    with Simulator(inventory, delay_ms=args.delay_ms) as sim:
        print("simulator with %d VMs up in %.0f s (port %d, %d ms per call)" % (
            args.vms, sim.startup, sim.port, args.delay_ms))
        ours, theirs = alternate(
            rounds(args),
            lambda: run_playbook(PLAY.format(module="ghost.infra.esxi_vm_info", key="vms", vms=args.vms), sim.env()),
            lambda: run_playbook(PLAY.format(module="community.vmware.vmware_vm_info", key="virtual_machines",
                                             vms=args.vms), sim.env()))
        base = [run_playbook(BASELINE, sim.env()) for _round in range(rounds(args))]
    report.compare("list %d VMs (playbook wall time, %d ms per call)" % (args.vms, args.delay_ms), unit="s",
                   ours=("ghost.infra.esxi_vm_info", ours), anchor=("community.vmware.vmware_vm_info", theirs),
                   target=TARGET, notes=_without_baseline(ours, theirs, base))
    report.figure("ansible-playbook's own time (same playbook, ansible.builtin.ping)", unit="s",
                  value=min(base), samples=base)
    report.write()


def _without_baseline(ours, theirs, base):
    """The ratio of the modules' own time: each side's median minus the do-nothing playbook's."""
    floor = min(base)
    mine, other = sorted(ours)[len(ours) // 2] - floor, sorted(theirs)[len(theirs) // 2] - floor
    if mine <= 0:
        return "esxi_vm_info is within ansible-playbook's own time (%.2f s)" % floor
    return "without ansible-playbook's own %.2f s: %.1fx" % (floor, other / mine)


if __name__ == "__main__":
    main()
