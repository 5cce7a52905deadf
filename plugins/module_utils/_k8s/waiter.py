# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting on a Kubernetes cluster: one deadline, one backoff, one result shape. Private to ghost.infra.

Every wait of the Kubernetes backends goes through ``Waiter.wait(probe, timeout, until=...)``:
it calls ``probe()`` (an API read) until ``until`` accepts what it returned or the time is up,
sleeping 0.25 s at first and twice as long each time up to 2 s, so a fast controller is noticed
quickly and a slow one is not hammered. It returns ``WaitResult(done, value, elapsed)``, as
kubernetes.core's ``Waiter.wait`` returns ``(success, instance, elapsed)``; the caller words a
timeout, because only it knows what it waited for. A ``Deadline`` shares one ``wait_timeout``
between the several waits of a run. Pure (no ansible, no SDK); sleep and clock are injectable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import time

FIRST_INTERVAL = 0.25
MAX_INTERVAL = 2.0

WaitResult = collections.namedtuple("WaitResult", ["done", "value", "elapsed"])


class Deadline:
    """One time budget shared by several waits (stop, delete, restore, start...)."""

    def __init__(self, timeout, *, clock=time.monotonic):
        self._clock = clock
        self._end = clock() + timeout

    def remaining(self):
        """Seconds left, never below zero."""
        return max(0.0, self._end - self._clock())


class Waiter:
    """Bounded polling with a growing interval."""

    def __init__(self, *, sleep=time.sleep, clock=time.monotonic):
        self._sleep = sleep
        self._clock = clock

    def deadline(self, timeout):
        """A Deadline ``timeout`` seconds from now, on this waiter's clock."""
        return Deadline(timeout, clock=self._clock)

    def wait(self, probe, timeout, *, until=bool):
        """Call ``probe()`` until ``until(value)`` is true or ``timeout`` seconds have passed.

        The probe runs at least once, also with no time left. Returns ``WaitResult``: whether
        ``until`` was met, the value of the last probe and the seconds elapsed. Errors of the
        probe propagate.
        """
        start = self._clock()
        interval = FIRST_INTERVAL
        while True:
            value = probe()
            elapsed = self._clock() - start
            if until(value):
                return WaitResult(done=True, value=value, elapsed=elapsed)
            remaining = timeout - elapsed
            if remaining <= 0:
                return WaitResult(done=False, value=value, elapsed=elapsed)
            self._sleep(min(interval, remaining))
            interval = min(interval * 2, MAX_INTERVAL)
