# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment definition, as CI can check it without a container runtime.

``ansible-builder create`` turns execution-environment.yml into a build context; the test checks
that context (the Containerfile's stages and steps, the galaxy requirements, the collection
tarball it carries), then runs the context's own ``introspect.py`` (the script the image build
runs) on the collection installed from that tarball, and checks the Python and system
requirements it reads from meta/execution-environment.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent


def run(*argv, cwd=None):
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, '%s failed:\n%s' % (' '.join(str(a) for a in argv), proc.stdout[-3000:])
    return proc.stdout


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def test_builder_context(tmp_path):
    version = yaml.safe_load((COLLECTION / 'galaxy.yml').read_text())['version']
    work = tmp_path / 'ee'
    (work / 'build').mkdir(parents=True)
    shutil.copy(COLLECTION / 'execution-environment.yml', work)
    run(BIN / 'ansible-galaxy', 'collection', 'build', '--output-path', work / 'build', COLLECTION)
    tarball = work / 'build' / ('ghost-infra-%s.tar.gz' % version)
    assert tarball.is_file()

    out = run(BIN / 'ansible-builder', 'create', '--file', 'execution-environment.yml', '--context', 'context',
              '--output-filename', 'Containerfile', cwd=work)
    assert 'Complete!' in out
    context = work / 'context'
    containerfile = (context / 'Containerfile').read_text()

    # Stages and what each installs.
    assert re.findall(r'^FROM \S+ AS (\w+)$', containerfile, re.M) == ['base', 'galaxy', 'builder', 'final']
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="(.*)"$', containerfile, re.M).group(1)
    assert refs.split() == ['ansible-core>=2.16,<2.20', 'ansible-runner>=2.4']
    assert 'ARG PKGMGR="/usr/bin/dnf"' in containerfile
    # The tarball is in place before the galaxy step installs it.
    galaxy = containerfile.split('AS galaxy', 1)[1].split('AS builder', 1)[0]
    steps = [line for line in galaxy.splitlines() if line.startswith(('COPY', 'RUN'))]
    assert steps.index('COPY _build/collections/ /tmp/ghost-collections/') < \
        [i for i, s in enumerate(steps) if 'ansible-galaxy collection install' in s][0]
    # The image's introspection and bindep steps, and the CLIs checked against their digests.
    assert 'introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt' in containerfile
    final = containerfile.split('AS final', 1)[1]
    assert 'ARG VCLUSTER_SHA256' in final and 'ARG HELM_SHA256' in final
    assert 'sha256sum -c -' in final and 'test -n "$VCLUSTER_SHA256" && test -n "$HELM_SHA256"' in final
    assert final.rstrip().endswith('CMD ["bash"]') and 'USER 1000' in final

    requirements = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())
    assert requirements == {'collections': [{'name': '/tmp/ghost-collections/ghost-infra.tar.gz', 'type': 'file'}]}
    carried = context / '_build' / 'collections' / tarball.name
    assert sha256(carried) == sha256(tarball)
    for script in ('assemble', 'introspect.py', 'install-from-bindep', 'check_galaxy', 'entrypoint'):
        assert (context / '_build' / 'scripts' / script).is_file(), script

    # What the image build's introspection reads from the collection the tarball installs.
    cols = tmp_path / 'collections'
    run(BIN / 'ansible-galaxy', 'collection', 'install', '--no-deps', '--force', '-p', cols, carried)
    installed = cols / 'ansible_collections' / 'ghost' / 'infra'
    for path in ('meta/execution-environment.yml', 'meta/ee-bindep.txt', 'requirements.txt', 'meta/runtime.yml',
                 'roles/libvirt_host/meta/argument_specs.yml', 'roles/vm_fleet/meta/argument_specs.yml',
                 'roles/vcluster/meta/argument_specs.yml', 'playbooks/site.yml'):
        assert (installed / path).is_file(), path
    pip_out, bindep_out = tmp_path / 'requirements.txt', tmp_path / 'bindep.txt'
    run(sys.executable, context / '_build' / 'scripts' / 'introspect.py', 'introspect', '--write-pip', pip_out,
        '--write-bindep', bindep_out, cols)
    pip_lines = [line for line in pip_out.read_text().splitlines() if line and not line.startswith('#')]
    bindep_lines = [line for line in bindep_out.read_text().splitlines() if line and not line.startswith('#')]
    # (PyYAML is left out: ansible-core brings it, and the builder drops what ansible-core needs.)
    for name in ('pyvmomi', 'libvirt-python', 'kubernetes', 'pycdlib', 'jmespath'):
        assert any(re.match(r'%s[<>=!~ ]' % re.escape(name), line) and line.endswith('# from collection ghost.infra')
                   for line in pip_lines), (name, pip_lines)
    assert 'libvirt-devel [platform:rpm compile]  # from collection ghost.infra' in bindep_lines, bindep_lines
    assert 'libvirt-libs [platform:rpm]  # from collection ghost.infra' in bindep_lines, bindep_lines
    # Nothing of the Debian development machine's bindep.txt leaks into the image.
    assert not [line for line in bindep_lines if 'dpkg' in line], bindep_lines
