# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The built artifact installs with ansible-galaxy and ansible-doc documents every plugin in it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def _run(args, **kwargs):
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False, **kwargs)
    assert proc.returncode == 0, "%s failed:\n%s" % (" ".join(map(str, args)), proc.stdout[-3000:])
    return proc.stdout


def _plugins(kind):
    folder = ROOT / "plugins" / kind
    if not folder.is_dir():
        return set()
    return {"ghost.infra." + p.stem for p in folder.glob("*.py") if not p.name.startswith("_")}


def test_build_install_and_document(tmp_path):
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    _run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path, str(ROOT)])
    tarball = tmp_path / ("ghost-infra-%s.tar.gz" % version)
    assert tarball.is_file()

    # --no-deps: kubernetes.core comes from the venv's `ansible` package, Galaxy is out of reach.
    install = tmp_path / "collections"
    _run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", install, tarball])
    manifest = json.loads((install / "ansible_collections/ghost/infra/MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == version
    assert manifest["collection_info"]["dependencies"] == {"kubernetes.core": ">=5.0.0,<7.0.0"}

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(install))
    for kind, folder in (("module", "modules"), ("filter", "filter")):
        listed = json.loads(_run([BIN / "ansible-doc", "-t", kind, "-l", "ghost.infra", "--json"], env=env))
        assert set(listed) == _plugins(folder), "ansible-doc -t %s lists %s" % (kind, sorted(listed))
        for name in listed:
            _run([BIN / "ansible-doc", "-t", kind, name], env=env)
