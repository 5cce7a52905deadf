# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate and normalize the ``cloud_init`` option. Private to ghost.infra; pure (no ansible import).

normalize() checks the dict against CLOUD_INIT_OPTIONS by itself (types, unknown suboptions),
so the filters and tests get the same answers as a module whose AnsibleModule already did it.
Every error is a GhostError whose ``option`` names the suboption (``cloud_init.ip``). Values
that may be secret (a private key pasted by mistake, a password hash) are never echoed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import ipaddress
import re
import struct

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import load_yaml
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import (
    CLOUD_INIT_OPTIONS,
    NETWORK_SHORTHAND,
)
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.secrets import looks_private

PREFIX = "cloud_init"

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Linux interface names: at most 15 bytes, no whitespace, '/' or ':'.
_IFNAME = re.compile(r"^[^\s/:]{1,15}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# crypt(3) hashes in modular format: $id$[params$]salt$hash (sha512crypt, yescrypt, bcrypt, ...).
_CRYPT_HASH = re.compile(r"^\$[0-9a-z]{1,8}\$[^\s:$]*(\$[^\s:$]*)*\$[^\s:$]+$")

SSH_KEY_TYPES = frozenset([
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
])

# cloud-init's user-data formats, keyed by the start of the text (cloudinit/handlers), matched
# longest first and case-insensitively after leading whitespace, as cloud-init does.
USER_DATA_FORMATS = {
    "#include": "text/x-include-url",
    "#include-once": "text/x-include-once-url",
    "#!": "text/x-shellscript",
    "#cloud-config": "text/cloud-config",
    "#part-handler": "text/part-handler",
    "#cloud-boothook": "text/cloud-boothook",
    "#cloud-config-archive": "text/cloud-config-archive",
    "#cloud-config-jsonp": "text/cloud-config-jsonp",
    "## template: jinja": "text/jinja2",
}
_FORMAT_PREFIXES = sorted(USER_DATA_FORMATS, key=len, reverse=True)
MIME_TYPE = "multipart/mixed"
CLOUD_CONFIG_TYPE = "text/cloud-config"

NETPLAN_SECTIONS = frozenset([
    "ethernets", "bonds", "bridges", "vlans", "wifis", "tunnels", "vrfs", "modems",
    "dummy-devices", "virtual-ethernets", "nm-devices",
])
_NETPLAN_TOP = NETPLAN_SECTIONS | {"version", "renderer"}

_WRITE_FILES_KEYS = frozenset([
    "path", "content", "source", "owner", "permissions", "encoding", "append", "defer",
])


def _opt(name):
    return "%s.%s" % (PREFIX, name)


def _plain(value, option):
    """Deep copy into plain Python types (str/dict/list subclasses such as Ansible's tagged
    values become str/dict/list) so YAML and JSON serialize them the same everywhere."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise GhostError("keys must be strings, got %s" % type(key).__name__, option=option)
            out[str(key)] = _plain(item, option)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, option) for item in value]
    raise GhostError("unsupported value of type %s" % type(value).__name__, option=option)


def _check_type(name, value):
    """Apply the argspec type of suboption ``name`` (the subset of Ansible's rules we need)."""
    spec = CLOUD_INIT_OPTIONS[name]
    option = _opt(name)
    kind = spec["type"]
    if kind == "str":
        return _as_str(value, option)
    if kind == "dict":
        if not isinstance(value, dict):
            raise GhostError("must be a dict, got %s" % type(value).__name__, option=option)
        return _plain(value, option)
    if kind == "list":
        if isinstance(value, str):
            value = value.split(",")  # Ansible's rule for a string given to a list option
        elif not isinstance(value, (list, tuple)):
            raise GhostError("must be a list, got %s" % type(value).__name__, option=option)
        if spec.get("elements") == "str":
            return [_as_str(item, "%s[%d]" % (option, index)) for index, item in enumerate(value)]
        if spec.get("elements") == "dict":
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    raise GhostError("must be a dict, got %s" % type(item).__name__,
                                     option="%s[%d]" % (option, index))
        return _plain(value, option)
    return _plain(value, option)  # raw


def _as_str(value, option):
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise GhostError("must be a string, got %s" % type(value).__name__, option=option)


def check_hostname_label(value, option):
    """An RFC 1123 host name label: 1-63 letters, digits and hyphens, no hyphen at either end."""
    if not _LABEL.match(value):
        raise GhostError(
            "%r is not a valid RFC 1123 host name (1-63 letters, digits or hyphens, not starting "
            "or ending with a hyphen; use fqdn for a dotted name)" % value, option=option)
    return value


def check_domain(value, option, *, fqdn=False):
    """A DNS name of RFC 1123 labels; ``fqdn`` also asks for two labels and a non-numeric TLD."""
    labels = value.split(".")
    if (len(value) > 253 or not all(_LABEL.match(label) for label in labels)
            or (fqdn and (len(labels) < 2 or labels[-1].isdigit()))):
        what = "fully qualified domain name such as web1.example.com" if fqdn else "domain name"
        raise GhostError("%r is not a valid RFC 1123 %s" % (value, what), option=option)
    return value


def check_ssh_public_key(key, option):
    """An OpenSSH authorized_keys line: [options] type base64 [comment]. Never echoes ``key``."""
    if looks_private(key):
        raise GhostError(
            "this is a private key, not a public one: give the public key (the .pub file, e.g. "
            "'ssh-ed25519 AAAA... user@host') and treat the private key as exposed if it was "
            "shared; the value is not shown", option=option)
    text = key.strip()
    if "\n" in text or "\r" in text:
        raise GhostError("an SSH public key is a single line; the value is not shown",
                         option=option)
    fields = text.split()
    for index, field in enumerate(fields[:-1]):
        if field in SSH_KEY_TYPES:
            blob = fields[index + 1]
            try:
                raw = base64.b64decode(blob, validate=True)
                (length,) = struct.unpack(">I", raw[:4])
                embedded = raw[4:4 + length].decode("ascii")
            except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
                embedded = None
            if embedded != field:
                raise GhostError(
                    "the %s key data is not valid base64 of a %s key; the value is not shown"
                    % (field, field), option=option)
            return text
    raise GhostError(
        "is not an SSH public key in OpenSSH format ('<type> <base64> [comment]' with a type "
        "such as ssh-ed25519 or ssh-rsa; convert other formats with 'ssh-keygen -i'); the value "
        "is not shown", option=option)


def classify_user_data(text):
    """The MIME type cloud-init would give ``text``, or None when it recognises no format."""
    if "mime-version:" in text[:4096].lower():
        return MIME_TYPE
    start = text.lstrip().lower()
    for prefix in _FORMAT_PREFIXES:
        if start.startswith(prefix):
            return USER_DATA_FORMATS[prefix]
    return None


def _recognised(text, option):
    kind = classify_user_data(text)
    if kind is None:
        raise GhostError(
            "a string must be a #cloud-config document or another format cloud-init recognises "
            "(a script starting with #!, #include, #cloud-boothook, #part-handler, "
            "#cloud-config-archive, '## template: jinja' or a MIME multipart message); its first "
            "line is none of these (the value is not shown)", option=option)
    return kind


def parse_cloud_config(text, option):
    """A ``#cloud-config`` string as a dict (empty document -> {})."""
    data = load_yaml(text, option=option)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GhostError("the #cloud-config document must be a mapping, got %s"
                         % type(data).__name__, option=option)
    return _plain(data, option)


def _user_data(value):
    """user_data as (cloud-config dict to merge, extra MIME parts [(type, text)])."""
    option = _opt("user_data")
    if value is None or value == "":
        return {}, []
    if isinstance(value, dict):
        return value, []
    if not isinstance(value, str):
        raise GhostError("must be a dict or a string, got %s" % type(value).__name__,
                         option=option)
    kind = _recognised(value, option)
    if kind == CLOUD_CONFIG_TYPE:
        return parse_cloud_config(value, option), []
    return {}, [(kind, value)]


def _vendor_data(value):
    option = _opt("vendor_data")
    if value is None or value == "" or isinstance(value, dict):
        return value or None
    if not isinstance(value, str):
        raise GhostError("must be a dict or a string, got %s" % type(value).__name__,
                         option=option)
    if _recognised(value, option) == CLOUD_CONFIG_TYPE:
        parse_cloud_config(value, option)
    return value


def _network(opts):
    """Validate the network shorthand in place (normalized text forms)."""
    ip_text, gateway = opts["ip"], opts["gateway"]
    if opts["network_config"] is not None:
        given = [name for name in NETWORK_SHORTHAND if opts[name] not in (None, [])]
        if given:
            raise GhostError(
                "replaces the network shorthand, so it cannot be combined with %s"
                % ", ".join(_opt(name) for name in given), option=_opt("network_config"))
        opts["network_config"] = check_netplan(opts["network_config"], _opt("network_config"))
    if ip_text is not None:
        option = _opt("ip")
        if "/" not in ip_text:
            raise GhostError("%r needs a prefix length in CIDR notation, e.g. 192.0.2.10/24"
                             % ip_text, option=option)
        try:
            iface = ipaddress.ip_interface(ip_text)
        except ValueError:
            raise GhostError("%r is not an IP address in CIDR notation, e.g. 192.0.2.10/24"
                             % ip_text, option=option)
        net = iface.network
        if iface.version == 4 and net.prefixlen < 31 and iface.ip in (
                net.network_address, net.broadcast_address):
            raise GhostError("%s is the network or broadcast address of %s, not a host address"
                             % (iface.ip, net), option=option)
        opts["ip"] = str(iface)
        if gateway is not None:
            gw = _ip_address(gateway, _opt("gateway"))
            if gw.version != iface.version:
                raise GhostError("%s is IPv%d but cloud_init.ip is IPv%d"
                                 % (gw, gw.version, iface.version), option=_opt("gateway"))
            if gw == iface.ip:
                raise GhostError("%s is the address of the VM itself" % gw, option=_opt("gateway"))
            if gw not in net and not (gw.version == 6 and gw.is_link_local):
                raise GhostError("%s is outside the subnet %s of cloud_init.ip" % (gw, net),
                                 option=_opt("gateway"))
            opts["gateway"] = str(gw)
    elif gateway is not None:
        raise GhostError("needs cloud_init.ip: without an address the VM uses DHCP, which "
                         "supplies the gateway", option=_opt("gateway"))
    if opts["dns"] is not None:
        opts["dns"] = [str(_ip_address(server, "%s[%d]" % (_opt("dns"), index)))
                       for index, server in enumerate(opts["dns"])]
    if opts["search_domains"] is not None:
        opts["search_domains"] = [
            check_domain(domain.rstrip("."), "%s[%d]" % (_opt("search_domains"), index))
            for index, domain in enumerate(opts["search_domains"])]
    if opts["interface"] is not None and not _IFNAME.match(opts["interface"]):
        raise GhostError("%r is not a Linux interface name (1-15 characters, no whitespace, "
                         "'/' or ':')" % opts["interface"], option=_opt("interface"))


def _ip_address(value, option):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise GhostError("%r is not an IP address" % value, option=option)


def check_netplan(config, option):
    """A netplan v2 document (optionally wrapped in ``network:``), returned unwrapped."""
    if set(config) == {"network"} and isinstance(config["network"], dict):
        config = config["network"]
    version = config.get("version")
    if version != 2 or isinstance(version, bool):
        raise GhostError(
            "is not a netplan v2 document: it needs 'version: 2' (got %r); cloud-init's "
            "version 1 format is not accepted" % (version,), option=option)
    unknown = sorted(set(config) - _NETPLAN_TOP)
    if unknown:
        raise GhostError("is not a netplan v2 document: unknown top-level key(s) %s (netplan "
                         "knows version, renderer, %s)"
                         % (", ".join(unknown), ", ".join(sorted(NETPLAN_SECTIONS))), option=option)
    sections = [key for key in config if key in NETPLAN_SECTIONS]
    if not sections:
        raise GhostError("is not a netplan v2 document: it defines no devices (e.g. ethernets)",
                         option=option)
    for section in sections:
        devices = config[section]
        if not isinstance(devices, dict) or not all(
                isinstance(dev, dict) for dev in devices.values()):
            raise GhostError("is not a netplan v2 document: %s must map device ids to "
                             "settings" % section, option="%s.%s" % (option, section))
    return config


def _write_files(items):
    for index, item in enumerate(items):
        option = "%s[%d]" % (_opt("write_files"), index)
        unknown = sorted(set(item) - _WRITE_FILES_KEYS)
        if unknown:
            raise GhostError("unknown key(s) %s (cloud-init's write_files knows %s)"
                             % (", ".join(unknown), ", ".join(sorted(_WRITE_FILES_KEYS))),
                             option=option)
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise GhostError("needs 'path', an absolute path", option=option)
    return items


def _packages(items):
    for index, item in enumerate(items):
        if isinstance(item, str):
            continue
        if (isinstance(item, list) and 1 <= len(item) <= 2
                and all(isinstance(part, str) for part in item)):
            continue
        raise GhostError("must be a package name or a [name, version] pair",
                         option="%s[%d]" % (_opt("packages"), index))
    return items


def _runcmd(items):
    out = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list) and item and all(
                isinstance(arg, (str, int, float)) and not isinstance(arg, bool) for arg in item):
            out.append([str(arg) for arg in item])
        else:
            raise GhostError("must be a shell command string or an argument list",
                             option="%s[%d]" % (_opt("runcmd"), index))
    return out


def _meta_data(value):
    for key in ("network", "network.encoding"):
        if key in value:
            raise GhostError("must not set %r; give the network in cloud_init.network_config"
                             % key, option=_opt("meta_data"))
    return value


def _hostname(opts, name):
    """Resolve hostname and fqdn: explicit, else from fqdn, else from the VM name."""
    hostname, fqdn = opts["hostname"], opts["fqdn"]
    if fqdn is not None:
        fqdn = check_domain(fqdn, _opt("fqdn"), fqdn=True)
    if hostname is not None:
        check_hostname_label(hostname, _opt("hostname"))
    elif fqdn is not None:
        hostname = fqdn.split(".")[0]
    elif name:
        name = str(name)
        if _LABEL.match(name):
            hostname = name
        elif "." in name and all(_LABEL.match(label) for label in name.split(".")):
            hostname, fqdn = name.split(".")[0], check_domain(name, _opt("fqdn"), fqdn=True)
        else:
            raise GhostError(
                "is not set and the VM name %r is not a valid RFC 1123 host name; set "
                "cloud_init.hostname" % name, option=_opt("hostname"))
    opts["hostname"], opts["fqdn"] = hostname, fqdn


def normalize(cloud_init, *, name=None):
    """Validated ``cloud_init`` with defaults applied, as a new plain dict.

    Keys are those of CLOUD_INIT_OPTIONS; in addition ``hostname``/``fqdn`` are resolved (the
    hostname defaults to the first label of ``fqdn``, else to ``name``, the VM name),
    ``user_data`` becomes a dict to merge into the generated cloud-config and ``user_data_parts``
    holds other formats as ``[(mime_type, text)]``. Raises GhostError naming the suboption.
    """
    if cloud_init is None:
        cloud_init = {}
    if not isinstance(cloud_init, dict):
        raise GhostError("must be a dict, got %s" % type(cloud_init).__name__, option=PREFIX)
    unknown = sorted(set(cloud_init) - set(CLOUD_INIT_OPTIONS))
    if unknown:
        raise GhostError("unsupported suboption(s) %s; supported: %s"
                         % (", ".join(_opt(key) for key in unknown),
                            ", ".join(sorted(CLOUD_INIT_OPTIONS))),
                         option=_opt(unknown[0]))
    opts = {}
    for key, spec in CLOUD_INIT_OPTIONS.items():
        value = cloud_init.get(key)
        opts[key] = spec.get("default") if value is None else _check_type(key, value)

    _hostname(opts, name)
    if opts["instance_id"] is not None and not opts["instance_id"].strip():
        raise GhostError("must not be empty", option=_opt("instance_id"))
    if not _USERNAME.match(opts["user"] or ""):
        raise GhostError("%r is not a valid Linux user name (lower case letters, digits, '_' "
                         "or '-', starting with a letter or '_', at most 32)" % opts["user"],
                         option=_opt("user"))
    opts["ssh_authorized_keys"] = [
        check_ssh_public_key(key, "%s[%d]" % (_opt("ssh_authorized_keys"), index))
        for index, key in enumerate(opts["ssh_authorized_keys"] or [])]
    if opts["password_hash"] is not None and not _CRYPT_HASH.match(opts["password_hash"]):
        raise GhostError(
            "must be a crypt(3) hash such as '$6$...' (mkpasswd -m sha-512, or the "
            "password_hash filter), not a plain password; the value is not shown",
            option=_opt("password_hash"))
    _network(opts)
    opts["packages"] = _packages(opts["packages"] or [])
    opts["runcmd"] = _runcmd(opts["runcmd"] or [])
    opts["write_files"] = _write_files(opts["write_files"] or [])
    opts["meta_data"] = _meta_data(opts["meta_data"] or {})
    opts["user_data"], opts["user_data_parts"] = _user_data(opts["user_data"])
    opts["vendor_data"] = _vendor_data(opts["vendor_data"])
    return opts


def check_mac_address(value):
    """A MAC address given by a backend, lower-cased (``aa:bb:cc:dd:ee:ff``)."""
    mac = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(mac):
        raise GhostError("%r is not a MAC address like 52:54:00:12:34:56" % value,
                         option="mac_address")
    return mac


def split_name(data, name=None):
    """For the filters: ``data`` is the cloud_init dict, optionally with the VM ``name`` as an
    extra key; returns (cloud_init without it, name). A ``name`` argument wins."""
    if not isinstance(data, dict):
        raise GhostError("the input must be a dict, got %s" % type(data).__name__, option=PREFIX)
    data = dict(data)
    in_data = data.pop("name", None)
    return data, name if name is not None else in_data
