# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt part of the testbed: virtlogd + libvirtd as root, pool ``ghost``, base image, KVM probe.

The host is set up by the collection's own role ``ghost.infra.libvirt_host`` (dogfooding): the
QEMU account, ``qemu.conf`` (QEMU as root), the daemons, and the pool ``ghost``. ``up`` runs it
through ansible-playbook next to this Python, with the checkout as the collection, and prints
its recap (a second ``up`` reports ``changed=0``); the output goes to ``logs/libvirt-host-role.log``.
To keep a warm ``up`` fast, the role is not run again while nothing it depends on changed (the
role's files, its inputs, the running libvirtd, the pool); ``GHOST_TESTBED_LIBVIRT_ROLE=always``
runs it every time.

No libvirt network is defined (guests get no network traffic; a test that needs one creates an
isolated network, which takes iptables on the host). A libvirtd that already answers is used as
it is and never stopped. Where systemd is PID 1 and has a libvirtd unit, the system's units run
it: ``up`` starts the units that were inactive and records them in ``.testbed/run/libvirt.units``,
``down`` stops exactly those. Otherwise the role starts ``virtlogd`` and ``libvirtd`` with
``--daemon`` (pid files in ``.testbed/run/libvirt``, recorded like every daemon's) and ``down``
stops them, after destroying the domains and networks still running under them (QEMU and a
network's dnsmasq outlive libvirtd).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import subprocess
import sys
import time

from .procs import TestbedError, wait_for

URI = 'qemu:///system'
SOCKET = '/run/libvirt/libvirt-sock'
QEMU_CONF = '/etc/libvirt/qemu.conf'
QEMU_USER = 'libvirt-qemu'
CONF_MARKER = '# ghost.infra testbed:'
# The keys the role added to qemu.conf for the testbed (``down --purge`` takes them out again).
CONF_ADDED = 'qemu-conf.added'
ROLE = 'ghost.infra.libvirt_host'
ROLE_LOG = 'libvirt-host-role'
ROLE_STAMP = 'libvirt-host-role.json'
DAEMONS = ('virtlogd', 'libvirtd')
# tests/testbed/libvirt_host.py -> the collection's root (the checkout, or a staged copy of it).
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# One pool per checkout, named after its folder: libvirtd's definitions outlive a checkout (and
# a machine image taken with them), and two checkouts on one host must not fight over one name.
POOL_PREFIX = 'ghost-'


def pool_name(pool_dir):
    return POOL_PREFIX + hashlib.sha256(os.path.realpath(pool_dir).encode()).hexdigest()[:8]


BASE_IMAGE = 'ghost-base.qcow2'
BASE_IMAGE_SIZE = '64M'
PROBE_DOMAIN = 'ghost-testbed-kvm-probe'
# The system's units for libvirtd and what it needs (Debian's libvirt-daemon-system); the sockets
# too, since an active socket would start the daemon again on the next connection.
SYSTEMD_UNITS = ('virtlogd.socket', 'virtlogd-admin.socket', 'virtlogd.service', 'virtlockd.socket', 'virtlockd-admin.socket',
                 'virtlockd.service', 'libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket', 'libvirtd.service')
UNITS_FILE = 'libvirt.units'


def _libvirt():
    import libvirt  # pylint: disable=import-outside-toplevel

    # Without this, libvirt prints every error to stderr as well as raising it.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def _state_dir(procs):
    return os.path.dirname(procs.run_dir)


def _qemu_conf_settings():
    """The ``user`` and ``group`` set (not commented out) in qemu.conf, as a dict."""
    try:
        with open(QEMU_CONF) as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    # libvirt takes the first assignment of a key.
    return dict(re.findall(r'^\s*(user|group)\s*=\s*"?([^"\n]*)"?\s*$', text, re.M)[::-1])


def role_vars(procs, pool_dir, systemd):
    """The role's inputs for this testbed.

    QEMU runs as root (/dev/kvm may be 0600 root, the checkout may sit under a directory only root
    can traverse), unless an administrator chose the QEMU user in qemu.conf. Packages come from
    ``make system-packages`` (bindep.txt). systemd's units are started, never enabled.
    """
    chosen = _qemu_conf_settings()
    conf = {k: 'root' for k in ('user', 'group') if chosen.get(k, 'root') == 'root'}
    if len(conf) < 2 and chosen:
        conf = {}
    return {
        'libvirt_host_uri': URI,
        'libvirt_host_manage_packages': False,
        'libvirt_host_qemu_conf': conf,
        'libvirt_host_qemu_conf_path': QEMU_CONF,
        'libvirt_host_service_manager': 'systemd' if systemd else 'direct',
        'libvirt_host_enable_services': False,
        'libvirt_host_direct_pid_dir': os.path.join(procs.run_dir, 'libvirt'),
        'libvirt_host_direct_log_dir': procs.log_dir,
        'libvirt_host_pools': [{'name': pool_name(pool_dir), 'path': pool_dir, 'autostart': True}],
    }


def _role_digest(variables):
    """What the role's outcome depends on besides libvirt's state: its files and its inputs."""
    digest = hashlib.sha256(json.dumps(variables, sort_keys=True).encode())
    root = os.path.join(COLLECTION, 'roles', 'libvirt_host')
    paths = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != 'molecule']
        paths += [os.path.join(folder, name) for name in files]
    for path in sorted(paths):
        digest.update(os.path.relpath(path, root).encode() + b'\0')
        with open(path, 'rb') as f:
            digest.update(f.read())
    for path in (QEMU_CONF, SOCKET):
        try:
            st = os.stat(path)
            digest.update(('%s %d %d' % (path, st.st_ino, st.st_mtime_ns)).encode())
        except OSError:
            digest.update(path.encode())
    return digest.hexdigest()


def _pool_in_place(pool_dir):
    """True when the checkout's pool is active at ``pool_dir`` with autostart."""
    libvirt = _libvirt()
    try:
        conn = libvirt.open(URI)
    except libvirt.libvirtError:
        return False
    try:
        pool = conn.storagePoolLookupByName(pool_name(pool_dir))
        return bool(pool.isActive() and pool.autostart()) and _pool_path(pool) == os.path.realpath(pool_dir)
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


def _pool_path(pool):
    return os.path.realpath(re.search(r'<path>([^<]*)</path>', pool.XMLDesc(0)).group(1))


def _forget_moved_pool(pool_dir):
    """The role refuses to move a pool or to put two on one folder: undefine ours if it points
    elsewhere (a folder renamed back and forth), and the pool ``ghost`` older testbeds defined on
    this folder."""
    libvirt = _libvirt()
    conn = libvirt.open(URI)
    try:
        for name in (pool_name(pool_dir), 'ghost'):
            try:
                pool = conn.storagePoolLookupByName(name)
            except libvirt.libvirtError:
                continue
            if (_pool_path(pool) == os.path.realpath(pool_dir)) == (name == 'ghost'):
                if pool.isActive():
                    pool.destroy()
                pool.undefine()
    finally:
        conn.close()


def _collections_dir(state):
    """``<state>/collections/ansible_collections/ghost/infra`` pointing at this collection."""
    top = os.path.join(state, 'collections')
    parent = os.path.join(top, 'ansible_collections', 'ghost')
    os.makedirs(parent, exist_ok=True)
    link = os.path.join(parent, 'infra')
    if os.path.islink(link) and os.readlink(link) == COLLECTION:
        return top
    tmp = link + '.tmp'
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(COLLECTION, tmp)
    os.replace(tmp, link)
    return top


def run_role(procs, variables):
    """Run ghost.infra.libvirt_host with ``variables``; return its recap ``{'ok': n, 'changed': n, ...}``."""
    state = _state_dir(procs)
    playbook_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.access(playbook_bin, os.X_OK):
        raise TestbedError('%s not found: the testbed runs the role %s with the venv\'s Ansible (make venv)' % (playbook_bin, ROLE),
                           component='libvirt')
    play = os.path.join(procs.run_dir, 'libvirt-host.yml')
    with open(play, 'w') as f:
        f.write('- name: The testbed\'s libvirt\n  hosts: localhost\n  connection: local\n  gather_facts: false\n'
                '  roles:\n    - role: %s\n' % ROLE)
    extra = os.path.join(procs.run_dir, 'libvirt-host.vars.json')
    with open(extra, 'w') as f:
        json.dump(dict(variables, ansible_python_interpreter=sys.executable), f, indent=1, sort_keys=True)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_dir(state), ANSIBLE_PIPELINING='1', ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_STDOUT_CALLBACK='default')
    log = procs.log_file(ROLE_LOG)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as out:
        result = subprocess.run([playbook_bin, '-i', 'localhost,', '-e', '@' + extra, play], cwd=state, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=900, check=False)
    with open(log) as f:
        text = f.read()
    recap = re.search(r'^localhost\s+:\s+(.*)$', text, re.M)
    counts = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', recap.group(1))} if recap else {}
    if result.returncode != 0 or not recap:
        fatal = re.findall(r'^(?:fatal|failed): .*$', text, re.M)
        raise TestbedError('role %s failed (exit %d)%s' % (ROLE, result.returncode, ': ' + fatal[-1][:400] if fatal else ''),
                           component='libvirt', log=log)
    return counts


def setup_host(procs, pool_dir, systemd):
    """Run the role unless its last run here still holds (see the module docstring). Returns a line to print."""
    variables = role_vars(procs, pool_dir, systemd)
    stamp_path = os.path.join(procs.run_dir, ROLE_STAMP)
    always = os.environ.get('GHOST_TESTBED_LIBVIRT_ROLE', '') == 'always'
    try:
        with open(stamp_path) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        stamp = {}
    if not always and daemon_up() and stamp.get('digest') == _role_digest(variables) and _pool_in_place(pool_dir):
        return ('libvirt: %s unchanged since its run at %s (changed=%d then; GHOST_TESTBED_LIBVIRT_ROLE=always runs it)'
                % (ROLE, stamp.get('at', '?'), stamp.get('changed', -1)))
    added = [k for k in variables['libvirt_host_qemu_conf'] if k not in _qemu_conf_settings()]
    if daemon_up():
        _forget_moved_pool(pool_dir)
    started = time.monotonic()
    counts = run_role(procs, variables)
    if added:
        _record_added(_state_dir(procs), added)
    with open(stamp_path, 'w') as f:
        json.dump({'digest': _role_digest(variables), 'at': time.strftime('%Y-%m-%d %H:%M:%S'), 'changed': counts.get('changed', 0)}, f)
    return 'libvirt: role %s ok=%d changed=%d in %.1fs (log: %s)' % (
        ROLE, counts.get('ok', 0), counts.get('changed', 0), time.monotonic() - started, procs.log_file(ROLE_LOG))


def _record_added(state, keys):
    path = os.path.join(state, CONF_ADDED)
    try:
        with open(path) as f:
            known = f.read().split()
    except FileNotFoundError:
        known = []
    with open(path, 'w') as f:
        f.write(''.join(k + '\n' for k in sorted(set(known) | set(keys))))


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


def systemd_is_pid1():
    try:
        with open('/proc/1/comm') as f:
            return f.read().strip() == 'systemd'
    except OSError:
        return False


def _systemctl(*args):
    return subprocess.run(['systemctl'] + list(args), capture_output=True, text=True, timeout=120, check=False)


def systemd_has_libvirtd():
    """True where systemd is PID 1 and knows a libvirtd.service unit."""
    return systemd_is_pid1() and _systemctl('cat', 'libvirtd.service').returncode == 0


def _active_units():
    result = _systemctl('is-active', *SYSTEMD_UNITS)
    return {u for u, state in zip(SYSTEMD_UNITS, result.stdout.split()) if state in ('active', 'activating', 'reloading')}


def start_units(procs):
    """Start libvirtd through the system's units; remember the units this started for ``down``."""
    before = _active_units()
    result = _systemctl('start', 'libvirtd.service')
    if result.returncode != 0:
        raise TestbedError('systemctl start libvirtd.service: %s' % (result.stderr or result.stdout).strip(), component='libvirt')
    started = sorted(_active_units() - before)
    with open(os.path.join(procs.run_dir, UNITS_FILE), 'w') as f:
        f.write(''.join(u + '\n' for u in started))
    return bool(started)


def stop_units(procs):
    """Stop the units ``start_units`` started (services first, then their sockets). True if any."""
    path = os.path.join(procs.run_dir, UNITS_FILE)
    try:
        with open(path) as f:
            units = [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return False
    if units:
        units.sort(key=lambda u: not u.endswith('.service'))
        result = _systemctl('stop', *units)
        if result.returncode != 0:
            raise TestbedError('systemctl stop %s: %s' % (' '.join(units), (result.stderr or result.stdout).strip()), component='libvirt')
    os.unlink(path)
    return bool(units)


def start_daemons(procs):
    """Set the host up through the role; True if this started libvirtd (its units or its daemons).

    Where systemd runs libvirt's units, they are started here first (and recorded for ``down``);
    otherwise the role starts the daemons, and their pids are recorded from the role's pid files.
    """
    was_up = daemon_up()
    systemd = systemd_has_libvirtd()
    started = False
    if not was_up and systemd:
        started = start_units(procs)
    pool_dir = os.path.join(_state_dir(procs), 'pool')
    try:
        print(setup_host(procs, pool_dir, systemd), flush=True)
    finally:
        # Even when a later task of the role failed: the daemons it started are ours to stop,
        # or `down` would leave them running and every later `up` would call them foreign.
        claimed = [] if systemd else _claim_role_daemons(procs)
    if not was_up and not systemd:
        missing = [name for name in DAEMONS if name not in claimed and not procs.pid(name)]
        if missing:
            raise TestbedError('%s was started by %s but wrote no pid file' % (missing[0], ROLE), component='libvirt',
                               log=procs.log_file(ROLE_LOG))
        started = True
    return started


def _claim_role_daemons(procs):
    """Record the daemons whose pid files the role wrote in this testbed's run folder (started
    directly by it for this testbed) and that run; returns their names."""
    claimed = []
    for name in DAEMONS:
        if procs.pid(name):
            continue
        pid = _read_pid(os.path.join(procs.run_dir, 'libvirt', name + '.pid'))
        if pid is None:
            continue
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if argv and os.path.basename(argv[0].decode(errors='replace')) == name:
            procs.record(name, pid, '/usr/sbin/' + name)
            claimed.append(name)
    return claimed


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
    """Stop the libvirtd this testbed started: its units, or its own daemons after destroying
    the domains and networks still running under them (QEMU and dnsmasq outlive libvirtd)."""
    if stop_units(procs):
        return True
    if procs.pid('libvirtd'):
        try:
            conn = _libvirt().open(URI)
            for dom in conn.listAllDomains(1):  # VIR_CONNECT_LIST_DOMAINS_ACTIVE
                dom.destroy()
            for net in conn.listAllNetworks(2):  # VIR_CONNECT_LIST_NETWORKS_ACTIVE
                net.destroy()
            conn.close()
        except Exception:  # pylint: disable=broad-except
            pass
    stopped = procs.stop('libvirtd')
    return procs.stop('virtlogd') or stopped


def ensure_pool(pool_dir):
    """Check that the role left the checkout's dir pool active at ``pool_dir``, and refresh it."""
    libvirt = _libvirt()
    conn = libvirt.open(URI)
    try:
        pool = conn.storagePoolLookupByName(pool_name(pool_dir))
        if not os.path.isdir(pool_dir) and _pool_path(pool) == os.path.realpath(pool_dir):
            # Defined for an earlier checkout at this same path whose folder is gone (CI clones
            # to one path): libvirt keeps the pool active on a missing folder; build it again.
            if pool.isActive():
                pool.destroy()
            pool.build(0)
            pool.create(0)
        if not pool.isActive() or _pool_path(pool) != os.path.realpath(pool_dir):
            raise TestbedError('pool %s is not active at %s after %s' % (pool_name(pool_dir), pool_dir, ROLE), component='libvirt')
        pool.refresh(0)
    finally:
        conn.close()


def remove_pool(pool_dir):
    """Stop and undefine the checkout's pool (its files go with the state folder). True if it existed."""
    libvirt = _libvirt()
    conn = libvirt.open(URI)
    try:
        try:
            pool = conn.storagePoolLookupByName(pool_name(pool_dir))
        except libvirt.libvirtError:
            return False
        if pool.isActive():
            pool.destroy()
        pool.undefine()
        return True
    finally:
        conn.close()


def undo_host_setup(state=None):
    """Take the testbed's settings out of qemu.conf: the keys the role added for it (listed in
    ``<state>/qemu-conf.added``) and the lines older testbeds appended under CONF_MARKER.
    True if anything was removed."""
    state = state or os.environ.get('GHOST_TESTBED_DIR') or os.path.join(COLLECTION, '.testbed')
    try:
        with open(os.path.join(state, CONF_ADDED)) as f:
            added = set(f.read().split())
    except FileNotFoundError:
        added = set()
    try:
        with open(QEMU_CONF) as f:
            lines = f.read().splitlines(True)
    except FileNotFoundError:
        return False
    ours = {'%s = "root"' % k for k in added}
    keep, i = [], 0
    while i < len(lines):
        if lines[i].startswith(CONF_MARKER) and [x.strip() for x in lines[i + 1:i + 3]] == ['user = "root"', 'group = "root"']:
            i += 3
            continue
        if lines[i].strip() not in ours:
            keep.append(lines[i])
        i += 1
    if keep == lines:
        return False
    with open(QEMU_CONF + '.tmp', 'w') as f:
        f.write(''.join(keep))
    os.chmod(QEMU_CONF + '.tmp', os.stat(QEMU_CONF).st_mode & 0o777)
    os.replace(QEMU_CONF + '.tmp', QEMU_CONF)
    return True


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
            conn.storagePoolLookupByName(pool_name(pool_dir)).refresh(0)
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
