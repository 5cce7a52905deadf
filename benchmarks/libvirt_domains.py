#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: 10 domains from one base image, ghost.infra.libvirt_domain vs community.libvirt.

community.libvirt has no ``virt_cloud_instance`` module in the installed release (checked at
run time); its closest workflow is the one its modules document: ``virt_volume`` with
``clone_source`` (a full copy of the base image), ``virt_volume`` ``create_cidata_cdrom``, then
``virt`` ``define`` and ``state: running``. ghost.infra does the same in one task per domain
with a qcow2 overlay over the base image and a NoCloud seed.

Both run as one ansible-playbook each (a loop over 10 domains, state running, no OS booting:
the base image has no boot loader), on the testbed's libvirtd and pool. Measured: wall time of
the playbook and bytes written to the pool (the allocation of the volumes each one created).

    make testbed-up && source .testbed/env.sh
    tools/in-stage $PWD/.venv/bin/python benchmarks/libvirt_domains.py [--count 10] [--rounds 2] [--quick]
        [--json out.json]

Rounds alternate between the two sides (the first side swapped each round); each round starts
and ends with no benchmark domain or volume in the pool.

The base image is the real guest image from tests/testbed/guest_image.sh (Debian with
cloud-init, ~0.5 GB allocated, 3 GiB virtual), copied (not timed) into the pool as
ghost-bench-base.qcow2 for the run. community.libvirt.virt_volume imports lxml, which the benchmark
installs into $GHOST_CACHE/bench-pylib (not into the venv) when it is missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import libvirt
from _report import Report, add_arguments, alternate, rounds

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
BASE_VOLUME = "ghost-bench-base.qcow2"
CACHE = os.environ.get("GHOST_CACHE") or os.path.expanduser("~/.cache/ghost-infra")
PYLIB = os.path.join(CACHE, "bench-pylib")

GHOST_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Domains from one base image (qcow2 overlays + NoCloud seed)
      ghost.infra.libvirt_domain:
        name: "bench-g-{{ item }}"
        pool: "{{ pool }}"
        base_image: "{{ pool }}/%(base)s"
        domain_type: "{{ domain_type }}"
        memory_mb: 64
        cloud_init:
          hostname: "bench-g-{{ item }}"
          ssh_authorized_keys: ["{{ ssh_key }}"]
      loop: "{{ range(count | int) | list }}"
""" % {"base": BASE_VOLUME}

ANCHOR_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Clone the base image (full copy)
      community.libvirt.virt_volume:
        pool: "{{ pool }}"
        command: create
        clone_source: %(base)s
        xml: |
          <volume type='file'>
            <name>bench-a-{{ item }}.qcow2</name>
            <capacity unit='G'>3</capacity>
            <target><format type='qcow2'/></target>
          </volume>
      loop: "{{ range(count | int) | list }}"

    - name: NoCloud seed
      community.libvirt.virt_volume:
        pool: "{{ pool }}"
        command: create_cidata_cdrom
        name: "bench-a-{{ item }}-cidata.iso"
        cloudinit_config:
          METADATA: {instance-id: "bench-a-{{ item }}", local-hostname: "bench-a-{{ item }}"}
          USERDATA: {users: [{name: ubuntu, ssh_authorized_keys: ["{{ ssh_key }}"]}]}
      loop: "{{ range(count | int) | list }}"

    - name: Define the domains
      community.libvirt.virt:
        command: define
        xml: |
          <domain type='{{ domain_type }}'>
            <name>bench-a-{{ item }}</name>
            <memory unit='MiB'>64</memory>
            <vcpu>1</vcpu>
            <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
            <devices>
              <disk type='file' device='disk'>
                <driver name='qemu' type='qcow2'/>
                <source file='{{ pool_dir }}/bench-a-{{ item }}.qcow2'/>
                <target dev='vda' bus='virtio'/>
              </disk>
              <disk type='file' device='cdrom'>
                <driver name='qemu' type='raw'/>
                <source file='{{ pool_dir }}/bench-a-{{ item }}-cidata.iso'/>
                <target dev='sda' bus='scsi'/>
                <readonly/>
              </disk>
              <controller type='scsi' model='virtio-scsi'/>
            </devices>
          </domain>
      loop: "{{ range(count | int) | list }}"

    - name: Start them
      community.libvirt.virt:
        name: "bench-a-{{ item }}"
        state: running
      loop: "{{ range(count | int) | list }}"
""" % {"base": BASE_VOLUME}

SSH_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl "
           "bench@ghost")


def need(name):
    value = os.environ.get(name)
    if not value:
        sys.exit("%s is not set: make testbed-up && source .testbed/env.sh" % name)
    return value


def ensure_lxml():
    """community.libvirt.virt_volume needs lxml; keep it out of the project's venv."""
    probe = subprocess.run([sys.executable, "-c", "import lxml"], env=dict(os.environ, PYTHONPATH=PYLIB),
                           capture_output=True, check=False)
    if probe.returncode != 0:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", PYLIB, "lxml"], check=True)


def guest_image():
    out = subprocess.run(["bash", os.path.join(ROOT, "tests", "testbed", "guest_image.sh")],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)["GUEST_IMAGE"]


def ensure_base(conn, pool_name, source):
    """Copy the guest image into the pool (not timed); returns the pool's directory."""
    pool = conn.storagePoolLookupByName(pool_name)
    pool.refresh(0)
    directory = ET.fromstring(pool.XMLDesc(0)).findtext("target/path")
    target = os.path.join(directory, BASE_VOLUME)
    if not os.path.exists(target):
        shutil.copyfile(source, target + ".tmp")
        os.chmod(target + ".tmp", 0o444)
        os.replace(target + ".tmp", target)
        pool.refresh(0)
    return directory


def cleanup(conn, pool_name, prefix):
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix):
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass  # not running
            dom.undefine()
    pool = conn.storagePoolLookupByName(pool_name)
    pool.refresh(0)
    for vol in pool.listAllVolumes(0):
        if vol.name().startswith(prefix):
            vol.delete(0)


def allocation(conn, pool_name, prefix):
    """Bytes allocated on the pool's file system by the volumes named ``prefix*``."""
    pool = conn.storagePoolLookupByName(pool_name)
    pool.refresh(0)
    return sum(vol.info()[2] for vol in pool.listAllVolumes(0) if vol.name().startswith(prefix))


def run_play(play, extra, env):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(play)
    try:
        started = time.monotonic()
        proc = subprocess.run(
            [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", handle.name,
             "-e", json.dumps(extra), "-e", "ansible_python_interpreter=%s" % sys.executable],
            env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0:
        sys.exit("playbook failed:\n%s" % proc.stdout[-4000:])
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=None, help="domains per side (10; 5 with --quick)")
    args = add_arguments(parser, rounds=2, quick_rounds=1).parse_args()
    count = args.count or (5 if args.quick else 10)

    uri = need("LIBVIRT_DEFAULT_URI")
    pool_name = need("GHOST_LIBVIRT_POOL")
    domain_type = need("GHOST_LIBVIRT_DOMAIN_TYPE")
    import ansible_collections.community.libvirt as community_libvirt
    modules = os.path.join(list(community_libvirt.__path__)[0], "plugins", "modules")
    if os.path.exists(os.path.join(modules, "virt_cloud_instance.py")):
        print("note: community.libvirt.virt_cloud_instance exists here; this benchmark still uses the "
              "virt_volume clone workflow")
    anchor_name = "community.libvirt virt_volume(clone_source) + virt_volume(create_cidata_cdrom) + virt(define, running)"
    report = Report("libvirt_domains", "%d domains from one base image: libvirt_domain vs community.libvirt" % count,
                    args)

    ensure_lxml()
    conn = libvirt.open(uri)
    pool_dir = ensure_base(conn, pool_name, guest_image())
    base_alloc = conn.storagePoolLookupByName(pool_name).storageVolLookupByName(BASE_VOLUME).info()[2]

    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    anchor_env = dict(env, PYTHONPATH=os.pathsep.join(p for p in (PYLIB, env.get("PYTHONPATH")) if p))
    extra = {"pool": pool_name, "pool_dir": pool_dir, "domain_type": domain_type, "count": count,
             "ssh_key": SSH_KEY}
    written = {"ghost": [], "anchor": []}

    def side(label, play, prefix, run_env):
        cleanup(conn, pool_name, prefix)
        seconds = run_play(play, extra, run_env)
        states = {d.name(): d.state() for d in conn.listAllDomains(0) if d.name().startswith(prefix)}
        active = (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED)
        started = [n for n, (code, _reason) in states.items() if code in active]
        if len(started) != count:
            sys.exit("%s: %d of %d domains started: %s" % (label, len(started), count, states))
        written[label].append(allocation(conn, pool_name, prefix))
        cleanup(conn, pool_name, prefix)
        return seconds

    try:
        ours, theirs = alternate(rounds(args), lambda: side("ghost", GHOST_PLAY, "bench-g-", env),
                                 lambda: side("anchor", ANCHOR_PLAY, "bench-a-", anchor_env))
    finally:
        cleanup(conn, pool_name, "bench-")
        # The copied base image goes too: the testbed's pool stays as the testbed made it.
        cleanup(conn, pool_name, BASE_VOLUME)
        conn.close()

    base_note = "base image %.0f MiB allocated, copied into the pool beforehand (not timed)" % (base_alloc / 2.0 ** 20)
    report.compare("%d domains, state running (playbook wall time)" % count, unit="s",
                   ours=("ghost.infra.libvirt_domain", ours), anchor=(anchor_name, theirs), notes=base_note)
    report.compare("%d domains: bytes written to the pool" % count, unit="bytes",
                   ours=("ghost.infra.libvirt_domain", written["ghost"]), anchor=(anchor_name, written["anchor"]))
    report.write()


if __name__ == "__main__":
    main()
