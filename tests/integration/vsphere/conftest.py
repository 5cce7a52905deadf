# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixture ``call_recorder``: count the API calls a vSphere client makes against the simulators."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest


class Recorder:
    """Records the name of every API method the client calls: through pyVmomi's stub and
    through the client's own PropertyCollector reads."""

    def __init__(self, client):
        self.names = []
        self._invoke = client._stub.InvokeMethod
        client._stub.InvokeMethod = self.invoke
        self._post = client._post
        client._post = self.post

    def invoke(self, mo, info, args, *rest):
        self.names.append(info.wsdlName)
        return self._invoke(mo, info, args, *rest)

    def post(self, method, args):
        self.names.append(method)
        return self._post(method, args)

    def writes(self):
        """The tasks among the calls: what changed something."""
        return [n for n in self.names if n.endswith("_Task")]


@pytest.fixture
def call_recorder():
    """``call_recorder(client)`` starts recording that client's calls."""
    return Recorder
