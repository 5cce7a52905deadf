# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""inventories/local and inventories/example load, and site.yml parses against both.

The example's vaulted values are placeholders (never a real ciphertext in the repository); the
local inventory turns the survey's site_* answers into the fleet the site play creates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pathlib
import re
import subprocess
import sys

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent


def run(*argv):
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([str(a) for a in argv], cwd=COLLECTION, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, '%s failed:\n%s\n%s' % (' '.join(map(str, argv)), proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout


def test_example_inventory_groups_and_site_syntax():
    graph = run(BIN / 'ansible-inventory', '-i', 'inventories/example', '--graph')
    for line in ('@kvm_hosts:', 'kvm1.lab.example.com', 'kvm2.lab.example.com', '@fleet_controllers:', '@host_clusters:'):
        assert line in graph, graph
    run(BIN / 'ansible-playbook', '-i', 'inventories/example', 'playbooks/site.yml', '--syntax-check')


def test_example_vault_values_are_placeholders():
    found = 0
    for path in (COLLECTION / 'inventories' / 'example').rglob('*.yml'):
        text = path.read_text()
        for block in re.findall(r'!vault \|\n((?:  .*\n)+)', text):
            lines = [line.strip() for line in block.splitlines()]
            assert lines[0] == '$ANSIBLE_VAULT;1.1;AES256', path
            assert lines[-1].startswith('PLACEHOLDER-'), '%s holds a real ciphertext' % path
            found += 1
    assert found >= 3


def test_local_inventory_turns_the_survey_into_a_fleet():
    def fleet(*extra):
        out = run(BIN / 'ansible', '-i', 'inventories/local', 'localhost', '-m', 'ansible.builtin.debug', '-a', 'var=vm_fleet_vms',
                  '-e', 'ansible_python_interpreter=%s' % sys.executable, *extra)
        return json.loads(out.split('=>', 1)[1])['vm_fleet_vms']

    vms = fleet('-e', 'site_prefix=t1', '-e', 'site_fleet_kvm=2', '-e', 'site_fleet_esx=1')
    assert [(v['name'], v['group'], v['state']) for v in vms] == [
        ('t1-kvm-1', 'kvm', 'running'), ('t1-kvm-2', 'kvm', 'running'), ('t1-esx-1', 'esx', 'running')]
    assert {v['state'] for v in fleet('-e', 'site_state=absent')} == {'absent'}
    graph = run(BIN / 'ansible-inventory', '-i', 'inventories/local', '--graph')
    assert '@kvm_hosts:' in graph and '@fleet_controllers:' in graph
