# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt_domain's RETURN ``domain`` and libvirt_domain_info's RETURN ``domains`` against every
builder of that view: a domain read back after a run (spec.domain_view over parsed XML), a
domain check mode would create (spec.domain_view over wanted fields), a removed one
(spec.absent_view) and the info listing (runner.domain_info)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._libvirt import runner, spec, xml_build, xml_parse

MAC = "52:54:00:3a:9c:1e"
PARAMS = {"name": "web1", "vcpus": 2, "memory_mb": 1024, "firmware": None, "kernel": None, "initrd": None,
          "cmdline": None, "console_log": "/var/log/web1.log"}
OVERLAY = {"disk": spec.overlay_disk("/pool/web1.qcow2", "/pool/base.qcow2", "qcow2"),
           "volume": {"role": "overlay", "pool": "ghost", "name": "web1.qcow2", "path": "/pool/web1.qcow2"}}
SEED = {"disk": spec.seed_disk("/pool/web1-cidata-0123456789ab.iso"),
        "volume": {"role": "seed", "pool": "ghost", "name": "web1-cidata-0123456789ab.iso",
                   "path": "/pool/web1-cidata-0123456789ab.iso", "sha256": "0123456789abcdef",
                   "instance_id": "iid-1"}}
# Every documented key, except after state=absent (documented as name, uuid and state only).
ABSENT_OMITS = ("domain_type", "vcpus", "memory_mb", "firmware", "autostart", "kernel", "console_log",
                "disks", "interfaces", "cloud_init_instance_id", "restart_required", "expires_at", "expired", "ttl")


def wanted_fields():
    interfaces = spec.normalize_interfaces("web1", [{"network": "default", "mac": MAC}])
    return spec.desired_fields(None, PARAMS, domain_type="kvm", interfaces=interfaces, overlay=OVERLAY,
                               seed=SEED)


def defined_xml():
    return xml_build.build_domain(wanted_fields(), name="web1", arch="x86_64")


def read_domain():
    fields = xml_parse.parse_domain(defined_xml())
    return spec.domain_view(fields, name="web1", uuid="4f0c1b8e", state="running", autostart=True,
                            restart_required=False, addresses={MAC: ["192.0.2.57"]})


def planned_domain():
    return spec.domain_view(wanted_fields(), name="web1", state="running", autostart=False)


def removed_domain():
    return spec.absent_view("web1", xml_parse.parse_domain(defined_xml()))


def never_existed():
    return spec.absent_view("web1")


class ListingClient:
    """What domain_info() reads: one running domain and its network's leases."""

    def list_domains(self, name=None):
        return [("web1", 1, True, defined_xml())]

    def network_leases(self, name):
        return {MAC: ["192.0.2.57"]}


@pytest.mark.parametrize("build", [read_domain, planned_domain], ids=lambda f: f.__name__)
def test_libvirt_domain_returns_what_it_documents(build, return_schema):
    domain = build()
    assert domain["disks"] and domain["interfaces"]  # nested keys are checked too
    return_schema.assert_matches(domain, return_schema.doc("libvirt_domain")["domain"]["contains"])


@pytest.mark.parametrize("build", [removed_domain, never_existed], ids=lambda f: f.__name__)
def test_libvirt_domain_absent_returns_what_it_documents(build, return_schema):
    omitted = ABSENT_OMITS + (("uuid",) if build is never_existed else ())
    return_schema.assert_matches(build(), return_schema.doc("libvirt_domain")["domain"]["contains"],
                                 optional=omitted)


def test_libvirt_domain_info_returns_what_it_documents(return_schema):
    domains = runner.domain_info(ListingClient())["domains"]
    assert domains[0]["interfaces"][0]["addresses"] == ["192.0.2.57"]
    return_schema.assert_matches(domains, return_schema.doc("libvirt_domain_info")["domains"]["contains"])


def test_both_modules_document_the_same_domain(return_schema):
    def keys(contains):
        return {key: sorted(entry.get("contains", {})) for key, entry in contains.items()}
    assert keys(return_schema.doc("libvirt_domain")["domain"]["contains"]) == \
        keys(return_schema.doc("libvirt_domain_info")["domains"]["contains"])
