# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The testbed leaves the machine's network face as it found it (tests/testbed/listeners.py).

- Every daemon of the testbed listens on loopback only, and holds listeners there (so the
  check sees its processes at all).
- No non-loopback listener is new since the snapshot taken before the testbed came up (the
  Makefile takes it before installing packages), and ``up`` on the running testbed adds none.
  Nothing here stops or restarts a daemon: other tests share the testbed.
- A libvirt network's dnsmasq listens on the network's bridge address; for an isolated network
  in the test ranges that is a test network's and accepted while the network exists, and once
  the test destroys the network its listeners are gone.
- The setup installs no ssh server and no cloud-init: bindep.txt lists neither, the sshd and
  cloud-init the tests use are unpacked in the build cache and belong to no installed package,
  and where systemd is PID 1 no ssh or cloud-init unit was enabled since the snapshot (without
  systemd as PID 1 there are no units to enable, and only the package part is checked).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import subprocess
import sys
import uuid

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TESTS)
from testbed import listeners  # noqa: E402  pylint: disable=wrong-import-position

COLLECTION = os.path.dirname(TESTS)
PORT_DAEMONS = ('vcenter', 'esxi', 'etcd', 'kube-apiserver', 'vcluster-apiserver', 'kube-controller-manager', 'kube-scheduler',
                'kwok')


# --- the rules, on made-up data ------------------------------------------------------------------

PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4A3B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 100 0 0 10 0
   2: 0100007F:4A3B 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0 20 4 30 10 -1
"""
PROC_UDP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when ...
  1: 00000000000000000000000000000000:0223 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2001 2 0 0
  2: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2002 2 0 0
  3: 00000000000000000000000000000000:9C40 B80D0120000000000000000001000000:0035 01 00000000:00000000 00:00000000 00000000     0        0 2003 2 0 0
"""


def test_proc_net_lines_give_listeners_only():
    assert listeners.parse_proc_net(PROC_TCP, 'tcp') == [
        {'proto': 'tcp', 'address': '127.0.0.1', 'port': 19003, 'inode': 1001},
        {'proto': 'tcp', 'address': '0.0.0.0', 'port': 22, 'inode': 1002}]
    assert listeners.parse_proc_net(PROC_UDP6, 'udp6') == [
        {'proto': 'udp', 'address': '::', 'port': 547, 'inode': 2001},
        {'proto': 'udp', 'address': '::1', 'port': 53, 'inode': 2002}]


@pytest.mark.parametrize('address, loopback', [('127.0.0.1', True), ('127.3.2.1', True), ('::1', True), ('::ffff:127.0.0.1', True),
                                               ('0.0.0.0', False), ('::', False), ('192.0.2.2', False), ('::ffff:192.0.2.2', False)])
def test_loopback(address, loopback):
    assert listeners.is_loopback(address) is loopback


NET_STATUS = """<networkstatus><class_id bitmap='0-2'/><network><name>n</name>%s
<ip address='%s' prefix='29'><dhcp><range start='203.0.113.202' end='203.0.113.206'/></dhcp></ip></network></networkstatus>"""


@pytest.mark.parametrize('forward, address, test_network', [
    ('', '203.0.113.201', True), ('', '198.51.100.1', True),
    ("<forward mode='nat'/>", '203.0.113.201', False),  # reaches beyond its bridge
    ('', '192.168.122.1', False),  # outside the test ranges: a real network
])
def test_test_networks_are_isolated_and_in_the_test_ranges(forward, address, test_network):
    isolated, addresses = listeners.parse_network_status(NET_STATUS % (forward, address))
    assert listeners.is_test_network(isolated, addresses) is test_network


def listener(address, port, pid=None, proto='tcp', network=None, test_network=False):
    return {'proto': proto, 'address': address, 'port': port, 'pid': pid, 'program': '/usr/sbin/x' if pid else '?',
            'network': network, 'test_network': test_network}


def test_problems():
    before = [listener('0.0.0.0', 2024), listener('192.0.2.2', 53, proto='udp')]
    now = [listener('0.0.0.0', 2024, pid=5),  # there before (its process may be new)
           listener('192.0.2.2', 53, pid=6, proto='udp'),
           listener('0.0.0.0', 22, pid=7),  # new: e.g. a system sshd started by a package
           listener('::', 18989, pid=8),  # a testbed daemon beyond loopback
           listener('203.0.113.201', 53, pid=9, network='ghost-t', test_network=True),
           listener('192.168.122.1', 53, pid=10, network='default')]
    assert listeners.problems(now, before=before, testbed_pids={8}) == [
        'new since the snapshot: tcp 0.0.0.0:22 (pid 7 /usr/sbin/x)',
        'the testbed listens beyond loopback: tcp [::]:18989 (pid 8 /usr/sbin/x)',
        'new since the snapshot: tcp 192.168.122.1:53 (pid 10 /usr/sbin/x) of libvirt network default']
    # A testbed daemon is wrong beyond loopback even where the machine listened before.
    assert listeners.problems([listener('0.0.0.0', 2024, pid=8)], before=before, testbed_pids={8})


def test_units_enabled_since_the_snapshot():
    assert listeners.new_units({'ssh.service': 'enabled', 'cloud-init.service': 'not-found'},
                               {'ssh.service': 'enabled', 'cloud-init.service': 'enabled', 'sshd.service': 'disabled'}) == [
        'cloud-init.service']
    assert listeners.new_units({}, {'ssh.socket': 'enabled'}) == ['ssh.socket']


# --- the running testbed ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def state(testbed):
    return testbed['GHOST_TESTBED_DIR']


def snapshot_of(state):
    data = listeners.load(state)
    if data is None:
        pytest.fail('no %s: `testbed up` takes it when there is none' % listeners.snapshot_path(state))
    return data


def test_testbed_daemons_listen_on_loopback_only(state):
    owners = listeners.socket_owners()
    ours = listeners.testbed_pids(state)
    held = {}
    for item in listeners.read_listeners():
        pid = owners.get(item['inode'])
        if pid in ours:
            held.setdefault(pid, []).append(item)
    beyond = ['%s:%d (pid %d)' % (i['address'], i['port'], pid) for pid, items in held.items() for i in items
              if not listeners.is_loopback(i['address'])]
    assert beyond == []
    # Each daemon with a port was seen holding it (else the check above would see nothing).
    for name in PORT_DAEMONS:
        with open(os.path.join(state, 'run', name + '.pid')) as f:
            pid = int(f.read().split()[0])
        session = {p for p in ours if listeners.session_of(p) == pid}
        assert any(p in held for p in session), '%s (pid %d) holds no listener the check can see' % (name, pid)


def test_no_listener_new_since_the_snapshot(state):
    problems = listeners.problems(listeners.current(), before=snapshot_of(state)['listeners'], testbed_pids=listeners.testbed_pids(state))
    assert problems == []


def test_up_on_the_running_testbed_adds_no_listener(state, testbed_control):
    before = listeners.current()
    testbed_control.up()
    after = listeners.current()
    assert listeners.problems(after, before=before + snapshot_of(state)['listeners'], testbed_pids=listeners.testbed_pids(state)) == []


# Candidate subnets: tests share 198.51.100.0/24 and parts of 203.0.113.0/24; take the first free one.
CANDIDATES = list(ipaddress.ip_network('203.0.113.192/26').subnets(new_prefix=29))
NETWORK_XML = """<network><name>%(name)s</name><bridge name='%(bridge)s' stp='off'/>
<ip address='%(address)s' prefix='29'><dhcp><range start='%(start)s' end='%(end)s'/></dhcp></ip></network>"""


def test_a_test_network_listens_on_its_bridge_only_while_it_exists(testbed):
    import libvirt  # pylint: disable=import-outside-toplevel

    suffix = uuid.uuid4().hex[:6]
    name = 'ghost-listen-' + suffix
    conn = libvirt.open(testbed['LIBVIRT_DEFAULT_URI'])
    try:
        network, errors = None, []
        for subnet in CANDIDATES:
            hosts = list(subnet.hosts())
            first = str(hosts[0])
            try:
                network = conn.networkCreateXML(NETWORK_XML % {'name': name, 'bridge': 'ghlisten' + suffix, 'address': first,
                                                               'start': hosts[1], 'end': hosts[-1]})
                break
            except libvirt.libvirtError as exc:
                errors.append(str(exc))
        assert network is not None, 'no free /29 for a test network: %s' % errors
        try:
            with open(os.path.join(listeners.LIBVIRT_NETWORK_RUN, name + '.pid')) as f:
                dnsmasq = int(f.read())
            mine = [i for i in listeners.current() if i['pid'] == dnsmasq]
            assert mine, 'dnsmasq of %s (pid %d) listens nowhere beyond loopback' % (name, dnsmasq)
            assert all(i['network'] == name and i['test_network'] for i in mine), mine
            # DNS on the bridge address; DHCP on the wildcard address, bound to the bridge device.
            assert {(i['proto'], i['address']) for i in mine} >= {('tcp', first), ('udp', first)}, mine
            assert listeners.problems(mine, before=[], testbed_pids=listeners.testbed_pids(testbed['GHOST_TESTBED_DIR'])) == []
        finally:
            network.destroy()
        left = [i for i in listeners.current() if i['pid'] == dnsmasq or i['address'] == first]
        assert left == [], 'left after the network was destroyed: %s' % left
    finally:
        conn.close()


# --- packages and units ----------------------------------------------------------------------------

def bindep_names():
    with open(os.path.join(COLLECTION, 'bindep.txt')) as f:
        return [line.split()[0] for line in f if line.strip() and not line.startswith('#')]


def owning_package(path):
    result = subprocess.run(['dpkg', '-S', path], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def test_setup_installs_no_ssh_server_and_no_cloud_init(testbed):
    names = bindep_names()
    assert 'openssh-client' in names  # the file was read
    assert [n for n in names if re.match(r'(openssh-server|ssh|dropbear.*|tinysshd|cloud-init|cloud-guest-utils)$', n)] == []
    cache = testbed['GHOST_CACHE']
    sshd, cloudinit = testbed['GHOST_SSHD'], testbed['GHOST_CLOUDINIT_PYTHONPATH']
    for path in (sshd, os.path.join(cloudinit, 'cloudinit', '__init__.py')):
        assert path.startswith(os.path.join(cache, 'debs') + os.sep), path
        assert owning_package(os.path.realpath(path)) is None, '%s belongs to an installed package' % path
    version = subprocess.run([sshd, '-V'], capture_output=True, text=True, check=False)
    assert version.returncode == 0 and version.stderr.startswith('OpenSSH'), version
    # Where systemd runs the machine, no ssh or cloud-init unit was enabled since the snapshot
    # (taken before the packages were installed). Without systemd as PID 1 no unit can be.
    if listeners.systemd_is_pid1():
        before = snapshot_of(testbed['GHOST_TESTBED_DIR'])['units']
        assert before, 'the snapshot recorded no unit states although systemd is PID 1'
        assert listeners.new_units(before, listeners.unit_states()) == []
