# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/guest.py: cloud-init's result read through the guest agent, and the wait for it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import guest
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LibvirtCallError

DONE = json.dumps({"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]", "errors": []}})
FAILED = json.dumps({"v1": {"datasource": "DataSourceNoCloud", "errors": [
    "('scripts_user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted commands'))"]}})


def agent_error(cause, code=1):
    return LibvirtCallError("Failed to run guest agent command guest-file-open in domain 'vm1': %s" % cause,
                            cause=cause, details={"libvirt_error_code": code})


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Guest:
    """``answers``: what each read of result.json gives (text, None for no file, or an error)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.reads = []

    def read_guest_file(self, name, path):
        self.reads.append((name, path))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def wait(client, timeout=60):
    clock = Clock()
    return guest.wait_cloud_init(client, "vm1", timeout=timeout, sleep=clock.sleep, clock=clock)


def test_result_parsing():
    assert guest.cloud_init_result(DONE) == {"status": "done", "errors": [],
                                             "datasource": "DataSourceNoCloud [seed=/dev/sr0][dsmode=net]"}
    failed = guest.cloud_init_result(FAILED)
    assert failed["status"] == "error" and failed["errors"][0].startswith("('scripts_user'")
    for bad in ("{", "[]", '{"v2": {}}'):
        with pytest.raises(GhostError, match="result.json"):
            guest.cloud_init_result(bad)


def test_waits_for_the_agent_then_for_the_file():
    unresponsive = agent_error("Guest agent is not responding: QEMU guest agent is not connected", code=86)
    client = Guest(unresponsive, unresponsive, None, None, DONE)
    assert wait(client)["status"] == "done"
    assert client.reads == [("vm1", "/run/cloud-init/result.json")] * 5


def test_timeout_says_what_was_last_seen():
    with pytest.raises(GhostError) as err:
        wait(Guest(None), timeout=10)
    assert str(err.value) == ("Failed to wait for cloud-init in domain 'vm1': not done within 10 s: cloud-init has "
                              "not finished (no /run/cloud-init/result.json yet)")
    with pytest.raises(GhostError, match="not done within 10 s: the QEMU guest agent does not answer yet"):
        wait(Guest(agent_error("Guest agent is not responding", code=86)), timeout=10)


def test_errors_fail_with_the_result():
    with pytest.raises(GhostError) as err:
        wait(Guest(FAILED))
    assert str(err.value).startswith("Failed to wait for cloud-init in domain 'vm1': it finished with 1 error(s): "
                                     "('scripts_user', RuntimeError(")
    assert err.value.details["cloud_init"]["status"] == "error"


def test_an_agent_that_blocks_file_reads_fails_at_once():
    blocked = agent_error("internal error: unable to execute QEMU agent command 'guest-file-open': "
                          "The command guest-file-open has been disabled for this instance")
    client = Guest(blocked)
    with pytest.raises(GhostError, match="refuses to read /run/cloud-init/result.json .*allow guest-file-open"):
        wait(client)
    assert len(client.reads) == 1


def test_other_libvirt_errors_are_raised():
    with pytest.raises(LibvirtCallError, match="Domain not found"):
        wait(Guest(agent_error("Domain not found", code=42)))
