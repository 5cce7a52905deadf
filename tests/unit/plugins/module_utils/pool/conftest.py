# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the pool tests: ``clock``, ``fake_api`` and ``pool_api`` (pool_fakes.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from pool_fakes import Clock, FakePoolApi, declare_params, populate

from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake_api(clock):
    return FakePoolApi(clock)


@pytest.fixture
def pool_api(fake_api, clock):
    """A fake API holding pool ``cks`` with members cluster1..3 (VMs and snapshots present)."""
    populate(fake_api)
    ensure_pool(fake_api, declare_params(), now=clock.now)
    return fake_api
