# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every Ansible integration target (tests/integration/targets/<name>) as a role.

ansible-test's layout, driven by ansible-playbook so targets see the testbed's environment
(VMWARE_*, K8S_AUTH_*, LIBVIRT_DEFAULT_URI). A target whose `aliases` file says `testbed`
brings the testbed up first. Every run is at -vvv and its output must not contain any secret
of the testbed or any string the target lists in its `secrets` file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

TARGETS = pathlib.Path(__file__).resolve().parent / "targets"
SECRET_ENV = ("VMWARE_PASSWORD",)
# Credentials of any cluster the targets create, e.g. a vcluster's kubeconfig: service-account
# tokens (JWTs), PEM blocks (keys, certificates) as text or base64 ("-----BEGIN" is
# "LS0tLS1CRUdJTi" in base64, what client-key-data and client-certificate-data hold), and the
# kubeconfig keys that carry client credentials.
CREDENTIALS = {
    "a bearer token": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."),
    "a PEM block": re.compile(r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE)-----"),
    "a base64 PEM block": re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{16,}"),
    "a kubeconfig client credential": re.compile(
        r"client-(key|certificate)-data[\"']?\s*[:=]\s*[\"']?(?!\*{8}|VALUE_SPECIFIED)[A-Za-z0-9+/=]{16,}"),
}


def _targets():
    return sorted(p.name for p in TARGETS.iterdir() if (p / "tasks" / "main.yml").is_file()) if TARGETS.is_dir() else []


def credentials_in(text):
    """The kinds of cluster credential (CREDENTIALS) that ``text`` contains."""
    return [kind for kind, pattern in CREDENTIALS.items() if pattern.search(text)]


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


def _kubeconfig_secrets(path):
    """Tokens, passwords and client keys in the testbed's admin kubeconfig."""
    if not path or not os.path.isfile(path):
        return []
    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    found = []
    for user in config.get("users") or []:
        for key in ("token", "password", "client-key-data"):
            value = (user.get("user") or {}).get(key)
            if value:
                found.append(value)
    return found


def _lines(path):
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


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
    })
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        "-vvv", "-i", "localhost,", str(playbook),
        "-e", "ansible_python_interpreter=%s" % sys.executable,
        "-e", "output_dir=%s" % output_dir,
    ]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=1800, check=False)
    tail = "\n".join(proc.stdout.splitlines()[-80:])
    assert proc.returncode == 0, "target %s failed:\n%s" % (target, tail)

    secrets = [env[name] for name in SECRET_ENV if env.get(name)]
    secrets += _kubeconfig_secrets(env.get("K8S_AUTH_KUBECONFIG"))
    secrets += _lines(TARGETS / target / "secrets")
    leaked = [s for s in secrets if s in proc.stdout]
    assert not leaked, "target %s printed %d secret(s) at -vvv" % (target, len(leaked))
    found = credentials_in(proc.stdout)
    assert not found, "target %s printed %s at -vvv" % (target, " and ".join(found))
