#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""20 idempotent ghost.infra.esxi_vm runs vs 20 of community.vmware.vmware_guest.

Not a test: prints timings and ratios. A VM is created once; then each module is run 20 times
with the same desired state (exists, powered on, 2 CPUs, 2048 MiB; esxi_vm also checks its
cloud-init guestinfo) and must report no change every time, in alternating rounds. The simulator
is a vCenter laid out like the testbed's, once without and once with added latency per SOAP call
(``--delay-ms``, vcsim ``-delay``). SOAP calls of one no-op are counted from the simulator's trace.

Targets: ratio >= 3x at 10 ms per call; at most 4 SOAP calls per esxi_vm no-op (login, one read,
logout is the floor).

    tools/in-stage $PWD/.venv/bin/python benchmarks/esxi_vm_noop.py [--rounds 3] [--delay-ms 0 10]
        [--quick] [--json out.json]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse

from _report import Report, Target, add_arguments, alternate, rounds
from _vsphere_bench import USER, Simulator, run_module, run_playbook

TEMPLATE = "ubuntu-22.04-template"
INVENTORY = ["-template", TEMPLATE, "-dc", "1", "-cluster", "1", "-host", "1", "-ds", "2", "-vm", "2",
             "-pool", "1", "-folder", "1", "-pg", "2"]
COUNT = 20
RATIO_TARGET_AT_MS = 10
RATIO_TARGET = Target("ratio", ">=", 3)
CALLS_TARGET = Target("value", "<=", 4)

CLOUD_INIT = """
        cloud_init:
          hostname: bench1
          ip: 192.0.2.20/24
          gateway: 192.0.2.1
          dns: [192.0.2.53]
"""

SETUP = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Create the VM once
      ghost.infra.esxi_vm:
        name: bench1
        template: %s
        cpu: 2
        memory_mb: 2048
%s""" % (TEMPLATE, CLOUD_INIT)

OURS = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: esxi_vm, already as wanted
      ghost.infra.esxi_vm:
        name: bench1
        template: %s
        cpu: 2
        memory_mb: 2048
        state: poweredon
%s      loop: "{{ range(%d) | list }}"
      register: runs
    - name: No run changed anything
      ansible.builtin.assert:
        that: runs.results | select('changed') | list == []
        quiet: true
""" % (TEMPLATE, CLOUD_INIT, COUNT)

THEIRS = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: vmware_guest, already as wanted
      community.vmware.vmware_guest:
        hostname: "{{ lookup('env', 'VMWARE_HOST') }}"
        port: "{{ lookup('env', 'VMWARE_PORT') }}"
        username: "{{ lookup('env', 'VMWARE_USER') }}"
        password: "{{ lookup('env', 'VMWARE_PASSWORD') }}"
        validate_certs: false
        datacenter: DC0
        name: bench1
        template: %s
        state: poweredon
        hardware:
          num_cpus: 2
          memory_mb: 2048
      loop: "{{ range(%d) | list }}"
      register: runs
    - name: No run changed anything
      ansible.builtin.assert:
        that: runs.results | select('changed') | list == []
        quiet: true
""" % (TEMPLATE, COUNT)

BASELINE = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Nothing, %d times
      ansible.builtin.ping:
      loop: "{{ range(%d) | list }}"
      register: runs
    - name: Nothing either
      ansible.builtin.assert:
        that: runs.results | select('changed') | list == []
        quiet: true
""" % (COUNT, COUNT)


def module_args(sim):
    """The same desired state as the playbooks, for running the modules' processes directly."""
    connection = {"hostname": "127.0.0.1", "port": sim.port, "username": USER, "password": sim.password,
                  "validate_certs": False}
    ours = dict(connection, name="bench1", template=TEMPLATE, cpu=2, memory_mb=2048, state="poweredon",
                cloud_init={"hostname": "bench1", "ip": "192.0.2.20/24", "gateway": "192.0.2.1",
                            "dns": ["192.0.2.53"]})
    theirs = dict(connection, datacenter="DC0", name="bench1", template=TEMPLATE, state="poweredon",
                  hardware={"num_cpus": 2, "memory_mb": 2048})
    return ours, theirs


def one_delay(report, args, delay_ms):
    with Simulator(INVENTORY, delay_ms=delay_ms, trace=True) as sim:
        print("simulator up in %.1f s (port %d, %d ms per call)" % (sim.startup, sim.port, delay_ms))
        run_playbook(SETUP, sim.env())
        ours_args, theirs_args = module_args(sim)
        for label, fqcn, module_arguments in (("ghost.infra.esxi_vm", "ghost.infra.esxi_vm", ours_args),
                                              ("community.vmware.vmware_guest", "community.vmware.vmware_guest",
                                               theirs_args)):
            calls = sim.soap_calls(run_module, fqcn, module_arguments, 1, {})
            report.figure("SOAP calls of one %s no-op (%d ms per call)" % (label, delay_ms), unit="calls",
                          value=sum(calls.values()), target=CALLS_TARGET if fqcn.startswith("ghost") else None,
                          notes=", ".join("%s %d" % item for item in sorted(calls.items(), key=lambda kv: -kv[1])))
        count = rounds(args)
        target = RATIO_TARGET if delay_ms == RATIO_TARGET_AT_MS else None
        ours, theirs = alternate(count, lambda: run_playbook(OURS, sim.env()), lambda: run_playbook(THEIRS, sim.env()))
        base = [run_playbook(BASELINE, sim.env()) for _round in range(count)]
        report.compare("%d no-op runs through ansible-playbook, %d ms per call" % (COUNT, delay_ms), unit="s",
                       ours=("ghost.infra.esxi_vm", ours), anchor=("community.vmware.vmware_guest", theirs),
                       target=target, notes="ansible-playbook's own time for %d ping tasks: %.2f s" % (COUNT, min(base)))
        if not args.quick:
            ours, theirs = alternate(count, lambda: run_module("ghost.infra.esxi_vm", ours_args, COUNT, {}),
                                     lambda: run_module("community.vmware.vmware_guest", theirs_args, COUNT, {}))
            report.compare("%d no-op runs of the module processes themselves, %d ms per call" % (COUNT, delay_ms),
                           unit="s", ours=("ghost.infra.esxi_vm", ours),
                           anchor=("community.vmware.vmware_guest", theirs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--delay-ms", type=int, nargs="+", default=[0, RATIO_TARGET_AT_MS],
                        help="latencies the simulator adds to every SOAP call, one simulator each")
    args = add_arguments(parser, rounds=3, quick_rounds=1).parse_args()
    report = Report("esxi_vm_noop", "esxi_vm no-op x%d vs community.vmware.vmware_guest" % COUNT, args)
    for delay_ms in args.delay_ms:
        one_delay(report, args, delay_ms)
    report.write()


if __name__ == "__main__":
    main()
