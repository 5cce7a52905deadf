# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common import module as module_base
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, MissingLibraryError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import


class Exit(Exception):
    pass


class FakeModule:
    """Records what a module would report; exits like AnsibleModule does."""

    def __init__(self):
        self.failed = None
        self.exited = None
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise Exit()

    def exit_json(self, **kwargs):
        self.exited = kwargs
        raise Exit()


def test_available_library_is_returned():
    imp = optional_import("json")
    assert imp.available
    assert imp.require().dumps({}) == "{}"


def test_missing_library_is_reported_not_raised():
    imp = optional_import("ghost_no_such_library", "ghost-no-such-library")
    assert not imp.available
    assert "ModuleNotFoundError" in imp.traceback
    with pytest.raises(MissingLibraryError) as err:
        imp.require()
    assert err.value.library == "ghost-no-such-library"


def test_require_libraries_fails_through_missing_required_lib():
    module = FakeModule()
    with pytest.raises(Exit):
        module_base.require_libraries(module, optional_import("json"), optional_import("ghost_nope", "ghost-nope"))
    assert "ghost-nope" in module.failed["msg"]
    assert "Failed to import the required Python library" in module.failed["msg"]
    assert "ModuleNotFoundError" in module.failed["exception"]


def test_require_libraries_passes_when_all_present():
    module = FakeModule()
    module_base.require_libraries(module, optional_import("json"))
    assert module.failed is None


def test_run_maps_ghost_error_to_fail_json():
    module = FakeModule()

    def action():
        raise GhostError("not a valid CIDR", option="cloud_init.ip", details={"name": "web1"})

    with pytest.raises(Exit):
        module_base.run(module, action)
    assert module.failed["msg"] == "cloud_init.ip: not a valid CIDR"
    assert module.failed["name"] == "web1"
    assert module.failed["duration"] >= 0


def test_run_reports_missing_library_from_client():
    module = FakeModule()

    def action():
        optional_import("ghost_nope", "ghost-nope").require()

    with pytest.raises(Exit):
        module_base.run(module, action)
    assert "ghost-nope" in module.failed["msg"]


def test_run_exits_with_result_and_duration():
    module = FakeModule()
    with pytest.raises(Exit):
        module_base.run(module, lambda: {"changed": False, "path": "/x"})
    assert module.exited["changed"] is False
    assert module.exited["path"] == "/x"
    assert "duration" in module.exited


def test_run_hands_result_warnings_to_module_warn():
    module = FakeModule()
    with pytest.raises(Exit):
        module_base.run(module, lambda: {"changed": True, "warnings": ["used the SSH fallback"]})
    assert module.warnings == ["used the SSH fallback"]
    assert "warnings" not in module.exited


def test_other_exceptions_are_not_swallowed():
    module = FakeModule()

    def action():
        raise KeyError("bug")

    with pytest.raises(KeyError):
        module_base.run(module, action)
