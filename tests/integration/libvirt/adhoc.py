# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one ghost.infra module as Ansible does (``ansible localhost -m``) and read its result.

Used by the libvirt_network and libvirt_pool tests; conftest's ``libvirt_domain`` fixture does
the same for libvirt_domain.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
RESULT = re.compile(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", re.S | re.M)


def run_module(module, args, *, tmp_path, check=True, check_mode=False, diff=False, timeout=300):
    """The result dict of ``ghost.infra.<module>`` with ``args``, plus ``failed`` and
    ``_output`` (what ansible printed: warnings, the diff); ``check`` asserts it did not fail."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))
    cmd = [ANSIBLE, "localhost", "-m", "ghost.infra." + module, "-a", json.dumps(args),
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    if check_mode:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, check=False)
    match = RESULT.search(proc.stdout)
    assert match, proc.stdout[-3000:]
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads(match.group(2))
    result["failed"] = match.group(1).startswith("FAILED") or result.get("failed") is True
    result["_output"] = proc.stdout
    return result
