# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where systemd runs libvirt's units, ``up`` starts them and ``down`` stops only what ``up`` started.

This machine has no systemd as PID 1, so a stand-in ``systemctl`` on PATH keeps unit states in
a file: starting libvirtd.service activates it and the sockets it requires, as systemd does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TESTS)
from testbed import libvirt_host  # noqa: E402  pylint: disable=wrong-import-position
from testbed.procs import Procs  # noqa: E402  pylint: disable=wrong-import-position

SYSTEMCTL = r'''#!/usr/bin/env python3
import json, sys
path = __STATE__
units = json.load(open(path))
cmd, args = sys.argv[1], sys.argv[2:]
with open(path + '.calls', 'a') as log:
    log.write(' '.join(sys.argv[1:]) + '\n')
if cmd == 'is-active':
    print('\n'.join('active' if units.get(u) else 'inactive' for u in args))
    sys.exit(0 if all(units.get(u) for u in args) else 3)
if cmd == 'start':
    for u in args:
        units[u] = True
        if u == 'libvirtd.service':
            units.update({'libvirtd.socket': True, 'libvirtd-ro.socket': True, 'libvirtd-admin.socket': True, 'virtlogd.socket': True})
if cmd == 'stop':
    for u in args:
        units[u] = False
json.dump(units, open(path, 'w'))
'''


def fake_systemctl(tmp_path, monkeypatch, active):
    state = tmp_path / 'units.json'
    state.write_text(json.dumps(dict.fromkeys(active, True)))
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'systemctl'
    script.write_text(SYSTEMCTL.replace('__STATE__', repr(str(state))))
    script.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ['PATH']))
    return state


def test_down_stops_the_units_up_started_and_no_other(tmp_path, monkeypatch):
    state = fake_systemctl(tmp_path, monkeypatch, active=['virtlogd.socket'])  # already running before the testbed
    procs = Procs(str(tmp_path / 'run'), str(tmp_path / 'logs'))
    assert libvirt_host.start_units(procs) is True
    recorded = (tmp_path / 'run' / libvirt_host.UNITS_FILE).read_text().split()
    assert recorded == ['libvirtd-admin.socket', 'libvirtd-ro.socket', 'libvirtd.service', 'libvirtd.socket']
    assert libvirt_host.stop_daemons(procs) is True
    units = json.loads(state.read_text())
    assert {u for u, on in units.items() if on} == {'virtlogd.socket'}
    # The service stops before its sockets; a second down has nothing to stop.
    calls = (tmp_path / 'units.json.calls').read_text().splitlines()
    assert calls[-1] == 'stop libvirtd.service libvirtd-admin.socket libvirtd-ro.socket libvirtd.socket'
    assert not (tmp_path / 'run' / libvirt_host.UNITS_FILE).exists()
    assert libvirt_host.stop_units(procs) is False


def test_units_already_running_are_not_recorded(tmp_path, monkeypatch):
    fake_systemctl(tmp_path, monkeypatch, active=list(libvirt_host.SYSTEMD_UNITS))
    procs = Procs(str(tmp_path / 'run'), str(tmp_path / 'logs'))
    assert libvirt_host.start_units(procs) is False
    assert (tmp_path / 'run' / libvirt_host.UNITS_FILE).read_text() == ''
    assert libvirt_host.stop_units(procs) is False
