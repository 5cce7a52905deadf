# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixture ``pool_env`` of the cluster pool tests (pool_helpers.PoolEnv): names of our own, cleaned up after."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from pool_helpers import PoolEnv


@pytest.fixture
def pool_env(testbed, tmp_path):
    env = PoolEnv(testbed, tmp_path)
    try:
        yield env
    finally:
        env.cleanup()
