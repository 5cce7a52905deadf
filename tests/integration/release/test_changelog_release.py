# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``make release`` does with the changelog, done on a copy of the collection.

``antsibull-changelog lint`` accepts every fragment; ``release`` folds them into
changelogs/changelog.yaml and CHANGELOG.rst (release summary, every fragment's entries, every
module and plugin under "New Modules"/"New Plugins") and removes them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pathlib
import shutil
import subprocess
import sys

import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
CHANGELOG = pathlib.Path(sys.executable).parent / 'antsibull-changelog'


def run(cwd, *args):
    # It finds the collection's plugins through ansible-doc, the venv's.
    env = dict(os.environ, PATH=str(CHANGELOG.parent) + os.pathsep + os.environ.get('PATH', ''))
    proc = subprocess.run([str(CHANGELOG)] + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, 'antsibull-changelog %s failed:\n%s' % (' '.join(args), proc.stdout[-3000:])
    return proc.stdout


def test_lint_and_release(tmp_path):
    copy = tmp_path / 'collection'
    shutil.copytree(COLLECTION, copy, ignore=shutil.ignore_patterns('.git', 'build', '.testbed', '.venv', '__pycache__', '*.tar.gz'))
    fragments = sorted((copy / 'changelogs' / 'fragments').glob('*.yml'))
    assert fragments
    entries = []
    for fragment in fragments:
        for section, items in yaml.safe_load(fragment.read_text()).items():
            items = [items] if isinstance(items, str) else items
            entries += [(fragment.name, section, ' '.join(item.split())) for item in items]
    run(copy, 'lint')
    version = yaml.safe_load((copy / 'galaxy.yml').read_text())['version']
    run(copy, 'release', '--version', version, '--date', '2026-12-01')

    text = (copy / 'CHANGELOG.rst').read_text()
    assert 'v%s\n' % version in text and 'Release Summary' in text
    flat = ' '.join(text.split())
    missing = [(name, section) for name, section, item in entries if section != 'trivial' and item[:60] not in flat]
    assert not missing, missing
    modules = sorted(p.stem for p in (copy / 'plugins' / 'modules').glob('*.py') if not p.name.startswith('_'))
    listed = [m for m in modules if '- ghost.infra.%s - ' % m in text]
    assert listed == modules, sorted(set(modules) - set(listed))
    for plugin_type in ('inventory', 'filter'):
        for plugin in (copy / 'plugins' / plugin_type).glob('*.py'):
            assert '- ghost.infra.%s - ' % plugin.stem in text, plugin
    assert not list((copy / 'changelogs' / 'fragments').glob('*.yml'))
    changelog = yaml.safe_load((copy / 'changelogs' / 'changelog.yaml').read_text())
    assert version in changelog['releases'] and changelog['releases'][version]['release_date'] == '2026-12-01'
