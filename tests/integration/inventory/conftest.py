# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the inventory plugin tests.

- ``ansible_inventory(source, *args, env=None)``: the venv's ``ansible-inventory`` on a source
  file, against the staged collection (tools/in-stage sets ANSIBLE_COLLECTIONS_PATH); returns
  the CompletedProcess, with ``json`` parsed for ``--list``/``--host`` (the values ``--list``
  marks ``{"__ansible_unsafe": ...}``, as it marks every string from a backend, unwrapped).
- ``traced_vcsim``: a vSphere simulator of this test module's own (the testbed's vcsim binary)
  on a free 127.0.0.1 port with a random password and ``-trace``, so a test can count every
  SOAP request the simulator received; stopped by PID at the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import types

import pytest
from inventory_helpers import TracedSimulator, tree


def _bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def _unwrap(obj):
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


@pytest.fixture
def ansible_inventory(tmp_path):
    def run(source, *args, env=None, timeout=300):
        full_env = dict(os.environ)
        full_env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
                         "ANSIBLE_HOME": str(tmp_path / "home")})
        full_env.update(env or {})
        proc = subprocess.run([_bin("ansible-inventory"), "-i", str(source)] + list(args), env=full_env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        proc.json = None
        if proc.returncode == 0 and ("--list" in args or "--host" in args):
            proc.json = json.loads(proc.stdout, object_hook=_unwrap)
        return proc

    return run


@pytest.fixture(scope="module")
def traced_vcsim(testbed):
    sim = TracedSimulator(["-dc", "1", "-cluster", "1", "-host", "1", "-vm", "3", "-folder", "1"]).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def source_file(tmp_path):
    """``source_file(plugin, text)`` writes ``<tmp>/test.ghost.infra.<plugin>.yml``."""
    def write(plugin, text, name="test"):
        path = tmp_path / ("%s.ghost.infra.%s.yml" % (name, plugin))
        path.write_text(text)
        return path
    return write


@pytest.fixture
def helpers():
    return types.SimpleNamespace(tree=tree)
