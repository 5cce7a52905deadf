# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.libvirt_host without an init system: the role starts virtlogd and libvirtd itself.

The testbed's libvirtd is shared and must keep running, so the role runs inside a private mount
namespace (``unshare --mount``) with empty tmpfs over /run/libvirt, /var/lib/libvirt and
/etc/libvirt (only the *.conf files copied in: no pool, network or domain of the shared daemon
autostarts there). In it no daemon answers, so the first run starts both and defines a pool;
the second run finds them answering and changes nothing. The daemons are stopped by the pids
their pid files hold; the shared libvirtd is checked to be the same process afterwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

PLAY = textwrap.dedent("""\
    - hosts: localhost
      connection: local
      gather_facts: false
      roles:
        - role: ghost.infra.libvirt_host
          vars:
            libvirt_host_manage_packages: false
            libvirt_host_qemu_conf: {{user: root, group: root}}
            libvirt_host_service_manager: direct
            libvirt_host_direct_pid_dir: {run}
            libvirt_host_direct_log_dir: {logs}
            libvirt_host_pools:
              - {{name: ghost-direct-pool, path: {pool}}}
    """)

# Runs as root inside the new mount namespace; the private mounts vanish with it.
SCRIPT = textwrap.dedent("""\
    set -eu
    mkdir -p "$WORK/etc"
    cp /etc/libvirt/*.conf "$WORK/etc/"
    for d in /run/libvirt /var/lib/libvirt /etc/libvirt; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
    cp "$WORK/etc/"*.conf /etc/libvirt/
    stop() { for p in "$WORK"/run/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; return 0; }
    trap stop EXIT
    for i in 1 2; do
      echo "== run $i"
      "$PLAYBOOK" -i localhost, -e ansible_python_interpreter="$PYTHON" "$WORK/play.yml"
    done
    echo "== pids $(for p in "$WORK"/run/*.pid; do printf '%s ' "$(cat "$p")"; done)"
    echo "== pools"
    virsh --connect qemu:///system pool-list --all --name
    """)


def _shared_libvirtd_socket():
    st = os.stat('/run/libvirt/libvirt-sock')
    return st.st_ino, st.st_mtime


def test_role_starts_the_daemons_itself(testbed, tmp_path):
    assert os.geteuid() == 0, 'the role starts root daemons: run as root'
    assert shutil.which('unshare'), 'unshare (util-linux) is needed for a private mount namespace'
    before = _shared_libvirtd_socket()
    work = tmp_path
    (work / 'run').mkdir()
    (work / 'play.yml').write_text(PLAY.format(run=work / 'run', logs=work / 'logs', pool=work / 'pool'))
    env = dict(os.environ, WORK=str(work), PYTHON=sys.executable, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='1',
               PLAYBOOK=os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'))
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'bash', '-c', SCRIPT], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    first, second = re.findall(r'^localhost\s+: ok=\d+\s+changed=(\d+)', out, re.M)
    # First run: libvirt's folders and the pid/log folders, the two daemons, the pool.
    assert int(first) >= 3, out[-4000:]
    assert 'changed: [localhost] => (item=virtlogd)' in out and 'changed: [localhost] => (item=libvirtd)' in out
    assert int(second) == 0, out[-4000:]
    assert out.split('== pools')[1].split() == ['ghost-direct-pool']
    # The daemons logged where they were told to, and are gone once their pids were signalled.
    assert (work / 'logs' / 'libvirtd.log').exists()
    pids = [int(p) for p in re.search(r'^== pids (.*)$', out, re.M).group(1).split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(os.path.exists('/proc/%d' % p) for p in pids):
        time.sleep(0.2)
    assert not [p for p in pids if os.path.exists('/proc/%d' % p)], 'daemons still running: %s' % pids
    # The shared libvirtd kept its socket (a second daemon would have replaced it).
    assert _shared_libvirtd_socket() == before
    listing = subprocess.run(['virsh', '--connect', 'qemu:///system', 'pool-list', '--all', '--name'],
                             capture_output=True, text=True, check=True).stdout.split()
    assert 'ghost-direct-pool' not in listing
