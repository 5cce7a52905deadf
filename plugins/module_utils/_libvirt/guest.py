# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for cloud-init inside a running guest, through the QEMU guest agent. Private to
ghost.infra.

cloud-init writes /run/cloud-init/result.json when its last stage is done, with the errors of
every stage; /run is empty at each boot, so the file cannot be left from an earlier one. The
agent reads it (guest-file-open/read), which works over any libvirt URI and needs nothing but
qemu-guest-agent in the guest. ``sleep`` and ``clock`` are injected for the tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LibvirtCallError

RESULT_FILE = "/run/cloud-init/result.json"
POLL = 3.0
VIR_ERR_AGENT_UNRESPONSIVE = 86
VIR_ERR_AGENT_UNSYNCED = 97
# What an agent says when its configuration blocks a command (RHEL's qemu-ga does so for the
# file commands unless allowed in /etc/sysconfig/qemu-ga).
_BLOCKED = ("has been disabled", "is not allowed", "CommandNotFound")


def cloud_init_result(text):
    """``{"status": "done" | "error", "errors": [...], "datasource": ...}`` from the text of
    cloud-init's result.json. Pure."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise GhostError("cannot parse cloud-init's %s: %s" % (RESULT_FILE, exc))
    v1 = (data or {}).get("v1") if isinstance(data, dict) else None
    if not isinstance(v1, dict):
        raise GhostError("cloud-init's %s has no v1 section: %r" % (RESULT_FILE, text[:200]))
    errors = [str(error) for error in v1.get("errors") or []]
    return {"status": "error" if errors else "done", "errors": errors, "datasource": v1.get("datasource")}


def wait_cloud_init(client, name, *, timeout, sleep=time.sleep, clock=time.monotonic):
    """cloud-init's result in domain ``name`` once it finished; GhostError after ``timeout``
    seconds (saying what was last seen), when the agent refuses to read files, or when
    cloud-init reports errors (the result is in the error's details)."""
    deadline = clock() + timeout
    while True:
        try:
            text = client.read_guest_file(name, RESULT_FILE)
        except LibvirtCallError as exc:
            if exc.details.get("libvirt_error_code") in (VIR_ERR_AGENT_UNRESPONSIVE, VIR_ERR_AGENT_UNSYNCED):
                waiting = "the QEMU guest agent does not answer yet (%s)" % exc.cause
            elif any(word in exc.cause for word in _BLOCKED):
                raise GhostError(failure(
                    "wait for cloud-init in", "domain", name,
                    "the QEMU guest agent refuses to read %s (%s); allow guest-file-open and "
                    "guest-file-read in its configuration" % (RESULT_FILE, exc.cause)))
            else:
                raise
        else:
            if text is not None:
                result = cloud_init_result(text)
                if result["status"] == "error":
                    raise GhostError(failure(
                        "wait for cloud-init in", "domain", name,
                        "it finished with %d error(s): %s" % (len(result["errors"]), "; ".join(result["errors"]))),
                        details={"cloud_init": result})
                return result
            waiting = "cloud-init has not finished (no %s yet)" % RESULT_FILE
        now = clock()
        if now >= deadline:
            raise GhostError(failure("wait for cloud-init in", "domain", name,
                                     "not done within %d s: %s" % (timeout, waiting)))
        sleep(min(POLL, max(deadline - now, 0.01)))
