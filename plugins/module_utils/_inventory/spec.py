# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rules every ghost.infra inventory plugin shares. Private to ghost.infra; pure (no ansible
and no SDK import): host names, group names, which address becomes ``ansible_host``, name
filters and the cache key of a source.

A plugin turns what its backend returned into *host records*, plain data a cache plugin can
store as JSON::

    {"name": inventory_hostname, "vars": {hostvar: value}, "groups": [group, ...]}

and the plugin base (plugin_utils/inventory.py) adds them to the inventory and applies the
``constructed`` options (compose, groups, keyed_groups) to each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import ipaddress
import json
import re
import string

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

_GROUP_INVALID = re.compile(r"[^A-Za-z0-9_]")
# A DNS name (RFC 1123 labels) or an address: what may become ansible_host.
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def group_name(*parts):
    """A valid Ansible group name from ``parts`` joined by ``_``: lower case, every character
    that Ansible refuses in a group name (``-``, ``.``, ``/``, ...) replaced by ``_``."""
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    text = _GROUP_INVALID.sub("_", text.lower())
    if text and text[0].isdigit():
        text = "_" + text
    return text


def host_record(name, hostvars, groups):
    """A host record (see the module docstring); groups sorted, duplicates and empties dropped."""
    return {"name": name, "vars": hostvars, "groups": sorted({g for g in groups if g})}


def _ip(text):
    try:
        return ipaddress.ip_address(str(text).split("/", 1)[0].split("%", 1)[0].strip())
    except ValueError:
        return None


def usable_address(text):
    """Whether ``text`` is an IP address a user can reach: not link-local, loopback, multicast
    or unspecified."""
    ip = _ip(text)
    return ip is not None and not (ip.is_link_local or ip.is_loopback or ip.is_multicast or ip.is_unspecified)


def first_address(addresses):
    """The first usable IPv4 address of ``addresses``, else the first usable IPv6 one, else
    None. Prefix lengths (``/24``) and zone ids are dropped."""
    usable = [_ip(a) for a in addresses or [] if a and usable_address(a)]
    for version in (4, 6):
        for ip in usable:
            if ip.version == version:
                return str(ip)
    return None


def is_host_address(value):
    """Whether ``value`` can be used as ``ansible_host``: an IP address or a DNS name. Anything
    else (a document, a token, text with spaces) is refused, so a wrongly named source never
    turns a secret into a host variable."""
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    if _ip(value) is not None and "/" not in value:
        return True
    labels = value.rstrip(".").split(".")
    return all(_DNS_LABEL.match(label) for label in labels)


def choose_address(sources, candidates):
    """``(address, source)`` for ``ansible_host``: the first source in ``sources`` whose
    candidate in ``candidates`` ({source: address or None}) is set; (None, None) when none is."""
    for source in sources:
        value = candidates.get(source)
        if value:
            return value, source
    return None, None


def check_sources(sources, allowed, *, option, prefixes=()):
    """``sources`` (a list option) checked against ``allowed`` names and ``prefixes`` (a source
    ``guestinfo.x`` is allowed by the prefix ``guestinfo.``); duplicates are refused."""
    if not sources:
        raise GhostError("must name at least one source (choices: %s)" % ", ".join(
            list(allowed) + ["%s<key>" % p for p in prefixes]), option=option)
    seen = set()
    for source in sources:
        if not isinstance(source, str):
            raise GhostError("%r is not a source name" % (source,), option=option)
        ok = source in allowed or any(source.startswith(p) and len(source) > len(p) for p in prefixes)
        if not ok:
            raise GhostError("unknown source '%s' (choices: %s)" % (source, ", ".join(
                list(allowed) + ["%s<key>" % p for p in prefixes])), option=option)
        if source in seen:
            raise GhostError("source '%s' is listed twice" % source, option=option)
        seen.add(source)
    return list(sources)


def check_name_format(text, fields, *, option):
    """``text`` checked as a host name format: ``str.format`` fields all among ``fields``."""
    if not text or not isinstance(text, str):
        raise GhostError("must be a non-empty string such as '%s'" % "_".join("{%s}" % f for f in fields[:2]),
                         option=option)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise GhostError("'%s' is not a valid format: %s" % (text, exc), option=option)
    used = [field for _literal, field, _spec, _conv in parsed if field is not None]
    for field in used:
        if field not in fields:
            raise GhostError("unknown field '{%s}' in '%s' (fields: %s)" % (
                field, text, ", ".join("{%s}" % f for f in fields)), option=option)
    if not used:
        raise GhostError("'%s' names no field, so every host would get the same name (fields: %s)" % (
            text, ", ".join("{%s}" % f for f in fields)), option=option)
    return text


def format_name(text, fields):
    """The host name ``text`` (checked by check_name_format) gives for ``fields``."""
    return text.format(**{k: "" if v is None else v for k, v in fields.items()})


def unique_names(records, tiebreak):
    """Make the ``name`` of every host record unique: hosts sharing a name get
    ``<name>_<tiebreak(record)>`` (a moid, a uuid). Returns the names that were shared, so the
    plugin can say so."""
    by_name = {}
    for record in records:
        by_name.setdefault(record["name"], []).append(record)
    shared = sorted(name for name, items in by_name.items() if len(items) > 1)
    for name in shared:
        for record in by_name[name]:
            record["name"] = "%s_%s" % (name, tiebreak(record))
    return shared


def name_matches(name, include=None, exclude=None):
    """Whether ``name`` matches one of the shell-style patterns ``include`` (none: every name)
    and none of ``exclude``; case-sensitive."""
    name = name or ""
    if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
        return False
    return not (exclude and any(fnmatch.fnmatchcase(name, p) for p in exclude))


def source_key(options, *, secret=()):
    """A short stable digest of the options that decide what a source reads and how its hosts
    look, for the cache key: two sources with different filters never share cached hosts.
    ``secret`` options (passwords, tokens) are left out, so no digest of a secret is stored."""
    kept = {k: v for k, v in sorted(options.items()) if k not in secret}
    text = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def prefixed(prefix, fields):
    """``fields`` with every key prefixed: the host variables of a record."""
    return {"%s%s" % (prefix or "", k): v for k, v in fields.items()}
