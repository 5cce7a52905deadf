# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.libvirt inventory's rules. Private to ghost.infra; pure (no ansible and no
libvirt import).

Takes what libvirt_client.read returned for each URI and the plugin's options, and returns the
host records (_inventory/spec.py): one host per domain and URI, named ``{host}_{domain}`` by
default so domains of the same name on two hypervisors stay apart; host variables are
libvirt_domain_info's ``domain`` fields (_libvirt/spec.domain_view) plus the URI and host;
``ansible_host`` is the first usable address of the first source (lease, agent, arp) that has
one; groups by state and by host, and every expired domain (the expiry libvirt_domain keeps in
its metadata has passed) in the group ``expired``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
from urllib.parse import urlsplit

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.spec import domain_view

SOURCES = ("lease", "agent", "arp")
STATES = ("running", "paused", "stopped", "crashed", "pmsuspended", "unknown")
NAME_FIELDS = ("host", "domain", "uuid", "uri")
GROUP_PREFIX = "libvirt"
# The group of expired hosts, the same name in every inventory plugin (no prefix).
EXPIRED_GROUP = "expired"


def check_options(options):
    """The options that shape hosts, checked; returns the address sources in order."""
    uris = options.get("uris") or []
    if not uris:
        raise GhostError("must list at least one libvirt URI, such as qemu:///system", option="uris")
    for uri in uris:
        if not isinstance(uri, str) or "://" not in uri:
            raise GhostError("'%s' is not a libvirt URI (such as qemu:///system or qemu+ssh://user@host/system)"
                             % (uri,), option="uris")
    if len(set(uris)) != len(uris):
        raise GhostError("lists a URI twice", option="uris")
    aliases = options.get("aliases") or {}
    for uri in aliases:
        if uri not in uris:
            raise GhostError("'%s' is not one of uris" % uri, option="aliases")
    for state in options.get("states") or []:
        if state not in STATES:
            raise GhostError("unknown state '%s' (choices: %s)" % (state, ", ".join(STATES)), option="states")
    spec.check_name_format(options.get("name_format"), NAME_FIELDS, option="name_format")
    return spec.check_sources(options.get("address_sources") or [], SOURCES, option="address_sources")


def uri_host(uri, aliases=None):
    """The short name of a URI's hypervisor: its alias, else the URI's host name (without user
    and port), else ``localhost`` for a local URI such as qemu:///system."""
    if aliases and aliases.get(uri):
        return aliases[uri]
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        host = None
    return host or "localhost"


def _addresses(domain, sources):
    """({mac: [address]} merged in source order, (address, source) for ansible_host)."""
    merged = {}
    candidates = {}
    for source in sources:
        found = (domain.get("addresses") or {}).get(source) or {}
        for mac, addresses in sorted(found.items()):
            for address in addresses:
                if address not in merged.setdefault(mac, []):
                    merged[mac].append(address)
        candidates[source] = spec.first_address([a for _mac, items in sorted(found.items()) for a in items])
    return merged, spec.choose_address(sources, candidates)


def domain_host(domain, *, uri, host, options, sources, now):
    """The host record of one domain read from ``uri``, or None when the filters leave it out;
    ``now`` (an aware datetime) decides ``expired``."""
    if options.get("states") and domain["state"] not in options["states"]:
        return None
    if not spec.name_matches(domain["name"], options.get("names"), options.get("exclude_names")):
        return None
    merged, (address, source) = _addresses(domain, sources)
    fields = domain["fields"]
    active = domain["state"] in ("running", "paused")
    view = domain_view(fields, name=domain["name"], uuid=fields.get("uuid"), state=domain["state"],
                       autostart=domain["autostart"], restart_required=active and bool(fields.get("restart_flag")),
                       addresses=merged, now=now)
    view.update(uri=uri, host=host, address_source=source)
    hostvars = spec.prefixed(options.get("hostvars_prefix"), view)
    if address:
        hostvars["ansible_host"] = address
    groups = [spec.group_name(GROUP_PREFIX, "state", domain["state"]), spec.group_name(GROUP_PREFIX, "host", host)]
    if view["expired"]:
        groups.append(EXPIRED_GROUP)
    name = spec.format_name(options["name_format"], {"host": host, "domain": domain["name"],
                                                     "uuid": fields.get("uuid"), "uri": uri})
    out = spec.host_record(name, hostvars, groups)
    out["tiebreak"] = fields.get("uuid") or domain["name"]
    return out


def hosts(reads, options, *, now=None):
    """``(host records, warnings)`` from ``reads`` ([(uri, domains)], the URIs that answered,
    in the order of ``uris``); ``now`` (None: the current time) decides which have expired."""
    sources = check_options(options)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    aliases = options.get("aliases") or {}
    index = {uri: i for i, uri in enumerate(options["uris"])}
    out = []
    for uri, domains in reads:
        host = uri_host(uri, aliases)
        for domain in domains:
            record = domain_host(domain, uri=uri, host=host, options=options, sources=sources, now=now)
            if record is not None:
                record["uri_index"] = index.get(uri, 0)
                out.append(record)
    warnings = []
    for name in spec.unique_names(out, lambda r: r["tiebreak"]):
        warnings.append("several domains would be named '%s' (set name_format or aliases); their hosts are "
                        "named '%s_<uuid>'" % (name, name))
    # The same domain (one UUID) seen through two URIs of one hypervisor: the URI's position.
    spec.unique_names(out, lambda r: r["uri_index"])
    for record in out:
        del record["tiebreak"], record["uri_index"]
    return sorted(out, key=lambda h: h["name"]), warnings
