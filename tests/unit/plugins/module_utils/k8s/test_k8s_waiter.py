# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one waiter of the Kubernetes backends, on a fake clock (as kubernetes.core's test_waiter.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import (
    FIRST_INTERVAL, MAX_INTERVAL, Deadline, WaitResult, Waiter,
)


class Clock:
    def __init__(self):
        self.now = 50.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make():
    clock = Clock()
    return Waiter(sleep=clock.sleep, clock=clock), clock


def test_polls_until_the_value_is_accepted():
    waiter, clock = make()
    values = iter([None, None, "ready"])
    result = waiter.wait(lambda: next(values), 30)
    assert result == WaitResult(True, "ready", pytest.approx(0.75))
    assert clock.sleeps == [0.25, 0.5]


def test_until_decides_and_the_value_is_whatever_the_probe_returned():
    waiter, unused = make()
    values = iter([{"phase": "Pending"}, None])
    done, value, unused_elapsed = waiter.wait(lambda: next(values), 30, until=lambda obj: obj is None)
    assert done is True and value is None


def test_backoff_doubles_up_to_the_maximum():
    waiter, clock = make()
    waiter.wait(lambda: False, 20)
    assert clock.sleeps[:5] == [FIRST_INTERVAL, 0.5, 1.0, MAX_INTERVAL, MAX_INTERVAL]
    assert max(clock.sleeps) == MAX_INTERVAL


def test_timeout_returns_the_last_value_after_exactly_the_timeout():
    waiter, clock = make()
    values = iter(range(100))
    done, value, elapsed = waiter.wait(lambda: next(values), 10, until=lambda n: n < 0)
    assert done is False
    assert elapsed == pytest.approx(10)
    assert sum(clock.sleeps) == pytest.approx(10)  # the last sleep is cut to what is left
    assert value == len(clock.sleeps)  # one probe after the last sleep


@pytest.mark.parametrize("timeout", [0, -3])
def test_no_time_left_probes_once(timeout):
    waiter, clock = make()
    calls = []
    done, unused, elapsed = waiter.wait(lambda: calls.append(1), timeout)
    assert done is False and calls == [1] and clock.sleeps == [] and elapsed == 0


def test_probe_errors_propagate():
    waiter, unused = make()

    def broken():
        raise ValueError("API down")
    with pytest.raises(ValueError):
        waiter.wait(broken, 10)


def test_a_deadline_is_shared_by_the_waits_of_a_run():
    waiter, clock = make()
    deadline = waiter.deadline(10)
    waiter.wait(lambda: False, deadline.remaining())
    assert deadline.remaining() == 0.0
    assert waiter.wait(lambda: False, deadline.remaining()).done is False
    assert sum(clock.sleeps) == pytest.approx(10)


def test_deadline_remaining_counts_down_and_never_goes_negative():
    clock = Clock()
    deadline = Deadline(5, clock=clock)
    clock.now += 2
    assert deadline.remaining() == pytest.approx(3)
    clock.now += 10
    assert deadline.remaining() == 0.0
