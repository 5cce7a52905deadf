# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``molecule test`` for every scenario under roles/<role>/molecule/<scenario>.

Each scenario is delegated to the local testbed (the ``testbed`` fixture brings it up and puts
env.sh in the environment) and must pass every step of its test_sequence, idempotence included:
molecule exits non-zero when the second converge reports a change. The run's output must not
hold any secret of the testbed nor any line of the scenario's ``secrets`` file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pathlib
import re
import subprocess
import sys

import pytest

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
SCENARIOS = sorted(p.parent for p in COLLECTION.glob('roles/*/molecule/*/molecule.yml'))
SECRET_ENV = ('VMWARE_PASSWORD',)
ANSI = re.compile(r'\x1b\[[0-9;]*m')


def test_there_are_scenarios():
    # An empty parameter list would make pytest skip test_scenario and the run look green.
    assert SCENARIOS, 'no molecule scenario under %s/roles' % COLLECTION


@pytest.mark.parametrize('scenario', SCENARIOS, ids=lambda p: '%s-%s' % (p.parents[1].name, p.name))
def test_scenario(scenario, testbed, tmp_path):
    role_dir = scenario.parents[1]
    bindir = os.path.dirname(sys.executable)
    # molecule keeps a scenario's state (``prepared: true``...) in ~/.ansible/tmp/molecule.<hash of
    # the role folder's name>.<scenario>, shared by every checkout and every run on the machine:
    # a run after another would skip prepare. Each run gets a state of its own.
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get('PATH', ''), ANSIBLE_NOCOLOR='1', NO_COLOR='1',
               ANSIBLE_FORCE_COLOR='0', PY_COLORS='0', MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / 'molecule'))
    # molecule's prerun installs the collection into ~/.ansible/collections, where that copy
    # shadows the staged one for every later run on the machine: each scenario turns it off.
    installed = os.path.expanduser('~/.ansible/collections/ansible_collections/ghost/infra')
    was_installed = os.path.exists(installed)
    proc = subprocess.run([os.path.join(bindir, 'molecule'), 'test', '--scenario-name', scenario.name], cwd=role_dir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3000, check=False)
    assert was_installed or not os.path.exists(installed), '%s installed the collection into %s (set prerun: false)' % (
        scenario.relative_to(COLLECTION), installed)
    lines = ANSI.sub('', proc.stdout).splitlines()
    first_error = next((i for i, line in enumerate(lines) if re.search(r'fatal: |\[ERROR\]|ERROR ', line)), len(lines))
    tail = '\n'.join(lines[max(0, first_error - 40):first_error + 40] + ['...'] + lines[-20:])
    assert proc.returncode == 0, 'molecule test %s failed:\n%s' % (scenario.relative_to(COLLECTION), tail)
    # Every scenario has an idempotence step, and it ran (a sequence without one would pass too).
    plain = ANSI.sub('', proc.stdout)
    assert re.search(r'\bidempotence: Executed: Successful', plain), 'no successful idempotence step:\n%s' % tail
    leaked = [name for name in SECRET_ENV if env.get(name) and env[name] in proc.stdout]
    secrets = scenario / 'secrets'
    if secrets.is_file():
        lines = [line.strip() for line in secrets.read_text().splitlines() if line.strip() and not line.startswith('#')]
        leaked += ['line %d of %s' % (i + 1, secrets.name) for i, line in enumerate(lines) if line in proc.stdout]
    assert not leaked, 'molecule test %s printed %s' % (scenario.relative_to(COLLECTION), leaked)
