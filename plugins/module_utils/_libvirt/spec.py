# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wanted libvirt domain as plain data, and how it differs from what exists. Private to
ghost.infra; pure (no ansible, no libvirt import).

A domain's *fields* are the parts of its definition the module manages:

``type``, ``vcpus``, ``memory_mb``, ``firmware``, ``kernel``, ``initrd``, ``cmdline``,
``console_log``, ``disks`` (list of disk dicts), ``interfaces`` (list of NIC dicts) and
``metadata`` (the volumes the module created, the seed's hash, the last reset's token, the
expiry record of _common/lifetime.py under ``lifetime``).

xml_parse.py reads fields from XML and xml_build.py writes them; this file validates options,
derives names and MAC addresses, builds the wanted fields from options over the current ones
(an option left unset keeps what exists) and compares.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os
import re
from urllib.parse import urlsplit

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime as lifetime_rules
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

STATES = ("present", "running", "stopped", "paused", "absent")
DOMAIN_TYPES = ("auto", "kvm", "qemu")
FIRMWARES = ("bios", "uefi")
IP_SOURCES = ("auto", "lease", "agent", "arp")
WAITS = ("ip", "cloud_init")
_SOURCE_NAMES = {"lease": "libvirt's DHCP leases", "agent": "the QEMU guest agent",
                 "arp": "the host's ARP table"}
NIC_MODELS_HINT = "virtio, e1000e, rtl8139"

# Defaults applied when a domain is created; an existing domain keeps its values.
CREATE_DEFAULTS = {
    "vcpus": 1,
    "memory_mb": 1024,
    "domain_type": "auto",
    "firmware": "bios",
    "autostart": False,
}

# Letters, digits, '.', '_' and '-', starting with a letter or digit: safe in volume names,
# file names and the libvirt API, and what virsh users type.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_MODEL = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Printable ASCII, no surrounding blanks: it is kept in an XML attribute and shown in results.
_RESET_TOKEN = re.compile(r"^[\x21-\x7e]([\x20-\x7e]{0,126}[\x21-\x7e])?$")
# QEMU's OUI: libvirt and virt-install use it for generated MACs too.
MAC_PREFIX = "52:54:00"

DEFAULT_POOL = "default"
OVERLAY_TARGET = "vda"
SEED_TARGET = "sda"
GIB = 1024 ** 3

# The fields compared for idempotence, in the order a change is reported.
FIELDS = ("type", "vcpus", "memory_mb", "firmware", "kernel", "initrd", "cmdline",
          "console_log", "disks", "interfaces", "metadata")


def check_name(name):
    """A domain name the module accepts (it also names the domain's volumes)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise GhostError(
            "%r is not a valid domain name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit" % (name,), option="name")
    return name


def address_sources(ip_source):
    """The address sources to ask, in order, for the ``ip_source`` option."""
    if ip_source in (None, "auto"):
        return ("lease", "agent", "arp")
    return (ip_source,)


def describe_sources(sources):
    names = [_SOURCE_NAMES[source] for source in sources]
    return names[0] if len(names) == 1 else "%s or %s" % (", ".join(names[:-1]), names[-1])


def stable_mac(name, index):
    """The MAC address of NIC ``index`` of domain ``name`` when none is given: QEMU's prefix
    and three bytes of SHA-256 of ``name/index``, so re-runs and rebuilds never churn."""
    digest = hashlib.sha256(("%s/%d" % (name, index)).encode("utf-8")).digest()
    return "%s:%02x:%02x:%02x" % (MAC_PREFIX, digest[0], digest[1], digest[2])


def normalize_mac(value, option):
    mac = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(mac):
        raise GhostError("%r is not a MAC address like 52:54:00:12:34:56" % (value,), option=option)
    if int(mac[:2], 16) & 1:
        raise GhostError("%s is a multicast address; a NIC needs a unicast MAC" % mac, option=option)
    return mac


def overlay_volume_name(name):
    return "%s.qcow2" % name


def seed_volume_name(name, sha256):
    """The NoCloud seed's volume: named after its content, so a new seed is a new volume that
    replaces the old one in one define (the old one is deleted afterwards)."""
    return "%s-cidata-%s.iso" % (name, sha256[:12])


def recorded_pool(current):
    """The pool holding the volumes the module made for an existing domain, or None."""
    for volume in (current or {}).get("metadata", {}).get("volumes", []):
        if volume.get("pool"):
            return volume["pool"]
    return None


def parse_base_image(base_image, pool):
    """Where the base image is: ``{"path": ...}`` for an absolute path on the hypervisor, or
    ``{"pool": ..., "volume": ...}`` for ``pool/volume`` (or a bare volume name in ``pool``)."""
    text = (base_image or "").strip()
    if not text:
        raise GhostError("must be a path on the hypervisor or pool/volume", option="base_image")
    if text.startswith("/"):
        return {"path": text}
    if "/" in text:
        pool_name, volume = text.split("/", 1)
        if not pool_name or not volume or "/" in volume:
            raise GhostError("%r is neither an absolute path nor pool/volume" % text,
                             option="base_image")
        return {"pool": pool_name, "volume": volume}
    return {"pool": pool, "volume": text}


def _positive(params, key, minimum=1, unit=""):
    value = params.get(key)
    if value is not None and value < minimum:
        raise GhostError("must be at least %d%s, got %d" % (minimum, unit, value), option=key)


def check_local_files(params):
    """On a hypervisor on this machine (a URI with no host), the kernel and initrd must be files
    here: QEMU would find out only when the domain starts, naming no option."""
    uri = params.get("uri") or ""
    if params.get("state") == "absent" or urlsplit(uri).netloc:
        return
    for key in ("kernel", "initrd"):
        path = params.get(key)
        if not path:
            continue
        if not os.path.exists(path):
            raise GhostError("%s does not exist on the hypervisor" % path, option=key)
        if not os.path.isfile(path):
            raise GhostError("%s is not a regular file" % path, option=key)


def validate(params):
    """Check the options that need no hypervisor; returns the normalized interfaces (or None).

    Raises GhostError naming the option at fault.
    """
    check_name(params["name"])
    _positive(params, "vcpus")
    _positive(params, "memory_mb", unit=" (MiB)")
    _positive(params, "disk_gb", unit=" (GiB)")
    for key in ("wait_timeout", "shutdown_timeout"):
        _positive(params, key, minimum=0, unit=" seconds")
    if params.get("pool") is not None and not _SOURCE.match(params["pool"]):
        raise GhostError("%r is not a valid storage pool name" % (params["pool"],), option="pool")
    for key in ("initrd", "cmdline"):
        if params.get(key) and params.get("kernel") == "":
            raise GhostError("needs a kernel; kernel is set to '' (no direct kernel boot)",
                             option=key)
    for key in ("kernel", "initrd", "console_log"):
        value = params.get(key)
        if value and not value.startswith("/"):
            raise GhostError("%r must be an absolute path on the hypervisor" % value, option=key)
    if params.get("wait_for_ip") and params.get("state") != "running":
        raise GhostError("needs state=running", option="wait_for_ip")
    if params.get("wait_for") and params.get("state") != "running":
        raise GhostError("needs state=running", option="wait_for")
    token = params.get("reset_token")
    if token is not None and not _RESET_TOKEN.match(token):
        raise GhostError("%r is not a reset token: use 1 to 128 printable ASCII characters, not "
                         "starting or ending with a blank" % (token,), option="reset_token")
    return normalize_interfaces(params["name"], params.get("interfaces"))


def normalize_interfaces(name, interfaces):
    """Interfaces as full dicts ``{type, source, mac, model}`` with derived MACs, or None."""
    if interfaces is None:
        return None
    out, seen = [], set()
    for index, nic in enumerate(interfaces):
        option = "interfaces[%d]" % index
        network, bridge = nic.get("network"), nic.get("bridge")
        if bool(network) == bool(bridge):
            raise GhostError("set exactly one of network or bridge", option=option)
        source = network or bridge
        if not _SOURCE.match(source):
            raise GhostError("%r is not a valid %s name" % (source, "network" if network else "bridge"),
                             option=option + (".network" if network else ".bridge"))
        model = nic.get("model") or "virtio"
        if not _MODEL.match(model):
            raise GhostError("%r is not a NIC model (for example %s)" % (model, NIC_MODELS_HINT),
                             option=option + ".model")
        mac = normalize_mac(nic["mac"], option + ".mac") if nic.get("mac") else stable_mac(name, index)
        if mac in seen:
            raise GhostError("MAC %s is used twice" % mac, option=option + ".mac")
        seen.add(mac)
        out.append({"type": "network" if network else "bridge", "source": source, "mac": mac,
                    "model": model})
    return out


def overlay_disk(path, backing, backing_format=None):
    return {"device": "disk", "type": "file", "path": path, "format": "qcow2", "bus": "virtio",
            "target": OVERLAY_TARGET, "backing": backing, "backing_format": backing_format,
            "readonly": False}


def seed_disk(path):
    return {"device": "cdrom", "type": "file", "path": path, "format": "raw", "bus": "scsi",
            "target": SEED_TARGET, "backing": None, "backing_format": None, "readonly": True}


def empty_metadata():
    return {"base": None, "volumes": [], "reset": None, "lifetime": {}}


def wanted_lifetime(current, params, now):
    """The expiry record the domain should carry (``{}``: none) for the ``ttl``, ``expires_at``
    and ``max_ttl`` options; GhostError naming the option on bad input."""
    stored = ((current or {}).get("metadata") or {}).get("lifetime")
    return lifetime_rules.wanted(stored, ttl=params.get("ttl"), expires=params.get("expires_at"),
                                 max_ttl=params.get("max_ttl"), now=now)


def lifetime_action(record):
    """The action that writes a new expiry record, as the result lists it."""
    if record.get("ttl"):
        return "set expiry (ttl %s, expires %s)" % (record["ttl"], record["expires_at"])
    return "set expiry (expires %s)" % record.get("expires_at")


def reset_record(current, token):
    """``(reset, record)`` for the ``reset_token`` option: whether to reset the domain to its
    golden state now, and the ``{"token", "count"}`` its metadata will carry (None: keep).

    A new domain is golden already: it records the token without a reset. An existing domain is
    reset when the token differs from the recorded one (none recorded counts as different), so
    a re-run of the same task does nothing and a new token asks for the next reset.
    """
    if token is None:
        return False, None
    if current is None:
        return False, {"token": token, "count": 0}
    recorded = (current.get("metadata") or {}).get("reset") or {}
    if recorded.get("token") == token:
        return False, None
    return True, {"token": token, "count": recorded.get("count", 0) + 1}


def wanted_state(option, current, *, exists):
    """The power state a run ends in: the ``state`` option, where ``present`` keeps the current
    state (a new domain stays off)."""
    if option != "present":
        return option
    return current if exists else "stopped"


def _optional(value):
    """Options where '' means "remove it": kernel, initrd, cmdline, console_log."""
    return value or None


def desired_fields(current, params, *, domain_type, interfaces, overlay=None, seed=None, reset=None,
                   lifetime=None):
    """The wanted fields: ``current`` (None when creating) overridden by the options set.

    ``domain_type`` is resolved (kvm/qemu) or None to keep the current one; ``interfaces`` is
    the normalized list or None; ``overlay`` (the main disk) and ``seed`` (the NoCloud CD-ROM)
    are ``{"disk": disk dict, "volume": metadata record or None}``, or None to keep what
    exists.
    ``metadata`` volumes are merged: what the module created before stays recorded; ``reset``
    (see reset_record) replaces the recorded reset token; ``lifetime`` (wanted_lifetime) the
    expiry record (None: keep it).
    """
    creating = current is None
    base = current or {
        "type": None, "vcpus": CREATE_DEFAULTS["vcpus"],
        "memory_mb": CREATE_DEFAULTS["memory_mb"], "firmware": CREATE_DEFAULTS["firmware"],
        "kernel": None, "initrd": None, "cmdline": None, "console_log": None,
        "disks": [], "interfaces": [], "metadata": empty_metadata(),
    }
    want = {
        "type": domain_type or base["type"],
        "vcpus": params.get("vcpus") or base["vcpus"],
        "memory_mb": params.get("memory_mb") or base["memory_mb"],
        "firmware": params.get("firmware") or base["firmware"],
    }
    for key in ("kernel", "initrd", "cmdline", "console_log"):
        value = params.get(key)
        want[key] = base[key] if value is None else _optional(value)
    if want["kernel"] is None and (want["initrd"] or want["cmdline"]):
        raise GhostError("needs a kernel (direct kernel boot)",
                         option="initrd" if want["initrd"] else "cmdline")

    current_seed = [d for d in base["disks"] if d["device"] == "cdrom" and d["bus"] == "scsi"
                    and d["target"] == SEED_TARGET]
    others = [d for d in base["disks"] if d not in current_seed]
    disks = []
    if overlay is not None:
        disks.append(overlay["disk"])
        disks.extend(d for d in others if d["target"] != overlay["disk"]["target"])
    else:
        disks.extend(others)
    if seed is not None:
        disks.append(seed["disk"])
    else:
        disks.extend(current_seed)
    want["disks"] = disks
    want["interfaces"] = base["interfaces"] if interfaces is None else interfaces

    metadata = {"base": base["metadata"].get("base"),
                "volumes": [dict(v) for v in base["metadata"].get("volumes", [])],
                "reset": dict(reset or base["metadata"].get("reset") or {}) or None,
                "lifetime": dict(base["metadata"].get("lifetime") or {} if lifetime is None else lifetime)}
    if overlay is not None and overlay["disk"].get("backing"):
        metadata["base"] = overlay["disk"]["backing"]
    for volume in [v for v in ((overlay or {}).get("volume"), (seed or {}).get("volume")) if v]:
        metadata["volumes"] = [v for v in metadata["volumes"] if v["role"] != volume["role"]]
        metadata["volumes"].append(volume)
    metadata["volumes"].sort(key=lambda v: v["role"])
    want["metadata"] = metadata
    if creating and want["type"] is None:
        raise GhostError("cannot create a domain without a domain type", option="domain_type")
    return want


def disk_key(disk, *, with_backing=True):
    """What identifies a disk dict when comparing (xml_build.py keeps equal elements)."""
    keys = ("device", "type", "path", "format", "bus", "target", "readonly")
    if with_backing:
        keys += ("backing",)
    return tuple(disk.get(k) for k in keys)


def nic_key(nic):
    """What identifies a NIC dict when comparing."""
    return tuple(nic.get(k) for k in ("type", "source", "mac", "model"))


def comparable(fields, *, for_restart=False):
    """The projection of ``fields`` that decides idempotence.

    ``for_restart`` compares a running domain's live definition with its persistent one:
    backing chains (libvirt only shows detected chains live) and the module's bookkeeping are
    left out, except the seed's hash (a new seed takes effect at the next boot). The expiry
    record is never part of it: it changes by a metadata update, not a define (see runner.py).
    """
    out = {}
    for key in FIELDS:
        value = fields.get(key)
        if key == "disks":
            value = [disk_key(d, with_backing=not for_restart) for d in value or []]
        elif key == "interfaces":
            value = [nic_key(n) for n in value or []]
        elif key == "metadata":
            value = value or empty_metadata()
            if for_restart:
                value = [v.get("sha256") for v in value.get("volumes", []) if v.get("role") == "seed"]
            else:
                value = (value.get("base"), [tuple(sorted(v.items())) for v in value.get("volumes", [])],
                         tuple(sorted((value.get("reset") or {}).items())))
        out[key] = value
    return out


def changed_fields(current, desired, *, for_restart=False):
    """Names of the fields that differ (all of them when ``current`` is None)."""
    if current is None:
        return list(FIELDS)
    before = comparable(current, for_restart=for_restart)
    after = comparable(desired, for_restart=for_restart)
    return [key for key in FIELDS if before[key] != after[key]]


def resolve_domain_type(requested, *, host_has_kvm):
    """kvm or qemu for a requested kvm/qemu/auto; GhostError when kvm is not offered."""
    if requested == "auto":
        return "kvm" if host_has_kvm else "qemu"
    if requested == "kvm" and not host_has_kvm:
        raise GhostError("kvm is not offered by this hypervisor (no /dev/kvm or no KVM "
                         "support in QEMU); use domain_type qemu or auto", option="domain_type")
    return requested


def state_name(code):
    """The module's name for a libvirt virDomainState number."""
    return {
        0: "unknown", 1: "running", 2: "running", 3: "paused", 4: "running", 5: "stopped",
        6: "crashed", 7: "pmsuspended",
    }.get(code, "unknown")


def capacity_plan(*, disk_gb, current_bytes, base_bytes):
    """Bytes the overlay must grow to, or None. Raises GhostError when asked to shrink."""
    if disk_gb is None:
        return None
    wanted = disk_gb * GIB
    have = current_bytes if current_bytes is not None else base_bytes
    if have is not None and wanted < have:
        raise GhostError(
            "cannot shrink the disk to %d GiB: it is %s GiB (disks only grow)"
            % (disk_gb, _gib(have)), option="disk_gb")
    if current_bytes is not None and wanted == current_bytes:
        return None
    return wanted


def _gib(value):
    text = "%.2f" % (value / float(GIB))
    return text.rstrip("0").rstrip(".")


def domain_view(fields, *, name, uuid=None, state=None, autostart=None, restart_required=False,
                addresses=None, now=None):
    """The ``domain`` the modules return, from fields (parsed or wanted); ``expired`` as of
    ``now`` (an aware datetime; None: the current time)."""
    addresses = addresses or {}
    record = (fields.get("metadata") or {}).get("lifetime") or {}
    expiry = lifetime_rules.status(record, now or datetime.datetime.now(datetime.timezone.utc))
    disks = [{"path": d["path"], "format": d["format"], "backing": d.get("backing"),
              "device": d["device"], "target": d["target"], "bus": d["bus"]}
             for d in fields.get("disks", [])]
    nics = []
    for nic in fields.get("interfaces", []):
        nics.append({"mac": nic["mac"], "type": nic["type"],
                     "network": nic["source"] if nic["type"] == "network" else None,
                     "bridge": nic["source"] if nic["type"] == "bridge" else None,
                     "model": nic["model"], "addresses": list(addresses.get(nic["mac"], []))})
    seed = [v for v in fields.get("metadata", {}).get("volumes", []) if v.get("role") == "seed"]
    return {
        "name": name,
        "uuid": uuid,
        "state": state,
        "domain_type": fields.get("type"),
        "vcpus": fields.get("vcpus"),
        "memory_mb": fields.get("memory_mb"),
        "firmware": fields.get("firmware"),
        "autostart": autostart,
        "kernel": fields.get("kernel"),
        "console_log": fields.get("console_log"),
        "disks": disks,
        "interfaces": nics,
        "cloud_init_instance_id": seed[0].get("instance_id") if seed else None,
        "restart_required": bool(restart_required),
        "expires_at": expiry["expires_at"],
        "expired": expiry["expired"],
        "ttl": record.get("ttl"),
    }


def reset_view(fields, *, performed):
    """The ``reset`` result: the token recorded in ``fields`` (as defined, or as wanted in
    check mode), how many resets it counts and whether this run reset the domain."""
    record = (fields.get("metadata") or {}).get("reset") or {}
    return {"token": record.get("token"), "count": record.get("count", 0), "performed": bool(performed)}


def absent_view(name, current=None):
    """The ``domain`` returned after state=absent: its name, the uuid it had (``current`` are
    its fields; None when there was no such domain) and the state."""
    if current is None:
        return {"name": name, "state": "absent"}
    return {"name": name, "uuid": current["uuid"], "state": "absent"}


# What to do to get from a current state (state_name()) to a wanted one. "present" keeps any
# state. A paused guest cannot handle ACPI, so it is resumed before a shutdown.
_TRANSITIONS = {
    "running": {"running": [], "paused": ["suspend"], "stopped": ["shutdown"]},
    "paused": {"running": ["resume"], "paused": [], "stopped": ["resume", "shutdown"]},
    "stopped": {"running": ["start"], "paused": ["start_paused"], "stopped": []},
    "crashed": {"running": ["destroy", "start"], "paused": ["destroy", "start_paused"],
                "stopped": ["destroy"]},
    "pmsuspended": {"running": ["wakeup"], "paused": ["wakeup", "suspend"],
                    "stopped": ["wakeup", "shutdown"]},
}


def state_actions(current, wanted):
    """The actions (start, start_paused, resume, suspend, shutdown, destroy, wakeup) that take
    a domain from ``current`` to ``wanted``; GhostError for a state libvirt cannot name."""
    if wanted in ("present", current):
        return []
    if current not in _TRANSITIONS:
        raise GhostError("the domain is in state %r; cannot make it %s" % (current, wanted),
                         option="state")
    return list(_TRANSITIONS[current][wanted])
