# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local testbed of real backends on 127.0.0.1 for ghost.infra's integration tests.

A package run from tests/: ``cd tests && python -m testbed up|status|env-file|down`` (the
Makefile's testbed-* targets do this); its modules import each other relatively. README.md says
what starts, where state, logs and the build cache live, and how to add a daemon.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
