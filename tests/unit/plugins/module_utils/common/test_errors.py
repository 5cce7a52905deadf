# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import (
    GhostError,
    MissingLibraryError,
    failure,
)


def test_message_names_the_option():
    err = GhostError("'10.0.0.300/24' is not a valid CIDR", option="cloud_init.ip")
    assert str(err) == "cloud_init.ip: '10.0.0.300/24' is not a valid CIDR"
    assert err.option == "cloud_init.ip"


def test_message_without_option_is_plain():
    assert str(GhostError("boom")) == "boom"


def test_details_are_copied():
    details = {"vm": "web1"}
    err = GhostError("x", details=details)
    details["vm"] = "other"
    assert err.details == {"vm": "web1"}


def test_arguments_after_msg_are_keyword_only():
    with pytest.raises(TypeError):
        raise GhostError("x", "cloud_init.ip")  # pylint: disable=too-many-function-args


def test_failure_shape():
    assert failure("create", "VM", "web1", "no such template") == "Failed to create VM 'web1': no such template"


def test_missing_library_is_a_ghost_error():
    err = MissingLibraryError(library="libvirt-python", reason="No module named 'libvirt'")
    assert isinstance(err, GhostError)
    assert err.library == "libvirt-python"
    assert "libvirt-python" in str(err)
