# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Session fixture ``testbed``: the local backends of tests/testbed, up and reachable.

Request it by name. It runs ``python -m testbed up`` (idempotent: quick when already up), loads
``.testbed/env.sh`` into ``os.environ`` and returns the variables it sets. When the testbed
cannot come up the requesting tests fail with the reason; nothing is skipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys
import types

import pytest

# The testbed is the package tests/testbed, run from tests/.
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_testbed(*args, timeout=3600):
    """Run ``python -m testbed`` with the current interpreter; return the CompletedProcess."""
    return subprocess.run([sys.executable, '-m', 'testbed'] + list(args), cwd=TESTS, capture_output=True, text=True, timeout=timeout,
                          check=False)


def load_env_file(path):
    """The variables ``path`` exports, as bash evaluates them (PATH is extended, not replaced)."""
    with open(path) as f:
        names = re.findall(r'^export ([A-Za-z_][A-Za-z0-9_]*)=', f.read(), re.M) + ['PATH']
    out = subprocess.run(['bash', '-c', '. "$1" && env -0', 'bash', path], capture_output=True, check=True).stdout.decode()
    env = dict(item.split('=', 1) for item in out.split('\0') if '=' in item)
    return {name: env[name] for name in names if name in env}


def bring_up():
    """``python -m testbed up``, then env.sh into os.environ; pytest.fail with the reason if it cannot."""
    result = run_testbed('up')
    if result.returncode != 0:
        pytest.fail('testbed up failed (exit %d):\n%s\n%s' % (result.returncode, result.stdout[-3000:], result.stderr[-6000:]), pytrace=False)
    env = load_env_file(run_testbed('env-file').stdout.strip())
    os.environ.update(env)
    return env


@pytest.fixture(scope='session')
def testbed():
    return bring_up()


@pytest.fixture(scope='session')
def testbed_control():
    """For tests of the testbed itself: ``run('status')`` runs ``python -m testbed status``, ``up()`` is the fixture's work."""
    return types.SimpleNamespace(run=run_testbed, up=bring_up)
