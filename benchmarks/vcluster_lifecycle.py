#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A vcluster's create, no-op and delete: ghost.infra.vcluster vs a ghostctl-style script around the CLI.

Not a test: prints wall time per step, in alternating rounds. Both sides use the testbed's host
cluster, the vcluster CLI and chart the testbed installs, its values (no persistent volume) and
the stand-in that publishes the vcluster's kubeconfig pointing at the testbed's second API server
(GHOST_VCLUSTER_API). Each side ends a step with a kubeconfig that answers ``/version``.

- ghost.infra: ``ghost.infra.vcluster`` state present (waits: pod Ready, kubeconfig published,
  API answers), the same task again (no-op), then state absent (waits until gone).
- the script (what ghostctl-style tooling does): ``vcluster create NAME --connect=false`` (with
  ``--upgrade`` when ``vcluster list`` already shows it: the CLI fails on an existing vcluster
  otherwise), ``kubectl wait`` for the pod labelled ``app=vcluster,release=NAME`` every second,
  ``vcluster connect --print --server`` into a file (bounded by ``timeout``: it can hang),
  ``kubectl version`` through it; delete is ``vcluster delete`` and a poll until the pod is gone.

    make testbed-up && source .testbed/env.sh
    tools/in-stage $PWD/.venv/bin/python benchmarks/vcluster_lifecycle.py [--rounds 2] [--quick] [--json out.json]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

from _report import Report, add_arguments, alternate, rounds

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = r"""#!/bin/bash
# ghostctl-style: create (or upgrade), wait for the pod, fetch the kubeconfig, check it; or delete.
set -euo pipefail
action=$1 name=$2 ns=$3 out=$4
if [ "$action" = delete ]; then
  vcluster delete "$name" -n "$ns" --delete-namespace=false >/dev/null
  while kubectl get pod -n "$ns" -l "app=vcluster,release=$name" -o name | grep -q .; do sleep 1; done
  exit 0
fi
upgrade=()
if vcluster list --output json | grep -q "\"Name\": \"$name\""; then upgrade=(--upgrade); fi
vcluster create "$name" -n "$ns" --connect=false "${upgrade[@]}" --local-chart-dir "$CHART_DIR" \
  -f "$VALUES" --set "exportKubeConfig.server=$SERVER" >/dev/null
until kubectl wait pod -n "$ns" -l "app=vcluster,release=$name" --for=condition=Ready --timeout=1s >/dev/null 2>&1; do
  sleep 1
done
for _try in $(seq 60); do
  if timeout 30 vcluster connect "$name" -n "$ns" --print --server "$SERVER" > "$out.tmp" 2>/dev/null \
     && grep -q "^apiVersion" "$out.tmp"; then
    sed -n '/^apiVersion/,$p' "$out.tmp" | sed '/^Forwarding from/d' > "$out"
    break
  fi
  sleep 1
done
kubectl --kubeconfig "$out" version >/dev/null
"""

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: vcluster {{ state }}
      ghost.infra.vcluster:
        name: "{{ vc_name }}"
        namespace: "{{ ns }}"
        state: "{{ state }}"
        server: "{{ server }}"
        chart_dir: "{{ chart_dir }}"
        values_files: "{{ values_files }}"
        kubeconfig_dest: "{{ out }}"
        registry: false
        wait_timeout: 600
      register: result
    - name: Changed as expected
      ansible.builtin.assert:
        that: result.changed == (expect_changed | bool)
"""


def need(name):
    value = os.environ.get(name)
    if not value:
        sys.exit("%s is not set: make testbed-up && source .testbed/env.sh" % name)
    return value


def values_file():
    """The testbed's vcluster values (no persistent volume: the testbed has no provisioner).
    GHOST_VCLUSTER_VALUES can name a staged copy that is gone; this tree has the same file."""
    given = os.environ.get("GHOST_VCLUSTER_VALUES")
    if given and os.path.isfile(given):
        return given
    return os.path.join(os.path.dirname(HERE), "tests", "testbed", "manifests", "vcluster-values.yaml")


class Bench:
    def __init__(self, tmp):
        self.tmp = tmp
        self.env = dict(os.environ, HOME=os.path.join(tmp, "home"), ANSIBLE_NOCOLOR="1",
                        CHART_DIR=need("GHOST_VCLUSTER_CHART_DIR"), VALUES=values_file(),
                        SERVER=need("GHOST_VCLUSTER_API"))
        os.makedirs(self.env["HOME"])
        # The testbed has no internet: no usage reporting from this HOME either.
        subprocess.run(["vcluster", "telemetry", "disable"], env=self.env, capture_output=True, check=True)
        self.script = os.path.join(tmp, "ghostctl.sh")
        with open(self.script, "w") as handle:
            handle.write(SCRIPT)
        self.play = os.path.join(tmp, "play.yml")
        with open(self.play, "w") as handle:
            handle.write(PLAY)
        self.count = 0
        self.made = []

    def names(self, side):
        self.count += 1
        suffix = "%s%d" % (secrets.token_hex(2), self.count)
        name, ns = "bench-%s-%s" % (side, suffix), "bench-vc-%s-%s" % (side, suffix)
        self.made.append(ns)
        return name, ns

    def timed(self, cmd):
        started = time.monotonic()
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=False, timeout=1200)
        if proc.returncode != 0:
            sys.exit("failed: %s\n%s\n%s" % (" ".join(cmd), proc.stdout[-3000:], proc.stderr[-3000:]))
        return time.monotonic() - started

    def ours(self):
        name, ns = self.names("g")
        out = os.path.join(self.tmp, name + ".yaml")

        def step(state, changed):
            extra = {"vc_name": name, "ns": ns, "state": state, "server": self.env["SERVER"],
                     "chart_dir": self.env["CHART_DIR"], "values_files": [self.env["VALUES"]], "out": out,
                     "expect_changed": changed}
            return self.timed([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                               self.play, "-e", json.dumps(extra), "-e", "ansible_python_interpreter=%s" % sys.executable])
        return {"create": step("present", True), "noop": step("present", False), "delete": step("absent", True)}

    def theirs(self):
        name, ns = self.names("s")
        out = os.path.join(self.tmp, name + ".yaml")
        return {"create": self.timed(["bash", self.script, "create", name, ns, out]),
                "noop": self.timed(["bash", self.script, "create", name, ns, out]),
                "delete": self.timed(["bash", self.script, "delete", name, ns, out])}

    def cleanup(self):
        for ns in self.made:
            subprocess.run(["kubectl", "delete", "namespace", ns, "--ignore-not-found", "--wait=false"],
                           env=self.env, capture_output=True, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    args = add_arguments(parser, rounds=2, quick_rounds=1).parse_args()
    report = Report("vcluster_lifecycle", "vcluster create / no-op / delete: ghost.infra.vcluster vs a CLI script", args)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(tmp)
        try:
            ours, theirs = alternate(rounds(args), bench.ours, bench.theirs)
        finally:
            bench.cleanup()
    labels = ("ghost.infra.vcluster (ansible-playbook)", "vcluster CLI + kubectl script")
    for step, what in (("create", "create, wait until its API answers"), ("noop", "again, nothing to do"),
                       ("delete", "delete, wait until gone")):
        report.compare("%s (wall time)" % what, unit="s", ours=(labels[0], [r[step] for r in ours]),
                       anchor=(labels[1], [r[step] for r in theirs]))
    report.write()


if __name__ == "__main__":
    main()
