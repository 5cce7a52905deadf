# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The testbed sets its libvirt up with the collection's role ghost.infra.libvirt_host.

An ``up`` of the running testbed with ``GHOST_TESTBED_LIBVIRT_ROLE=always`` runs the role and
reports ``changed=0``; without it a warm ``up`` skips the role while nothing it depends on
changed. ``down --purge`` takes out of qemu.conf exactly what the testbed put there (checked on
a copy of qemu.conf, not the machine's).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TESTS)
from testbed import libvirt_host  # noqa: E402  pylint: disable=wrong-import-position
from testbed.procs import Procs  # noqa: E402  pylint: disable=wrong-import-position


def _up(env):
    return subprocess.run([sys.executable, '-m', 'testbed', 'up'], cwd=TESTS, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)


def test_up_runs_the_role_and_changes_nothing_the_second_time(testbed):
    env = dict(os.environ, GHOST_TESTBED_LIBVIRT_ROLE='always')
    result = _up(env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    recap = re.search(r'^libvirt: role ghost\.infra\.libvirt_host ok=(\d+) changed=(\d+) ', result.stdout, re.M)
    assert recap, result.stdout
    assert int(recap.group(1)) > 0 and int(recap.group(2)) == 0, recap.group(0)
    # The role's log holds the play; the pool task ran against the checkout's pool.
    log = os.path.join(testbed['GHOST_TESTBED_DIR'], 'logs', 'libvirt-host-role.log')
    with open(log) as f:
        text = f.read()
    pool = libvirt_host.pool_name(testbed['GHOST_LIBVIRT_POOL_DIR'])
    assert pool == testbed['GHOST_LIBVIRT_POOL']
    assert re.search(r'^ok: \[localhost\] => \(item=%s\)$' % re.escape(pool), text, re.M), text[-2000:]

    warm = _up(dict(os.environ, GHOST_TESTBED_LIBVIRT_ROLE=''))
    assert warm.returncode == 0, warm.stdout[-3000:] + warm.stderr[-3000:]
    assert 'libvirt: ghost.infra.libvirt_host unchanged since its run at ' in warm.stdout, warm.stdout


def test_role_inputs_keep_an_administrators_qemu_user(tmp_path, monkeypatch):
    procs = Procs(str(tmp_path / 'run'), str(tmp_path / 'logs'))
    conf = tmp_path / 'qemu.conf'
    monkeypatch.setattr(libvirt_host, 'QEMU_CONF', str(conf))
    conf.write_text('#user = "qemu"\n')
    assert libvirt_host.role_vars(procs, '/p', False)['libvirt_host_qemu_conf'] == {'user': 'root', 'group': 'root'}
    conf.write_text('user = "qemu"\ngroup = "kvm"\n')
    assert libvirt_host.role_vars(procs, '/p', False)['libvirt_host_qemu_conf'] == {}
    conf.write_text('user = "root"\ngroup = "root"\n')
    variables = libvirt_host.role_vars(procs, str(tmp_path / 'pool'), True)
    assert variables['libvirt_host_qemu_conf'] == {'user': 'root', 'group': 'root'}
    assert variables['libvirt_host_service_manager'] == 'systemd' and variables['libvirt_host_enable_services'] is False
    assert variables['libvirt_host_pools'] == [{'name': libvirt_host.pool_name(str(tmp_path / 'pool')), 'path': str(tmp_path / 'pool'), 'autostart': True}]
    assert variables['libvirt_host_direct_pid_dir'] == str(tmp_path / 'run' / 'libvirt')
    # One pool per checkout: another folder never reuses (and fails on) this checkout's pool.
    assert libvirt_host.pool_name('/a/.testbed/pool') != libvirt_host.pool_name('/b/.testbed/pool')


def test_purge_removes_only_the_testbeds_lines(tmp_path, monkeypatch):
    conf = tmp_path / 'qemu.conf'
    monkeypatch.setattr(libvirt_host, 'QEMU_CONF', str(conf))
    legacy = '%s QEMU runs as root\nuser = "root"\ngroup = "root"\n' % libvirt_host.CONF_MARKER
    conf.write_text('# keep me\nmax_files = 4096\n' + legacy)
    assert libvirt_host.undo_host_setup(str(tmp_path)) is True
    assert conf.read_text() == '# keep me\nmax_files = 4096\n'
    # Lines the role appended for the testbed, recorded in the state folder.
    conf.write_text('# keep me\nuser = "root"\nvnc_listen = "0.0.0.0"\ngroup = "root"\n')
    (tmp_path / libvirt_host.CONF_ADDED).write_text('group\n')
    assert libvirt_host.undo_host_setup(str(tmp_path)) is True
    assert conf.read_text() == '# keep me\nuser = "root"\nvnc_listen = "0.0.0.0"\n'
    assert libvirt_host.undo_host_setup(str(tmp_path)) is False
