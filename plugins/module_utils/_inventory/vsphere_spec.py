# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.vsphere inventory's rules. Private to ghost.infra; pure (no ansible and no
pyVmomi import).

Takes the inventory read in ONE paged RetrievePropertiesEx (vsphere_client.py, records.py)
and the plugin's options, and returns the host records (_inventory/spec.py): host variables
are esxi_vm_info's ``vms[]`` fields (views.vm_view, guestinfo values masked; ``disks`` only
when the devices were read; the expiry from extraConfig), ``ansible_host`` comes from the sources
the user lists; expired VMs are also in the group ``expired``. A
guestinfo value is used only for a key the user names in ``ansible_host_sources``, only when
it is an address or a DNS name, and only ever as ``ansible_host``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import lookup, views
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import GUESTINFO_PREFIX

SOURCES = ("guest_ip", "name")
POWER_STATES = ("poweredOn", "poweredOff", "suspended")
NAME_FIELDS = ("name", "moid", "uuid", "instance_uuid", "datacenter")
GROUP_PREFIX = "vsphere"
# Every host whose expiry has passed, whatever the plugin (the reaper's view of an inventory).
EXPIRED_GROUP = "expired"


def check_options(options):
    """The options that shape hosts, checked; GhostError naming the option otherwise."""
    sources = spec.check_sources(options.get("ansible_host_sources") or [], SOURCES,
                                 option="ansible_host_sources", prefixes=(GUESTINFO_PREFIX,))
    for state in options.get("power_states") or []:
        if state not in POWER_STATES:
            raise GhostError("unknown power state '%s' (choices: %s)" % (state, ", ".join(POWER_STATES)),
                             option="power_states")
    spec.check_name_format(options.get("name_format"), NAME_FIELDS, option="name_format")
    return sources


def guestinfo_sources(sources):
    """The guestinfo keys the user named as address sources: the only ones ever read."""
    return [s for s in sources if s.startswith(GUESTINFO_PREFIX)]


def _wanted(view, options):
    if options.get("power_states") and view["power_state"] not in options["power_states"]:
        return False
    if options.get("managed_only") and not view["managed"]:
        return False
    if view["template"] and not options.get("templates", True):
        return False
    return spec.name_matches(view["name"], options.get("names"), options.get("exclude_names"))


def _candidates(record, view, sources, warnings):
    """{source: address} for one VM; a named guestinfo value that is no address is dropped
    with a warning that never shows it."""
    out = {"guest_ip": view["ip_address"], "name": view["name"]}
    extra = record.get("extra_config") or {}
    for key in guestinfo_sources(sources):
        value = (extra.get(key) or "").strip()
        if not value:
            continue
        if spec.is_host_address(value):
            out[key] = value
        else:
            warnings.append("VM '%s': %s holds no address or DNS name, so it is not used as ansible_host "
                            "(its value is not shown)" % (view["name"], key))
    return out


def vm_view(record, inventory, *, now=None):
    """esxi_vm_info's ``vm`` view of a record (``expired`` as of ``now``); of a record read
    without devices (see vsphere_client.py), ``networks`` are the VM's networks and ``disks``
    is left out."""
    view = views.vm_view(record, inventory, now=now)
    if record.get("devices_read") is False:
        view["networks"] = list(record.get("network_names") or [])
        del view["disks"]
    return view


def vm_host(record, inventory, *, options, sources, warnings, now=None):
    """The host record of one VM record, or None when the filters leave it out."""
    view = vm_view(record, inventory, now=now)
    if not _wanted(view, options):
        return None
    address, source = spec.choose_address(sources, _candidates(record, view, sources, warnings))
    hostvars = spec.prefixed(options.get("hostvars_prefix"), view)
    hostvars["%saddress_source" % (options.get("hostvars_prefix") or "")] = source
    if address:
        hostvars["ansible_host"] = address
    groups = [spec.group_name(GROUP_PREFIX, view["power_state"])]
    if view["template"]:
        groups.append(spec.group_name(GROUP_PREFIX, "templates"))
    if view["managed"]:
        groups.append(spec.group_name(GROUP_PREFIX, "managed"))
    if view["expired"]:
        groups.append(EXPIRED_GROUP)
    name = spec.format_name(options["name_format"], {f: view.get(f) for f in NAME_FIELDS})
    out = spec.host_record(name, hostvars, groups)
    out["moid"] = view["moid"]
    return out


def hosts(inventory, options, *, now=None):
    """``(host records, warnings)`` for the VMs of ``inventory`` the options select; expired as
    of ``now`` (an aware datetime; default the current time)."""
    sources = check_options(options)
    now = now or views.utc_now()
    warnings = []
    out = []
    for record in lookup.match_vms(inventory, folder=options.get("folder")):
        host = vm_host(record, inventory, options=options, sources=sources, warnings=warnings, now=now)
        if host is not None:
            out.append(host)
    shared = spec.unique_names(out, lambda h: h["moid"])
    for name in shared:
        warnings.append("several VMs are named '%s'; their hosts are named '%s_<moid>'" % (name, name))
    for host in out:
        del host["moid"]
    return sorted(out, key=lambda h: h["name"]), warnings
