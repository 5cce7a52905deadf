# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt: the pool, the base image, and a domain started from an overlay of it (via virsh)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import uuid
import xml.etree.ElementTree as ET

import libvirt


def virsh(env, *args, check=True):
    result = subprocess.run(['virsh', '-c', env['LIBVIRT_DEFAULT_URI']] + list(args), capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert result.returncode == 0, 'virsh %s: %s' % (' '.join(args), result.stderr)
    return result.stdout


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_pool_and_base_image(testbed):
    pool = ET.fromstring(virsh(testbed, 'pool-dumpxml', testbed['GHOST_LIBVIRT_POOL']))
    assert os.path.realpath(pool.find('target/path').text) == os.path.realpath(testbed['GHOST_LIBVIRT_POOL_DIR'])
    assert 'running' in virsh(testbed, 'pool-info', testbed['GHOST_LIBVIRT_POOL'])
    info = json.loads(subprocess.run(['qemu-img', 'info', '--output=json', testbed['GHOST_BASE_IMAGE']],
                                     capture_output=True, text=True, check=True).stdout)
    assert info['format'] == 'qcow2'
    assert testbed['GHOST_LIBVIRT_DOMAIN_TYPE'] in ('kvm', 'qemu')
    assert testbed['GHOST_LIBVIRT_GUEST_DOMAIN_TYPE'] == 'qemu'


def test_no_forwarding_network(testbed):
    conn = libvirt.open(testbed['LIBVIRT_DEFAULT_URI'])
    try:
        for net in conn.listAllNetworks():
            assert ET.fromstring(net.XMLDesc()).find('forward') is None, net.name()
    finally:
        conn.close()


def test_domain_from_overlay(testbed, tmp_path):
    base = testbed['GHOST_BASE_IMAGE']
    before = sha256(base)
    name = 'tb-' + uuid.uuid4().hex[:8]
    pool = testbed['GHOST_LIBVIRT_POOL']
    virsh(testbed, 'vol-create-as', pool, name + '.qcow2', '64M', '--format', 'qcow2',
          '--backing-vol', base, '--backing-vol-format', 'qcow2')
    try:
        overlay = virsh(testbed, 'vol-path', '--pool', pool, name + '.qcow2').strip()
        info = json.loads(subprocess.run(['qemu-img', 'info', '--output=json', overlay], capture_output=True, text=True, check=True).stdout)
        assert os.path.realpath(info['backing-filename']) == os.path.realpath(base)
        xml = tmp_path / 'domain.xml'
        xml.write_text(
            "<domain type='%s'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>"
            "<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/>"
            "<target dev='vda' bus='virtio'/></disk></devices></domain>"
            % (testbed['GHOST_LIBVIRT_DOMAIN_TYPE'], name, overlay))
        virsh(testbed, 'define', str(xml))
        try:
            virsh(testbed, 'start', name)
            assert virsh(testbed, 'domstate', name).strip() == 'running'
            virsh(testbed, 'destroy', name)
            assert virsh(testbed, 'domstate', name).strip() == 'shut off'
        finally:
            virsh(testbed, 'destroy', name, check=False)
            virsh(testbed, 'undefine', name)
    finally:
        virsh(testbed, 'vol-delete', '--pool', pool, name + '.qcow2')
    assert sha256(base) == before
