# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt part of the testbed: Debian's virtlogd + libvirtd as root, pool ``ghost``, base image.

No libvirt network is defined (guests get no network traffic; a test that needs one creates an
isolated network, which takes iptables on the host). The daemons are only stopped by
``down`` when this testbed started them (their pid files live in ``.testbed/run``); a libvirtd
that was already running is used as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import re
import subprocess
import time

from .procs import TestbedError, wait_for

URI = 'qemu:///system'
SOCKET = '/run/libvirt/libvirt-sock'
QEMU_CONF = '/etc/libvirt/qemu.conf'
QEMU_USER = 'libvirt-qemu'
CONF_MARKER = '# ghost.infra testbed:'
POOL = 'ghost'
BASE_IMAGE = 'ghost-base.qcow2'
BASE_IMAGE_SIZE = '64M'
PROBE_DOMAIN = 'ghost-testbed-kvm-probe'


def _libvirt():
    import libvirt  # pylint: disable=import-outside-toplevel

    # Without this, libvirt prints every error to stderr as well as raising it.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def ensure_host_setup():
    """Make a bare Debian machine able to run QEMU domains under a root libvirtd.

    Debian's libvirt 9 looks the built-in QEMU user ``libvirt-qemu`` up before it reads
    qemu.conf, so that account must exist (libvirt-daemon-system's postinst creates it; we may not
    have that package). QEMU itself runs as root through qemu.conf because /dev/kvm may be 0600
    root and the checkout may sit under a directory only root can traverse.
    """
    # dnsmasq/: libvirt writes a NIC's MAC list there when a domain starts on a libvirt network,
    # even one without DHCP (the isolated networks the real-guest test creates).
    for d in ('/var/log/libvirt', '/var/run/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/var/lib/libvirt/dnsmasq'):
        os.makedirs(d, exist_ok=True)
    try:
        grp.getgrnam(QEMU_USER)
    except KeyError:
        subprocess.run(['groupadd', '--system', QEMU_USER], check=True)
    try:
        pwd.getpwnam(QEMU_USER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--gid', QEMU_USER, '--home-dir', '/var/lib/libvirt', '--no-create-home',
                        '--shell', '/usr/sbin/nologin', '--comment', 'Libvirt Qemu', QEMU_USER], check=True)
    try:
        with open(QEMU_CONF) as f:
            text = f.read()
    except FileNotFoundError:
        text = ''
    if CONF_MARKER in text:
        return
    if re.search(r'^\s*(user|group)\s*=', text, re.M):
        return  # an administrator chose the QEMU user; respect it
    os.makedirs(os.path.dirname(QEMU_CONF), exist_ok=True)
    with open(QEMU_CONF, 'a') as f:
        f.write('%s QEMU runs as root (no group access to /dev/kvm, checkout may be under /root)\n'
                'user = "root"\ngroup = "root"\n' % CONF_MARKER)


def daemon_up():
    """True when a libvirtd answers on the system socket."""
    if not os.path.exists(SOCKET):
        return False
    try:
        conn = _libvirt().open(URI)
    except Exception:  # pylint: disable=broad-except
        return False
    conn.close()
    return True


def start_daemons(procs):
    """Start virtlogd then libvirtd unless a libvirtd already answers. Returns True if started."""
    if daemon_up():
        return False
    ensure_host_setup()
    for name in ('virtlogd', 'libvirtd'):
        if procs.pid(name):
            continue
        pid_file = procs.pid_file(name + '-daemon')
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        env = dict(os.environ, LIBVIRT_LOG_OUTPUTS='3:file:%s' % procs.log_file(name))
        # `-d` forks and writes the daemon's own pid to -p; we copy it into our pid file. Output goes
        # to the log, not a pipe: a daemon holding our pipe open would make us wait forever.
        with open(procs.log_file(name), 'ab') as log:
            result = subprocess.run(['/usr/sbin/' + name, '-d', '-p', pid_file], env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise TestbedError('%s -d exited with %d' % (name, result.returncode), component='libvirt', log=procs.log_file(name))
        pid = wait_for('%s pid file' % name, lambda path=pid_file: _read_pid(path), 15)
        procs.record(name, pid, '/usr/sbin/' + name)
        os.unlink(pid_file)
    return True


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def wait_ready(procs, timeout=60):
    def check():
        if not daemon_up():
            pid = procs.pid('libvirtd')
            if pid is None and os.path.exists(procs.pid_file('libvirtd')):
                raise TestbedError('libvirtd exited', component='libvirt', log=procs.log_file('libvirtd'))
            return False
        return True
    try:
        wait_for('libvirtd', check, timeout)
    except TestbedError as exc:
        raise TestbedError(str(exc), component='libvirt', log=procs.log_file('libvirtd'))


def stop_daemons(procs):
    """Destroy domains still running under our libvirtd (QEMU outlives libvirtd), then stop it."""
    if procs.pid('libvirtd'):
        try:
            conn = _libvirt().open(URI)
            for dom in conn.listAllDomains(1):  # VIR_CONNECT_LIST_DOMAINS_ACTIVE
                dom.destroy()
            conn.close()
        except Exception:  # pylint: disable=broad-except
            pass
    stopped = procs.stop('libvirtd')
    return procs.stop('virtlogd') or stopped


def ensure_pool(pool_dir):
    """Define/start the dir pool ``ghost`` at ``pool_dir``; redefine it if it points elsewhere."""
    libvirt = _libvirt()
    os.makedirs(pool_dir, exist_ok=True)
    conn = libvirt.open(URI)
    try:
        try:
            pool = conn.storagePoolLookupByName(POOL)
        except libvirt.libvirtError:
            pool = None
        if pool is not None:
            path = re.search(r'<path>([^<]*)</path>', pool.XMLDesc(0)).group(1)
            if os.path.realpath(path) != os.path.realpath(pool_dir):
                if pool.isActive():
                    pool.destroy()
                pool.undefine()
                pool = None
        if pool is None:
            xml = ("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (POOL, pool_dir))
            pool = conn.storagePoolDefineXML(xml, 0)
        if not pool.isActive():
            pool.create(0)
        pool.setAutostart(1)
        pool.refresh(0)
    finally:
        conn.close()


def ensure_base_image(pool_dir):
    """A small empty qcow2 that tests overlay; read-only so nothing writes to it by mistake."""
    path = os.path.join(pool_dir, BASE_IMAGE)
    if not os.path.exists(path):
        tmp = path + '.tmp'
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', tmp, BASE_IMAGE_SIZE], check=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
        conn = _libvirt().open(URI)
        try:
            conn.storagePoolLookupByName(POOL).refresh(0)
        finally:
            conn.close()
    return path


def probe_domain_type(state_file, force=False):
    """'kvm' when a no-OS KVM domain really starts and keeps running here, else 'qemu'.

    The answer is cached in ``state_file``; ``force`` (a freshly started libvirtd) re-probes.
    """
    if not force:
        try:
            with open(state_file) as f:
                cached = f.read().strip()
            if cached in ('kvm', 'qemu'):
                return cached
        except OSError:
            pass
    result = 'qemu'
    if os.path.exists('/dev/kvm'):
        libvirt = _libvirt()
        conn = libvirt.open(URI)
        xml = ("<domain type='kvm'><name>%s</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
               "<os><type arch='x86_64'>hvm</type></os><devices/></domain>" % PROBE_DOMAIN)
        try:
            try:
                stale = conn.lookupByName(PROBE_DOMAIN)
                stale.destroy()
            except libvirt.libvirtError:
                pass
            dom = conn.createXML(xml, 0)
            time.sleep(1)
            state = dom.state()[0]
            dom.destroy()
            if state == libvirt.VIR_DOMAIN_RUNNING:
                result = 'kvm'
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    with open(state_file, 'w') as f:
        f.write(result + '\n')
    return result


def versions():
    conn = _libvirt().open(URI)
    try:
        def fmt(v):
            return '%d.%d.%d' % (v // 1000000, v // 1000 % 1000, v % 1000)
        return 'libvirt %s, QEMU %s' % (fmt(conn.getLibVersion()), fmt(conn.getVersion()))
    finally:
        conn.close()
