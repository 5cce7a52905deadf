#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.esxi_vm_info vs community.vmware.vmware_vm_info on a simulator with 2,000 VMs.

Not a test: prints timings and the ratio (target >= 10x). Both modules run with their
defaults through ansible-playbook and must return every VM. esxi_vm_info reads everything
with one paged RetrievePropertiesEx; vmware_vm_info makes several calls per VM.

    tools/in-stage $PWD/.venv/bin/python benchmarks/esxi_vm_info.py [--vms 2000] [--runs 1] [--delay-ms 0]

The simulator has no template: vmware_vm_info with its defaults fails on vcsim's template
(an unset resourcePool reference pyVmomi cannot read).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse

from _vsphere_bench import Simulator, report, run_playbook

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
    parser.add_argument("--runs", type=int, default=1, help="runs of each module (the best is compared)")
    parser.add_argument("--delay-ms", type=int, default=0, help="latency the simulator adds to every SOAP call")
    args = parser.parse_args()
    inventory = ["-template", "", "-dc", "1", "-cluster", "1", "-host", "1", "-standalone-host", "0", "-pool", "0",
                 "-vm", str(args.vms), "-folder", "0"]
    with Simulator(inventory, delay_ms=args.delay_ms) as sim:
        print("simulator with %d VMs up in %.0f s (port %d, %d ms per call)" % (
            args.vms, sim.startup, sim.port, args.delay_ms))
        ours, theirs, base = [], [], []
        for _run in range(args.runs):
            ours.append(run_playbook(PLAY.format(module="ghost.infra.esxi_vm_info", key="vms", vms=args.vms),
                                     sim.env()))
            theirs.append(run_playbook(PLAY.format(module="community.vmware.vmware_vm_info",
                                                   key="virtual_machines", vms=args.vms), sim.env()))
            base.append(run_playbook(BASELINE, sim.env()))
    report("esxi_vm_info vs vmware_vm_info, %d VMs:" % args.vms,
           [("ghost.infra.esxi_vm_info", ours), ("community.vmware.vmware_vm_info", theirs)], baseline=base)


if __name__ == "__main__":
    main()
