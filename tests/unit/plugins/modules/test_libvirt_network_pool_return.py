# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt_network's RETURN ``network`` and libvirt_pool's RETURN ``pool`` against the views
the runners return: an object read back, one check mode would create, and one removed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._libvirt import network_spec, network_xml, pool_spec
from ansible_collections.ghost.infra.plugins.modules import libvirt_network, libvirt_pool

NETWORK_XML = ("<network><name>lab</name><uuid>u</uuid><bridge name='virbr7'/>"
               "<ip address='203.0.113.1' prefix='26'><dhcp><range start='203.0.113.20' end='203.0.113.40'/>"
               "<host mac='52:54:00:00:00:01' name='web1' ip='203.0.113.11'/></dhcp></ip></network>")
POOL_XML = "<pool type='dir'><name>images</name><uuid>u</uuid><target><path>/srv/images</path></target></pool>"


def read_network():
    return network_spec.network_view(network_xml.parse_network(NETWORK_XML), name="lab", uuid="u",
                                     state="started", autostart=True)


def planned_network():
    fields = network_spec.desired_fields(None, {"ip": "203.0.113.1/26"})
    return network_spec.network_view(fields, name="lab", uuid=None, state="started", autostart=True)


def removed_network():
    return network_spec.network_view(None, name="lab", uuid="u", state="absent", autostart=False)


def read_pool():
    return pool_spec.pool_view(pool_spec.parse_pool(POOL_XML), name="images", uuid="u", active=True,
                               autostart=True, sizes={"capacity": 3, "allocation": 1, "available": 2},
                               volumes=["a"])


def removed_pool():
    return pool_spec.pool_view(None, name="images", uuid=None, active=False, autostart=False)


@pytest.mark.parametrize("build", [read_network, planned_network, removed_network], ids=lambda f: f.__name__)
def test_libvirt_network_returns_what_it_documents(build, return_schema):
    network = build()
    return_schema.assert_matches(network, return_schema.doc("libvirt_network")["network"]["contains"])


@pytest.mark.parametrize("build", [read_pool, removed_pool], ids=lambda f: f.__name__)
def test_libvirt_pool_returns_what_it_documents(build, return_schema):
    return_schema.assert_matches(build(), return_schema.doc("libvirt_pool")["pool"]["contains"])


@pytest.mark.parametrize("module", [libvirt_network, libvirt_pool], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_choices_come_from_the_spec(module):
    spec = module.argument_spec()
    assert spec["state"]["choices"] == list((network_spec if module is libvirt_network else pool_spec).STATES)
    assert "uri" in spec  # the shared connection options
