# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether the hypervisor can hold what a libvirt_domain run asks for. Private to ghost.infra;
pure (no ansible, no libvirt import).

The runner works out what the run is about to take (memory it starts, vCPUs it defines or
starts, disk it creates or grows), reads the host's numbers only for those, and asks
check_resources(). Memory is always refused when the host does not have it: QEMU allocates a
guest's memory as the guest touches it, so a guest larger than what is free ends with the
kernel's OOM killer picking a process, not with a clean error. vCPUs above the host's CPUs and
a disk whose virtual size exceeds the pool's free space are overcommitment that works until
the guests use it all: a warning, an error with ``strict``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MIB = 1024 ** 2
GIB = 1024 ** 3


def _mib(value):
    return "%d MiB" % (value // MIB)


def _gib(value):
    text = "%.2f" % (value / float(GIB))
    return text.rstrip("0").rstrip(".") + " GiB"


def memory_available(host):
    """Bytes a new guest can take: free memory plus the page cache the kernel gives back."""
    return host["memory_free"] + (host.get("memory_cache") or 0)


def check_resources(need, host, *, strict=False):
    """``(errors, warnings)``: two lists of messages with the numbers.

    ``need``: ``memory`` (bytes the run starts, or None), ``vcpus`` (vCPUs it defines or
    starts, or None), ``disk`` (bytes of virtual size it creates or grows, or None) and
    ``pool`` (the pool's name). ``host``: ``uri``, ``cpus``, ``memory_free``,
    ``memory_cache`` (buffers and page cache), ``memory_total`` and ``pool_available``
    (bytes); keys the run did not need may be missing.
    """
    errors, warnings = [], []
    if need.get("memory"):
        available = memory_available(host)
        if need["memory"] > available:
            errors.append(
                "not enough memory on %s: %s requested, %s available (%s free + %s page cache, "
                "of %s); lower memory_mb or free memory on the host"
                % (host["uri"], _mib(need["memory"]), _mib(available), _mib(host["memory_free"]),
                   _mib(host.get("memory_cache") or 0), _mib(host.get("memory_total") or 0)))
    overcommitted = []
    if need.get("vcpus") and host.get("cpus") and need["vcpus"] > host["cpus"]:
        overcommitted.append(
            "%d vCPUs requested, the host %s has %d CPUs, which the vCPUs would share"
            % (need["vcpus"], host["uri"], host["cpus"]))
    if need.get("disk") and host.get("pool_available") is not None and need["disk"] > host["pool_available"]:
        overcommitted.append(
            "the disks need %s of virtual size, storage pool '%s' has %s free, so the guest can "
            "fill the pool before its disk is full"
            % (_gib(need["disk"]), need.get("pool"), _gib(host["pool_available"])))
    if strict:
        errors.extend("%s (strict_resources is true)" % text for text in overcommitted)
    else:
        warnings.extend(overcommitted)
    return errors, warnings
