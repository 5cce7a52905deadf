# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One deadline for parallel probes, and how failures are described for spec.classify."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.ghost.infra.plugins.module_utils._registry import client, spec


def test_run_bounded_waits_once_for_all():
    release = threading.Event()

    def hangs():
        release.wait(30)
        return {"failure": None}

    tasks = {"hang-%d" % i: hangs for i in range(5)}
    tasks.update({"ok-%d" % i: (lambda i=i: {"server_version": "v%d" % i, "failure": None}) for i in range(15)})
    started = time.monotonic()
    results = client.run_bounded(tasks, 0.5)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 1.5  # one timeout for all, not one per hanging task
    assert sorted(k for k, v in results.items() if v["failure"] and v["failure"]["timed_out"]) == [
        "hang-%d" % i for i in range(5)]
    assert results["ok-7"] == {"server_version": "v7", "failure": None}


def test_run_bounded_turns_an_exception_into_a_failure():
    def boom():
        raise ValueError("bad kubeconfig")
    result = client.run_bounded({"x": boom}, 1)["x"]
    assert result["failure"]["chain"] == [["ValueError", "bad kubeconfig"]]
    assert spec.classify(result["failure"]) == "error"


class Reason(Exception):
    pass


class Wrapper(Exception):
    def __init__(self, message, reason):
        super(Wrapper, self).__init__(message)
        self.reason = reason


class HttpError(Exception):
    status = 401


def test_describe_failure_follows_reason_and_cause():
    failure = client.describe_failure(Wrapper("Max retries exceeded", Reason("[Errno -2] Name or service not known")))
    assert failure["chain"] == [["Wrapper", "Max retries exceeded"], ["Reason", "[Errno -2] Name or service not known"]]
    assert spec.classify(failure) == "dns"
    try:
        try:
            raise HttpError("(401)\nReason: Unauthorized")
        except HttpError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as exc:
        failure = client.describe_failure(exc)
    assert failure["status"] == 401 and spec.classify(failure) == "unauthorized"
