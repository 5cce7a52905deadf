# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every Ansible integration target (tests/integration/targets/<name>) as a role.

ansible-test's layout, driven by ansible-playbook so targets see the testbed's environment
(VMWARE_*, K8S_AUTH_*, LIBVIRT_DEFAULT_URI). A target whose `aliases` file says `testbed`
brings the testbed up first. Every run is at -vvv; the shared scanner (secret_scan.py) fails it
when any secret of the testbed or any string the target lists in its `secrets` file, or any
cluster credential by its shape, is in its output, in an async job file (ANSIBLE_ASYNC_DIR and
the `.ansible_async` folders under the run's folder, where targets point their HOME) or in a
file the run left world-readable in its folder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pathlib
import subprocess
import sys

import pytest
from secret_scan import Scanner, Secrets, credentials_in, secrets_file

TARGETS = pathlib.Path(__file__).resolve().parent / "targets"


def _targets():
    return sorted(p.name for p in TARGETS.iterdir() if (p / "tasks" / "main.yml").is_file()) if TARGETS.is_dir() else []


def test_there_are_targets():
    # An empty parameter list would make pytest skip test_target and the run look green.
    dirs = sorted(p.name for p in TARGETS.iterdir() if p.is_dir())
    assert dirs, "no integration target under %s" % TARGETS
    assert _targets() == dirs, "targets without tasks/main.yml: %s" % sorted(set(dirs) - set(_targets()))


def test_credential_scan_catches_each_kind():
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"
    b64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ"
    assert credentials_in("token: eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.sig") == ["a bearer token"]
    assert credentials_in(pem) == ["a PEM block"]
    assert credentials_in("-----BEGIN CERTIFICATE-----") == ["a PEM block"]
    assert "a base64 PEM block" in credentials_in('"certificate-authority-data": "%s"' % b64)
    assert credentials_in('"client-key-data": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"') == [
        "a kubeconfig client credential"]
    assert credentials_in('"client-key-data": "********"') == []
    assert credentials_in('"client_key": "/root/.ghost/clusters/a/key.pem", "sha256": "ab12"') == []


def test_scanner_reads_async_jobs_and_world_readable_files(tmp_path):
    secret = "ghost-scan-s3cret-value"
    scan = Scanner(Secrets().add("a test secret", secret))
    private, public, job = tmp_path / "private.txt", tmp_path / "public.txt", tmp_path / "async" / "123.456"
    job.parent.mkdir()
    for path, mode in ((private, 0o600), (public, 0o644), (job, 0o600)):
        path.write_text("value: %s\n" % secret)
        path.chmod(mode)
    assert scan.world_readable(tmp_path, exclude=[job]) == [
        ("world-readable file %s (mode 0644)" % public, "a secret (a test secret)")]
    assert [f.what for f in scan.async_jobs(tmp_path / "async")] == ["a secret (a test secret)"]
    assert scan.text("output", "nothing here") == []
    with pytest.raises(AssertionError) as failed:
        scan.assert_clean("the test")
    assert secret not in str(failed.value)


def _lines(path):
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _ignored(lines, fatal):
    for line in lines[fatal + 1:]:
        if line.startswith(("TASK [", "PLAY RECAP", "fatal:", "failed:")):
            return False
        if line.strip() == "...ignoring":
            return True
    return False


def _failure_excerpt(output, context=150):
    """The failed task (the first fatal that was not ignored), then the run's tail.

    The tail alone shows the cleanup in `always:`, not why the target failed."""
    lines = output.splitlines()
    task = failed = None
    for i, line in enumerate(lines):
        if line.startswith("TASK ["):
            task = i
        elif line.startswith(("fatal:", "failed:")) and failed is None and not _ignored(lines, i):
            failed = (task if task is not None else i, i)
    parts = []
    if failed is not None:
        start, fatal = failed
        parts.append("\n".join(lines[start:fatal + context]))
        parts.append("[...]")
    parts.append("\n".join(lines[-40:]))
    return "\n".join(parts)


@pytest.mark.parametrize("target", _targets())
def test_target(target, request, tmp_path):
    aliases = _lines(TARGETS / target / "aliases")
    env = dict(os.environ)
    if "testbed" in aliases:
        env.update(request.getfixturevalue("testbed"))
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  connection: local\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - %s\n" % target
    )
    output_dir = tmp_path / "output"
    output_dir.mkdir()
    env.update({
        "ANSIBLE_ROLES_PATH": str(TARGETS),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_ASYNC_DIR": str(tmp_path / "async"),
    })
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        "-vvv", "-i", "localhost,", str(playbook),
        "-e", "ansible_python_interpreter=%s" % sys.executable,
        "-e", "output_dir=%s" % output_dir,
    ]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=1800, check=False)
    assert proc.returncode == 0, "target %s failed:\n%s" % (target, _failure_excerpt(proc.stdout))

    scan = Scanner(Secrets.from_testbed(env).add("the target's secrets file", *secrets_file(TARGETS / target / "secrets")))
    scan.text("its -vvv output", proc.stdout)
    scan.async_jobs(tmp_path / "async", *tmp_path.rglob(".ansible_async"))
    scan.world_readable(tmp_path)
    scan.assert_clean("target %s" % target)
