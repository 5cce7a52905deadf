# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Listening sockets on addresses other than loopback: what the machine had before the testbed.

Every daemon of the testbed listens on 127.0.0.1. To check that setting it up adds no listener
that other machines could reach, the testbed keeps a snapshot of the machine's non-loopback
listeners in ``$GHOST_TESTBED_DIR/listeners.json``: the Makefile takes it before installing
packages (``python3 -m testbed.listeners snapshot`` from tests/, standard library only), ``up``
takes it when there is none, ``down`` removes it after saying what is new since. A snapshot from
before the last reboot is taken again. Where systemd is PID 1 it also records whether the ssh
and cloud-init units are enabled.

Listeners come from /proc/net/{tcp,tcp6,udp,udp6} (TCP in LISTEN, UDP bound and unconnected);
their processes from the socket inodes in /proc/<pid>/fd. A listener of the dnsmasq of a libvirt
network (its pid file in /run/libvirt/network) that is isolated (no ``<forward>``) and has only
addresses in the test ranges is a test network's: reachable only from its own bridge, which has
no uplink. Tests create such networks and destroy them when they finish (that stops dnsmasq), so
those listeners are neither in a snapshot nor counted as new; any other libvirt network is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

SNAPSHOT = 'listeners.json'
TEST_RANGES = tuple(ipaddress.ip_network(n) for n in ('198.51.100.0/24', '203.0.113.0/24'))
LIBVIRT_NETWORK_RUN = '/run/libvirt/network'
LIBVIRT_QEMU_RUN = '/run/libvirt/qemu'
# Units the packages the collection once installed would enable (openssh-server, cloud-init).
UNITS = ('ssh.service', 'ssh.socket', 'sshd.service', 'cloud-init.service', 'cloud-init-local.service', 'cloud-config.service',
         'cloud-final.service')
TCP_LISTEN = '0A'
UDP_UNCONNECTED = '07'


# --- pure -------------------------------------------------------------------------------------

def parse_address(text):
    """``0100007F:0016`` (a /proc/net line's address, host byte order per 32-bit word) -> ('127.0.0.1', 22)."""
    hexaddr, hexport = text.split(':')
    raw = bytes.fromhex(hexaddr)
    packed = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, packed), int(hexport, 16)


def parse_proc_net(text, proto):
    """Listening sockets in the text of /proc/net/<proto>: dicts proto, address, port, inode."""
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        state, remote = fields[3], parse_address(fields[2])
        if proto.startswith('tcp') and state != TCP_LISTEN:
            continue
        if proto.startswith('udp') and (state != UDP_UNCONNECTED or remote[1] != 0):
            continue
        address, port = parse_address(fields[1])
        out.append({'proto': proto.rstrip('6'), 'address': address, 'port': port, 'inode': int(fields[9])})
    return out


def is_loopback(address):
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, 'ipv4_mapped', None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def parse_network_status(text):
    """(isolated, addresses) of a libvirt network's status XML (/run/libvirt/network/<name>.xml)."""
    root = ET.fromstring(text)
    net = root if root.tag == 'network' else root.find('network')
    if net is None:
        return False, []
    return net.find('forward') is None, [ip.get('address') for ip in net.findall('ip') if ip.get('address')]


def is_test_network(isolated, addresses):
    """An isolated libvirt network whose addresses all lie in the test ranges."""
    if not isolated or not addresses:
        return False
    return all(any(ipaddress.ip_address(a) in r for r in TEST_RANGES) for a in addresses)


def key(listener):
    return '%s %s' % (listener['proto'], endpoint(listener))


def endpoint(listener):
    address = listener['address']
    return '%s:%d' % ('[%s]' % address if ':' in address else address, listener['port'])


def describe(listener):
    return '%s (%s)' % (key(listener), 'pid %s %s' % (listener['pid'], listener['program']) if listener.get('pid') else 'no visible process')


def problems(now, *, before, testbed_pids):
    """What is wrong with the non-loopback listeners ``now`` (from ``current()``), as sentences.

    A listener held by a process of the testbed is always wrong; one of a test network never is;
    any other must already be in ``before`` (a list of listeners or their keys).
    """
    known = {b if isinstance(b, str) else key(b) for b in before}
    out = []
    for item in now:
        if item.get('pid') in testbed_pids:
            out.append('the testbed listens beyond loopback: %s' % describe(item))
        elif item.get('test_network'):
            continue
        elif key(item) not in known:
            out.append('new since the snapshot: %s%s' % (describe(item), ' of libvirt network %s' % item['network'] if item.get('network') else ''))
    return out


def new_units(before, now):
    """Units enabled now that were not enabled when the snapshot was taken."""
    return sorted(u for u, state in now.items() if state == 'enabled' and (before or {}).get(u) != 'enabled')


# --- reading the machine ----------------------------------------------------------------------

def read_listeners(proc='/proc'):
    out = []
    for proto in ('tcp', 'tcp6', 'udp', 'udp6'):
        try:
            with open(os.path.join(proc, 'net', proto)) as f:
                out += parse_proc_net(f.read(), proto)
        except OSError:
            pass
    return out


def socket_owners(proc='/proc'):
    """{socket inode: pid} over every process we may read (all of them as root)."""
    owners = {}
    for fd_dir in glob.glob(os.path.join(proc, '[0-9]*', 'fd')):
        pid = int(fd_dir.split(os.sep)[-2])
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(os.path.join(fd_dir, name))
            except OSError:
                continue
            if target.startswith('socket:['):
                owners.setdefault(int(target[8:-1]), pid)
    return owners


def program(pid, proc='/proc'):
    try:
        with open(os.path.join(proc, str(pid), 'cmdline'), 'rb') as f:
            args = f.read().decode('utf-8', 'replace').split('\0')
        return args[0] or '?'
    except OSError:
        return '?'


def session_of(pid, proc='/proc'):
    try:
        with open(os.path.join(proc, str(pid), 'stat')) as f:
            return int(f.read().rsplit(')', 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


def libvirt_networks(run_dir=LIBVIRT_NETWORK_RUN):
    """{dnsmasq pid: (network name, is a test network)} from libvirt's run directory."""
    out = {}
    for pid_file in glob.glob(os.path.join(run_dir, '*.pid')):
        name = os.path.basename(pid_file)[:-4]
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            with open(os.path.join(run_dir, name + '.xml')) as f:
                isolated, addresses = parse_network_status(f.read())
        except (OSError, ValueError, ET.ParseError):
            continue
        out[pid] = (name, is_test_network(isolated, addresses))
    return out


def current(proc='/proc', network_run=LIBVIRT_NETWORK_RUN):
    """The non-loopback listeners now: proto, address, port, pid, program, network, test_network."""
    owners = socket_owners(proc)
    networks = libvirt_networks(network_run)
    out = []
    for item in read_listeners(proc):
        if is_loopback(item['address']):
            continue
        pid = owners.get(item.pop('inode'))
        name, test = networks.get(pid, (None, False))
        item.update(pid=pid, program=program(pid, proc) if pid else '?', network=name, test_network=test)
        out.append(item)
    return sorted(out, key=key)


def testbed_pids(state, proc='/proc'):
    """Pids of the testbed's daemons and of every process in their sessions (each daemon leads
    its own), plus the QEMU processes of the testbed's own libvirtd."""
    leaders = set()
    for pid_file in glob.glob(os.path.join(state, 'run', '*.pid')):
        try:
            with open(pid_file) as f:
                leaders.add(int(f.read().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    pids = set(leaders)
    for stat in glob.glob(os.path.join(proc, '[0-9]*', 'stat')):
        pid = int(stat.split(os.sep)[-2])
        if session_of(pid, proc) in leaders:
            pids.add(pid)
    if os.path.exists(os.path.join(state, 'run', 'libvirtd.pid')):
        for pid_file in glob.glob(os.path.join(LIBVIRT_QEMU_RUN, '*.pid')):
            try:
                with open(pid_file) as f:
                    pids.add(int(f.read().strip()))
            except (OSError, ValueError):
                continue
    return pids


def systemd_is_pid1(proc='/proc'):
    try:
        with open(os.path.join(proc, '1', 'comm')) as f:
            return f.read().strip() == 'systemd'
    except OSError:
        return False


def unit_states():
    """{unit: `systemctl is-enabled` answer} where systemd is PID 1, else {}."""
    if not systemd_is_pid1():
        return {}
    out = {}
    for unit in UNITS:
        result = subprocess.run(['systemctl', 'is-enabled', unit], capture_output=True, text=True, timeout=30, check=False)
        out[unit] = result.stdout.strip() or 'not-found'
    return out


def boot_time(proc='/proc'):
    try:
        with open(os.path.join(proc, 'stat')) as f:
            for line in f:
                if line.startswith('btime '):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --- the snapshot -----------------------------------------------------------------------------

def snapshot_path(state):
    return os.path.join(state, SNAPSHOT)


def load(state):
    try:
        with open(snapshot_path(state)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def take(state):
    """Write the snapshot unless one from this boot exists. Returns (snapshot, taken now)."""
    existing = load(state)
    if existing and existing.get('boot') == boot_time():
        return existing, False
    data = {'taken': int(time.time()), 'boot': boot_time(),
            'listeners': [{k: v for k, v in item.items() if k in ('proto', 'address', 'port', 'program')}
                          for item in current() if not item['test_network']],
            'units': unit_states()}
    os.makedirs(state, exist_ok=True)
    tmp = snapshot_path(state) + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, snapshot_path(state))
    return data, True


def forget(state):
    """After ``down``: the new listeners since the snapshot (not the testbed's, which is down), then remove it."""
    data = load(state)
    try:
        os.unlink(snapshot_path(state))
    except FileNotFoundError:
        pass
    if data is None:
        return []
    return problems(current(), before=data.get('listeners', []), testbed_pids=set())


def default_state():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get('GHOST_TESTBED_DIR') or os.path.join(os.path.dirname(os.path.dirname(here)), '.testbed')


def main(argv):
    """``snapshot`` (take it unless one from this boot exists) or ``show`` (the listeners now, as JSON)."""
    state = default_state()
    if argv[1:] == ['snapshot']:
        data, taken = take(state)
        print('listeners: %s %s (%d non-loopback listeners)' % ('snapshot taken in' if taken else 'snapshot kept in', snapshot_path(state),
                                                                len(data['listeners'])))
        return 0
    if argv[1:] == ['show']:
        print(json.dumps(current(), indent=1))
        return 0
    print('usage: python3 -m testbed.listeners snapshot|show', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
