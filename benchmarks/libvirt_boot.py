#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: power-on to cloud-init done for the testbed's real Debian guest under TCG.

ghost.infra.libvirt_domain boots the image of tests/testbed/guest_image.sh (direct kernel boot,
serial console to a file, a NoCloud seed with a host name, an SSH key, a write_files marker and
a runcmd) and the benchmark reads the console until cloud-init's final line. Measured:

- ``uptime``: the guest's uptime in cloud-init's "finished at ... Up N seconds" line (kernel
  start to cloud-init done, whatever the host does meanwhile);
- ``wall``: from the module's start call to that line appearing in the console file (what a
  playbook waits), including QEMU start and firmware;
- ``qemu cpu``: CPU seconds the QEMU process used until then (its TCG threads: the guest's
  work), with the host's steal time over the same span. CPU seconds leave out the time the
  host below took the core away, but not how fast it runs meanwhile: on a shared host the same
  image took 39 to 65 s of uptime and 54 to 65 CPU s within two hours. Compare images run by
  run, alternating, and with several runs each;
- with ``--analyze``: what the guest says about where the time went, printed by a runcmd
  (``systemd-analyze``, ``systemd-analyze blame``, ``systemd-analyze critical-chain``,
  ``cloud-init analyze show``).

The guest has one NIC on an isolated libvirt network created for the run (198.51.100.128/25, no
forward, no DNS; ``--network dhcp`` adds a DHCP range and leaves the address to dnsmasq,
``--network none`` boots without a NIC). Runs one after the other (the host has few cores).

    make testbed-up && source .testbed/env.sh
    tools/in-stage $PWD/.venv/bin/python benchmarks/libvirt_boot.py [--runs 3] [--vcpus 1] [--analyze] [--json out.json]

Target (issue 14): cloud-init done within 30 s of guest uptime under TCG (median of the runs).

Two image recipes compare run by run on the same machine load: ``--recipe old/guest_image.sh``
with GHOST_CACHE pointing at a cache of its own (the recipe builds there).
The guest's uptime grows with the host's load (TCG needs a whole core): compare runs made at
the same time, and quote the load average printed with the figures.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import libvirt

from _report import Report, Target, add_arguments, rounds

# The kernel command line the real-guest tests boot with (why: its comment) and cloud-init's
# final console line: one definition, shared with the tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration", "libvirt"))
from real_guest import CMDLINE, FINAL  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
# Not "bench-*": benchmarks/libvirt_domains.py removes every domain of that prefix.
NAME = "ghost-bootbench"
NETWORK = "ghost-bootbench-net"
RESULT = re.compile(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", re.S | re.M)
# systemd-analyze answers once the boot is over, which is after this runcmd (cloud-final is
# part of the boot): a background job waits for it (cloud-final's KillMode=process keeps it).
ANALYZE = [
    "nohup sh -c 'while ! systemd-analyze >/dev/null 2>&1; do sleep 1; done; "
    "{ echo GHOST-ANALYZE; systemd-analyze; systemd-analyze blame --no-pager | head -n 30; "
    "systemd-analyze critical-chain --no-pager; cloud-init analyze show; echo GHOST-ANALYZE-END; } "
    "> /dev/ttyS0 2>&1' > /dev/null 2>&1 &",
]
ANALYZE_END = "GHOST-ANALYZE-END"


def public_key():
    """A well-formed OpenSSH ed25519 public key (random; no private half needed)."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + os.urandom(32)
    return "ssh-ed25519 %s bench@ghost" % base64.b64encode(blob).decode("ascii")


def network_xml(mode):
    """The upper half of 198.51.100.0/24, so the tests' networks in the lower half can coexist."""
    dhcp = "<dhcp><range start='198.51.100.200' end='198.51.100.250'/></dhcp>" if mode == "dhcp" else ""
    return ("<network><name>%s</name><bridge name='ghostbb0' stp='off'/><dns enable='no'/>"
            "<ip address='198.51.100.129' prefix='25'>%s</ip></network>" % (NETWORK, dhcp))


def module(args, timeout=900):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([ANSIBLE, "localhost", "-m", "ghost.infra.libvirt_domain", "-a", json.dumps(args),
                           "-e", "ansible_python_interpreter=%s" % sys.executable],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=timeout, check=False)
    match = RESULT.search(proc.stdout)
    if not match or proc.returncode != 0:
        sys.exit("libvirt_domain failed:\n%s" % proc.stdout[-3000:])
    return json.loads(match.group(2))


def guest_image(script):
    proc = subprocess.run(["bash", script],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def read(path):
    try:
        with open(path, "r", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def qemu_pid(name):
    """The pid of the domain's QEMU on this machine (None for a remote hypervisor)."""
    marker = ("guest=%s," % name).encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    if marker in handle.read():
                        return int(entry)
            except OSError:
                continue
    return None


def cpu_seconds(pid):
    """utime + stime of a process (threads included)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steal_seconds():
    """The host's steal time so far (all CPUs): time the hypervisor below gave its cores away."""
    with open("/proc/stat") as handle:
        fields = handle.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def boot_once(image, *, network, analyze, console, timeout, append="", vcpus=1):
    args = {
        "name": NAME, "pool": os.environ.get("GHOST_LIBVIRT_POOL", "default"),
        "domain_type": os.environ.get("GHOST_LIBVIRT_GUEST_DOMAIN_TYPE", "qemu"),
        "vcpus": vcpus, "memory_mb": 1024, "base_image": image["GUEST_IMAGE"], "kernel": image["GUEST_KERNEL"],
        "initrd": image["GUEST_INITRD"], "cmdline": CMDLINE + append,
        "console_log": console, "interfaces": [{"network": NETWORK}] if network != "none" else [],
        "cloud_init": {
            "hostname": "bench", "user": "ghost",
            "ssh_authorized_keys": [public_key()],
            "write_files": [{"path": "/var/lib/ghost-marker", "content": "bench"}],
            "runcmd": ["echo GHOST-RUNCMD $(cut -d' ' -f1 /proc/uptime) > /dev/ttyS0"] + (ANALYZE if analyze else []),
        },
    }
    if network == "static":
        args["cloud_init"].update(ip="198.51.100.130/25", gateway="198.51.100.129")
    module({"name": NAME, "state": "absent"})
    started, steal = time.monotonic(), steal_seconds()
    module(args)
    pid = qemu_pid(NAME)
    deadline = started + timeout
    seen = {}
    while time.monotonic() < deadline:
        text = read(console)
        final = FINAL.search(text)
        if final:
            if "wall" not in seen:
                seen.update(wall=round(time.monotonic() - started, 1), cpu=cpu_seconds(pid),
                            steal=round(steal_seconds() - steal, 1))
            if not analyze or ANALYZE_END in text:
                return {"uptime": float(final.group(1)), "console": text, **seen}
        time.sleep(0.2)
    sys.exit("no cloud-init final line within %d s:\n%s" % (timeout, read(console)[-3000:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, rounds=3, quick_rounds=1)
    parser.add_argument("--runs", dest="rounds", type=int, help="the same as --rounds")
    parser.add_argument("--network", choices=["static", "dhcp", "none"], default="static")
    parser.add_argument("--analyze", action="store_true", help="print systemd-analyze and cloud-init analyze")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--recipe", default=os.path.join(ROOT, "tests", "testbed", "guest_image.sh"),
                        help="the image recipe (another version of guest_image.sh, to compare)")
    parser.add_argument("--append", default="", help="added to the kernel command line, e.g. ' mitigations=off'")
    parser.add_argument("--vcpus", type=int, default=1, help="the guest's vCPUs (1, as the tests boot it; QEMU runs "
                        "one TCG thread per vCPU)")
    opts = parser.parse_args()

    image = guest_image(opts.recipe)
    report = Report("libvirt_boot", "Real Debian guest under TCG: power-on to cloud-init done (%s network, %d vCPU)"
                    % (opts.network, opts.vcpus), opts)
    conn = libvirt.open(os.environ.get("LIBVIRT_DEFAULT_URI", "qemu:///system"))
    net = None
    runs = []
    workdir = tempfile.mkdtemp(prefix="ghost-boot-")
    try:
        if opts.network != "none":
            try:
                conn.networkLookupByName(NETWORK).destroy()  # left by an interrupted run
            except libvirt.libvirtError:
                pass
            net = conn.networkCreateXML(network_xml(opts.network))
        try:
            for index in range(rounds(opts)):
                console = os.path.join(workdir, "console-%d.log" % index)
                run = boot_once(image, network=opts.network, analyze=opts.analyze, console=console,
                                timeout=opts.timeout, append=opts.append, vcpus=opts.vcpus)
                runs.append(run)
                print("run %d: cloud-init done at guest uptime %.1f s, %.1f s wall from the start call, QEMU %s CPU s,"
                      " host steal %.1f s (load %s)"
                      % (index + 1, run["uptime"], run["wall"], "-" if run["cpu"] is None else "%.1f" % run["cpu"],
                         run["steal"], " ".join("%.2f" % x for x in os.getloadavg())))
                if opts.analyze:
                    text = run["console"]
                    print(text[text.find("GHOST-ANALYZE\n"):text.find(ANALYZE_END)])
        finally:
            module({"name": NAME, "state": "absent"})
    finally:
        if net is not None:
            # A fresh connection: the first one may have gone with a libvirtd restart meanwhile.
            fresh = libvirt.open(os.environ.get("LIBVIRT_DEFAULT_URI", "qemu:///system"))
            fresh.networkLookupByName(NETWORK).destroy()
            fresh.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report.figure("power-on to cloud-init done, guest uptime", unit="s", value=statistics.median([r["uptime"] for r in runs]),
                  samples=[r["uptime"] for r in runs], target=Target("value", "<=", 30),
                  notes="kernel start to cloud-init's final line, TCG, %d vCPU" % opts.vcpus)
    report.figure("power-on to cloud-init done, wall", unit="s", value=statistics.median([r["wall"] for r in runs]),
                  samples=[r["wall"] for r in runs],
                  notes="module start call to the final line in the console file (QEMU start included)")
    cpu = [r["cpu"] for r in runs if r["cpu"] is not None]
    if cpu:
        report.figure("power-on to cloud-init done, QEMU CPU", unit="s", value=statistics.median(cpu), samples=cpu,
                      notes="CPU seconds of the QEMU process (steal-free); host steal over the runs: %s s"
                      % ", ".join("%.1f" % r["steal"] for r in runs))
    report.write()


if __name__ == "__main__":
    main()
