# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the ``cloud_init`` option into cloud-init documents. Private to ghost.infra; pure.

render_documents() is deterministic: the same option gives the same text, byte for byte, so
the derived instance-id only changes (and cloud-init only runs again) when the content does.
The documents are then delivered by guestinfo.py (ESXi) or iso.py (NoCloud, libvirt).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import email
import hashlib
import hmac
import json
import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK, mask_secrets
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.spec import (
    CLOUD_CONFIG_TYPE,
    MIME_TYPE,
    check_mac_address,
    classify_user_data,
    normalize,
)
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import (
    dump_yaml,
    load_yaml,
)

# The first NIC per backend: its kernel driver, and the name it gets (set-name) so that every
# guest sees the same one. Matching by name alone broke on VMware hardware versions where the
# first VMXNET3 NIC is ens160, not ens192; a match by MAC (when the backend knows it) or by
# driver finds it on any of them.
BACKEND_NICS = {
    "esxi": {"driver": "vmxnet3", "name": "ens192"},
    "libvirt": {"driver": "virtio_net", "name": "enp1s0"},
}

# The netplan id of the first NIC when the user named no interface.
MATCH_ID = "primary"

SUDO_RULE = "ALL=(ALL) NOPASSWD:ALL"

# Keys masked at any depth when documents are shown: passwords and hashes, private host keys,
# file contents, tokens.
SECRET_KEYS = (
    "passwd", "hashed_passwd", "plain_text_passwd", "password", "chpasswd", "ssh_keys",
    "content", "token", "secret", "private_key",
)

# Top-level cloud-config keys shown as they are in a diff (users with SECRET_KEYS masked). Any
# other key (runcmd, bootcmd, write_files, chpasswd, whatever raw user_data adds) can carry a
# join token or a password in free text, so a diff shows only a digest of its value: enough to
# see which key changed, nothing of what it holds.
SHOWN_CLOUD_CONFIG_KEYS = frozenset([
    "hostname", "fqdn", "prefer_fqdn_over_hostname", "preserve_hostname", "manage_etc_hosts",
    "locale", "timezone", "packages", "package_update", "package_upgrade",
    "package_reboot_if_required", "users", "ssh_pwauth", "disable_root",
])
SHOWN_META_DATA_KEYS = frozenset(["instance-id", "local-hostname", "dsmode"])

# Digests in diffs are keyed per process: the two sides of one diff compare, while a short
# secret cannot be recovered from a digest by trying candidates.
_DIGEST_KEY = os.urandom(16)

# NoCloud file names, in the order they are written.
NOCLOUD_FILES = ("meta-data", "user-data", "network-config", "vendor-data")


class CloudInitDocuments:
    """The rendered documents: text for delivery, parsed forms for guestinfo and diffs.

    ``meta_data``, ``user_data``, ``network_config`` (DHCP when no address is given):
    str; ``vendor_data``: str or None; ``instance_id``: str; ``meta_data_dict`` and
    ``network_config_dict``: the parsed meta-data and netplan documents.
    """

    __slots__ = ("meta_data", "user_data", "network_config", "vendor_data", "instance_id",
                 "meta_data_dict", "network_config_dict")

    def __init__(self, *, meta_data_dict, user_data, network_config_dict, network_config,
                 vendor_data):
        self.meta_data_dict = meta_data_dict
        self.network_config_dict = network_config_dict
        self.instance_id = meta_data_dict["instance-id"]
        self.meta_data = dump_yaml(meta_data_dict)
        self.user_data = user_data
        self.network_config = network_config
        self.vendor_data = vendor_data

    def as_dict(self):
        """The documents as strings (None when absent) plus ``instance_id``."""
        return {
            "instance_id": self.instance_id,
            "meta_data": self.meta_data,
            "user_data": self.user_data,
            "network_config": self.network_config,
            "vendor_data": self.vendor_data,
        }

    def files(self):
        """NoCloud files as {name: UTF-8 bytes}, only those present."""
        texts = (self.meta_data, self.user_data, self.network_config, self.vendor_data)
        return {name: text.encode("utf-8")
                for name, text in zip(NOCLOUD_FILES, texts) if text is not None}


def merge(base, extra):
    """Merge ``extra`` into a copy of ``base``: dicts recursively, lists appended (items
    already present are not repeated), any other value from ``extra`` wins."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            out[key] = merge(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            out[key] = current + [copy.deepcopy(item) for item in value if item not in current]
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_route(gateway):
    """The destination of a default route via ``gateway``, as every cloud-init parses it.

    ``to: default`` is netplan's spelling, but cloud-init's own network-state parser (Debian
    12's 22.4, RHEL, every renderer but Ubuntu's netplan pass-through) rejects it: "Address
    default is not a valid ip address". A prefix of length zero parses everywhere.
    """
    return "::/0" if ":" in gateway else "0.0.0.0/0"


def network_config(opts, *, backend, mac_address=None):
    """The netplan v2 document for normalized options (DHCP when no ``ip``).

    The NIC is ``cloud_init.interface`` when given, else the backend's first NIC matched by
    MAC, or by driver when the MAC is not known yet (ESXi assigns it at clone time), and named
    with ``set-name``: cloud-init's own parser (Debian, RHEL) names the interface after
    ``set-name`` or the id, so the id alone must not be what finds it.
    """
    if opts["network_config"] is not None:
        return copy.deepcopy(opts["network_config"])
    if opts["interface"]:
        device_id, device = opts["interface"], {}
    else:
        nic = BACKEND_NICS[backend]
        match = ({"macaddress": check_mac_address(mac_address)} if mac_address
                 else {"driver": nic["driver"]})
        device_id, device = MATCH_ID, {"match": match, "set-name": nic["name"]}
    if opts["ip"]:
        device["dhcp4"] = False
        device["addresses"] = [opts["ip"]]
        if opts["gateway"]:
            device["routes"] = [{"to": default_route(opts["gateway"]), "via": opts["gateway"]}]
    else:
        device["dhcp4"] = True
    nameservers = {}
    if opts["dns"]:
        nameservers["addresses"] = list(opts["dns"])
    if opts["search_domains"]:
        nameservers["search"] = list(opts["search_domains"])
    if nameservers:
        device["nameservers"] = nameservers
    return {"version": 2, "ethernets": {device_id: device}}


def cloud_config(opts):
    """The generated cloud-config dict, with ``user_data`` (dict form) merged in."""
    user = {"name": opts["user"], "shell": "/bin/bash", "sudo": SUDO_RULE,
            "lock_passwd": opts["password_hash"] is None}
    if opts["password_hash"] is not None:
        user["passwd"] = opts["password_hash"]
    if opts["ssh_authorized_keys"]:
        user["ssh_authorized_keys"] = list(opts["ssh_authorized_keys"])
    config = {"users": [user]}
    if opts["hostname"]:
        config["hostname"] = opts["hostname"]
    if opts["fqdn"]:
        config["fqdn"] = opts["fqdn"]
    for key in ("packages", "runcmd", "write_files"):
        if opts[key]:
            config[key] = copy.deepcopy(opts[key])
    return merge(config, opts["user_data"])


def _mime_part(content_type, text):
    if classify_user_data(text) == MIME_TYPE:
        return text  # a MIME message nests as it is; cloud-init walks into it
    try:
        text.encode("ascii")
        encoding, body = "7bit", text
    except UnicodeEncodeError:
        raw = base64.b64encode(text.encode("utf-8")).decode("ascii")
        encoding, body = "base64", "\n".join(raw[i:i + 76] for i in range(0, len(raw), 76))
    return ('Content-Type: %s; charset="utf-8"\nMIME-Version: 1.0\n'
            "Content-Transfer-Encoding: %s\n\n%s" % (content_type, encoding, body))


def multipart(parts):
    """A MIME multipart/mixed message of ``[(content_type, text)]`` with a boundary derived
    from the content (no random boundary), so the same parts give the same bytes."""
    bodies = [_mime_part(content_type, text) for content_type, text in parts]
    digest = hashlib.sha256("\0".join(bodies).encode("utf-8")).hexdigest()
    boundary = "==ghost-infra-%s==" % digest[:24]
    while any(boundary in body for body in bodies):
        boundary = "=%s=" % boundary
    out = ['Content-Type: multipart/mixed; boundary="%s"\nMIME-Version: 1.0\n\n' % boundary]
    for body in bodies:
        # The line break before a boundary belongs to it, hence one more after the body.
        out.append("--%s\n%s%s\n" % (boundary, body, "" if body.endswith("\n") else "\n"))
    out.append("--%s--\n" % boundary)
    return "".join(out)


def _hash_instance_id(meta, user_data, network_text, vendor_data):
    canonical = json.dumps([meta, user_data, network_text, vendor_data], sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return "iid-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def render_documents(cloud_init, *, backend, name=None, mac_address=None):
    """Render the ``cloud_init`` option (a dict as in CLOUD_INIT_SPEC) to CloudInitDocuments.

    ``name`` is the VM name (hostname default); ``backend`` a key of BACKEND_NICS;
    ``mac_address``, when the backend knows it, makes the network match the NIC by MAC (else by
    driver) unless ``cloud_init.interface`` names it. Raises GhostError.
    """
    opts = normalize(cloud_init, name=name)
    user_data = "#cloud-config\n" + dump_yaml(cloud_config(opts))
    if opts["user_data_parts"]:
        user_data = multipart([(CLOUD_CONFIG_TYPE, user_data)] + opts["user_data_parts"])
    vendor = opts["vendor_data"]
    if isinstance(vendor, dict):
        vendor = "#cloud-config\n" + dump_yaml(vendor)
    net = network_config(opts, backend=backend, mac_address=mac_address)
    net_text = dump_yaml(net)

    meta = {}
    if opts["hostname"]:
        meta["local-hostname"] = opts["hostname"]
    meta = merge(meta, opts["meta_data"])
    if "instance-id" not in meta:
        meta["instance-id"] = opts["instance_id"] or _hash_instance_id(
            meta, user_data, net_text, vendor)
    meta["instance-id"] = str(meta["instance-id"])
    return CloudInitDocuments(meta_data_dict=meta, user_data=user_data, network_config_dict=net,
                              network_config=net_text, vendor_data=vendor)


def digest(value):
    """A short keyed digest of ``value`` (any JSON-able data) for a diff: ``hmac:<16 hex>``."""
    data = value if isinstance(value, bytes) else json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return "hmac:" + hmac.new(_DIGEST_KEY, data, hashlib.sha256).hexdigest()[:16]


def _describe(content_type, payload):
    return "%s, %d bytes, %s" % (content_type, len(payload), digest(payload))


def _shown(data, shown_keys):
    """A parsed document with only ``shown_keys`` in clear (SECRET_KEYS masked), any other
    key's value replaced by its digest."""
    if not isinstance(data, dict):
        return digest(data)
    return {key: mask_secrets(value, SECRET_KEYS) if key in shown_keys else digest(value)
            for key, value in data.items()}


def _cloud_config(text, option):
    return _shown(load_yaml(text, option=option) or {}, SHOWN_CLOUD_CONFIG_KEYS)


def _masked_user_data(text, option):
    """A user-data or vendor-data string as something safe to show: a cloud-config document
    by key (SHOWN_CLOUD_CONFIG_KEYS in clear, the rest as digests), any other part described by
    type, size and digest only."""
    if text is None:
        return None
    kind = classify_user_data(text)
    if kind == CLOUD_CONFIG_TYPE:
        try:
            return {"cloud_config": _cloud_config(text, option)}
        except GhostError:
            return {"parts": [_describe("unparsable text/cloud-config", text.encode("utf-8"))]}
    if kind != MIME_TYPE:
        return {"parts": [_describe(kind or "text/plain", text.encode("utf-8"))]}
    shown = {"parts": []}
    for part in email.message_from_string(text).walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_type() == CLOUD_CONFIG_TYPE and "cloud_config" not in shown:
            try:
                shown["cloud_config"] = _cloud_config(payload.decode("utf-8"), option)
                continue
            except (GhostError, UnicodeDecodeError):
                pass
        shown["parts"].append(_describe(part.get_content_type(), payload))
    if not shown["parts"]:
        del shown["parts"]
    return shown


def masked_documents(documents):
    """Documents as a dict fit for a diff or a result, never holding a secret.

    ``digests`` has a keyed digest of each whole document, so a diff tells which document
    changed; network-config is shown as it is (addresses are not secret); meta-data,
    user-data and vendor-data by key, see ``_shown`` (scripts only described).
    ``documents`` is a CloudInitDocuments or a mapping of NoCloud file names to text (as read
    back from an ISO or guestinfo), so both sides of a diff are shown the same way.
    """
    if isinstance(documents, CloudInitDocuments):
        texts = dict(zip(NOCLOUD_FILES, (documents.meta_data, documents.user_data,
                                         documents.network_config, documents.vendor_data)))
    else:
        texts = dict(documents)

    def parsed(name, shown_keys=None):
        text = texts.get(name)
        if text is None:
            return None
        try:
            data = load_yaml(text, option=name)
        except GhostError:
            return MASK
        return mask_secrets(data, SECRET_KEYS) if shown_keys is None else _shown(data, shown_keys)

    names = (("meta-data", "meta_data"), ("user-data", "user_data"),
             ("network-config", "network_config"), ("vendor-data", "vendor_data"))
    return {
        "meta_data": parsed("meta-data", SHOWN_META_DATA_KEYS),
        "user_data": _masked_user_data(texts.get("user-data"), "user_data"),
        "network_config": parsed("network-config"),
        "vendor_data": _masked_user_data(texts.get("vendor-data"), "vendor_data"),
        "digests": {key: digest(texts[name].encode("utf-8"))
                    for name, key in names if texts.get(name) is not None},
    }
