# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The testbed's components and their lifecycle: start, health, ``up``, ``status``, ``down``.

``up`` builds what is missing (binaries.py), starts every component that is not running, waits
until each is healthy and writes ``env.sh``; it is idempotent and says what it does as it goes.
``down`` stops what ``up`` started, by pid file only, and keeps state and cache (``purge`` also
undefines the libvirt pool, takes the testbed's lines out of qemu.conf and deletes the state
folder). State lives in $GHOST_TESTBED_DIR, else ``.testbed`` in the
collection's root; the Makefile and tools/in-stage point it at the checkout's ``.testbed``, so a
staged copy shares the checkout's testbed. Ports (127.0.0.1) can be moved with
GHOST_TESTBED_PORT_<NAME>, e.g. GHOST_TESTBED_PORT_APISERVER.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time

import yaml

from . import binaries, debs, kube, libvirt_host, listeners, vsphere
from .procs import Procs, TestbedError, port_open, rss_mib, wait_for, write_private
from .progress import Progress

HERE = os.path.dirname(os.path.abspath(__file__))
# The package's parent (tests/): where `python -m testbed...` finds it.
PACKAGE_ROOT = os.path.dirname(HERE)
COLLECTION = os.path.dirname(PACKAGE_ROOT)

DEFAULT_PORTS = {
    'vcenter': 18989, 'esxi': 18990,
    'etcd': 12379, 'etcd_peer': 12380,
    'apiserver': 16443, 'vapiserver': 16444, 'kcm': 16457, 'scheduler': 16459, 'kwok': 16460,
}
KUBE_DAEMONS = ('etcd', 'kube-apiserver', 'vcluster-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok')
STANDINS = ('kubevirt-standin', 'vcluster-standin')
# Stop order for `down`: dependents first.
ALL_DAEMONS = STANDINS + ('kwok', 'kube-scheduler', 'kube-controller-manager', 'vcluster-apiserver', 'kube-apiserver', 'etcd', 'esxi', 'vcenter')
COMPONENT_PORT = {'vcenter': 'vcenter', 'esxi': 'esxi', 'etcd': 'etcd', 'kube-apiserver': 'apiserver',
                  'vcluster-apiserver': 'vapiserver', 'kube-controller-manager': 'kcm', 'kube-scheduler': 'scheduler', 'kwok': 'kwok'}


class Testbed:
    def __init__(self):
        self.state = os.environ.get('GHOST_TESTBED_DIR') or os.path.join(COLLECTION, '.testbed')
        self.cache = os.environ.get('GHOST_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'ghost-infra')
        self.bin = os.path.join(self.cache, 'bin')
        self.ports = {k: int(os.environ.get('GHOST_TESTBED_PORT_' + k.upper(), v)) for k, v in DEFAULT_PORTS.items()}
        self.procs = Procs(os.path.join(self.state, 'run'), os.path.join(self.state, 'logs'))
        self.pool_dir = os.path.join(self.state, 'pool')
        self.env_file = os.path.join(self.state, 'env.sh')
        self.kube = kube.Kube(self.state, self.bin, self.ports, kwok_stages=os.path.join(self.cache, 'kwok-stages'))
        self.chart_dir = os.path.join(self.cache, 'vcluster-chart')
        self.debs = debs.Debs(self.cache)
        self.values_file = os.path.join(HERE, 'manifests', 'vcluster-values.yaml')
        self.base_image = None
        self.domain_type = None
        self.progress = Progress()

    # --- helpers ------------------------------------------------------------------------------------

    def tool_env(self):
        """Environment for the CLIs we run: the cache's bin first, admin kubeconfig."""
        return dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get('PATH', ''), KUBECONFIG=self.kube.admin_kubeconfig,
                    GHOST_CACHE=self.cache, VCLUSTER_SKIP_VERSION_CHECK='true')

    def kubectl(self, *args, stdin=None, check=True):
        result = subprocess.run([os.path.join(self.bin, 'kubectl'), '--kubeconfig', self.kube.admin_kubeconfig] + list(args),
                                input=stdin, capture_output=True, text=True, env=self.tool_env(), timeout=120, check=False)
        if check and result.returncode != 0:
            raise TestbedError('kubectl %s: %s' % (' '.join(args), (result.stderr or result.stdout).strip()), component='kubernetes')
        return result.stdout

    def password(self):
        """The simulators' password: generated once, kept in .testbed (0600)."""
        path = os.path.join(self.state, 'vsphere-password')
        try:
            with open(path) as f:
                value = f.read().strip()
            if value:
                return value
        except OSError:
            pass
        value = secrets.token_urlsafe(18)
        write_private(path, value + '\n')
        return value

    def ready_file(self, name):
        return os.path.join(self.procs.run_dir, name + '.ready')

    def versions(self):
        """tests/testbed/versions.env as a dict (KEY=value lines)."""
        out = {}
        try:
            with open(os.path.join(HERE, 'versions.env')) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith('#') and '=' in line:
                        k, v = line.split('=', 1)
                        out[k.strip()] = shlex.split(v)[0] if v.strip() else ''
        except OSError:
            pass
        return out

    # --- daemons ------------------------------------------------------------------------------------

    def argv(self, name):
        if name in ('vcenter', 'esxi'):
            return vsphere.argv(os.path.join(self.bin, 'vcsim'), self.ports[name], self.password(), esx=name == 'esxi')
        if name == 'kubevirt-standin':
            return [sys.executable, '-m', __package__ + '.kubevirt_standin', '--kubeconfig', self.kube.admin_kubeconfig,
                    '--ready-file', self.ready_file(name)]
        if name == 'vcluster-standin':
            # Client certificates signed by the testbed CA, which the virtual API server accepts.
            return [sys.executable, '-m', __package__ + '.vcluster_standin', '--kubeconfig', self.kube.admin_kubeconfig,
                    '--virtual-kubeconfig', self.kube.virtual_kubeconfig, '--ca-cert', self.kube.path('ca.crt'),
                    '--ca-key', self.kube.path('ca.key'), '--ready-file', self.ready_file(name)]
        return self.kube.argv(name)

    def env(self, name):
        """A daemon's environment: the tools' one; the stand-ins also find this package."""
        env = self.tool_env()
        if name in STANDINS:
            env['PYTHONPATH'] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get('PYTHONPATH')) if p)
        return env

    def ensure_started(self, name):
        """Start ``name`` unless its pid file names a live process. True if started now."""
        if self.procs.pid(name):
            return False
        port = COMPONENT_PORT.get(name)
        if port and port_open(self.ports[port]):
            raise TestbedError('port 127.0.0.1:%d is taken by a process this testbed did not start (set GHOST_TESTBED_PORT_%s)'
                               % (self.ports[port], port.upper()), component=name)
        if name in STANDINS:
            try:
                os.unlink(self.ready_file(name))
            except FileNotFoundError:
                pass
        pid = self.procs.start(name, self.argv(name), env=self.env(name), cwd=self.state)
        self.progress.say('%s: started (pid %d)' % (name, pid))
        return True

    def health(self, name):
        """(healthy, detail)."""
        if name in ('vcenter', 'esxi'):
            about = vsphere.about(self.ports[name])
            return (True, about) if about else (False, 'no answer on /sdk')
        if name in STANDINS:
            return os.path.exists(self.ready_file(name)), 'watching'
        return self.kube.health(name)

    def address(self, name):
        if name in ('vcenter', 'esxi'):
            return 'https://127.0.0.1:%d/sdk' % self.ports[name]
        if name in STANDINS:
            return '-'
        return self.kube.address(name)

    def wait_healthy(self, name, timeout):
        restarted = []
        self.progress.doing('%s: waiting until healthy' % name, quiet=True)

        def check():
            # started_pid, not pid: a daemon just started has been seen running (and holding its
            # port) while its command line did not match; a second one would find the port taken.
            if not self.procs.started_pid(name):
                # Seen once in CI: a freshly started daemon gone with nothing in its log. Start it
                # once more and say so; a second exit is a real failure.
                if restarted:
                    raise TestbedError('%s exited' % name, component=name, log=self.procs.log_file(name))
                print('testbed: %s exited right after start; starting it again' % name, file=sys.stderr)
                restarted.append(name)
                self.ensure_started(name)
                return False
            healthy, detail = self.health(name)
            return healthy and (detail or 'ok')
        try:
            detail = wait_for(name, check, timeout)
        except TestbedError as exc:
            if exc.component:
                raise
            raise TestbedError('%s (last: %s)' % (exc, self.health(name)[1]), component=name, log=self.procs.log_file(name))
        self.progress.say('%s: healthy (%s)' % (name, detail))

    # --- up -----------------------------------------------------------------------------------------

    def up(self):
        os.makedirs(self.state, exist_ok=True)
        self.progress.say('up: state in %s, build cache in %s' % (self.state, self.cache))
        snapshot, taken = listeners.take(self.state)
        if taken:
            self.progress.say('listeners: %d beyond loopback before up (%s)' % (len(snapshot['listeners']), listeners.snapshot_path(self.state)))
        with self.progress.heartbeat():
            binaries.ensure(self.cache, log=self.procs.log_file('build'), progress=self.progress)
            self.debs.ensure(self.progress)
            self.kube.prepare()
            fresh = set()
            self.progress.doing('libvirt: starting virtlogd, libvirtd', quiet=True)
            libvirt_started = libvirt_host.start_daemons(self.procs)
            if libvirt_started:
                self.progress.say('libvirt: started virtlogd, libvirtd')
            for name in ('vcenter', 'esxi', 'etcd', 'kube-apiserver', 'vcluster-apiserver'):
                if self.ensure_started(name):
                    fresh.add(name)
            self.wait_healthy('etcd', 30)
            self.wait_healthy('kube-apiserver', 90)
            self.apply_manifests()
            # These retry until the API answers, but start them once it does so none gives up early.
            for name in ('kube-controller-manager', 'kube-scheduler', 'kwok') + STANDINS:
                if self.ensure_started(name):
                    fresh.add(name)
            self.setup_libvirt(force_probe=libvirt_started)
            for name in ('vcenter', 'esxi', 'vcluster-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok') + STANDINS:
                self.wait_healthy(name, 60)
            self.wait_node_ready()
            self.wait_default_service_account()
            self.disable_vcluster_telemetry()
            self.write_env()
        self.progress.say('up: %d started, all healthy; source %s' % (len(fresh) + int(libvirt_started), self.env_file))

    def build(self):
        """What ``up`` builds (the Go daemons) and the real guests' image, starting nothing.

        .ci/run starts it in the background once mmdebstrap is installed, for the image: its Go
        builds already run under the build cache's lock, so this waits on that lock as ``up``
        does. The real-guest tests wait on the image's own lock.
        """
        os.makedirs(self.procs.log_dir, exist_ok=True)
        self.progress.say('build: Go daemons into %s, guest image beside them' % self.cache)
        started = time.monotonic()
        image_log = self.procs.log_file('guest-image')
        with open(image_log, 'ab') as out:
            image = subprocess.Popen(['bash', os.path.join(HERE, 'guest_image.sh')], stdout=subprocess.DEVNULL,
                                     stderr=out, env=dict(os.environ, GHOST_CACHE=self.cache))
        try:
            with self.progress.heartbeat():
                binaries.ensure(self.cache, log=self.procs.log_file('build'), progress=self.progress)
                self.progress.doing('guest image: building (tests/testbed/guest_image.sh)', quiet=True)
                code = image.wait()
        finally:
            if image.poll() is None:
                image.terminate()
                image.wait()
        if code != 0:
            raise TestbedError('guest_image.sh exited with %d' % code, component='guest image', log=image_log)
        self.progress.say('build: done in %.0fs (guest image log: %s)' % (time.monotonic() - started, image_log))

    def apply_manifests(self):
        self.progress.doing('kubernetes: applying node %s, namespace kubevirt, KubeVirt CRDs' % kube.NODE_NAME)
        docs = yaml.safe_dump_all([kube.node_manifest(),
                                   {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'kubevirt'}}])
        with open(os.path.join(HERE, 'manifests', 'kubevirt-crds.yaml')) as f:
            docs += '---\n' + f.read()
        self.kubectl('apply', '--server-side', '--force-conflicts', '--field-manager', 'ghost-testbed', '-f', '-', stdin=docs)
        # Apply leaves an existing node's status alone; its resources may be from an older testbed.
        self.kubectl('patch', 'node', kube.NODE_NAME, '--subresource', 'status', '--type', 'merge',
                     '-p', json.dumps({'status': {'capacity': kube.NODE_RESOURCES, 'allocatable': kube.NODE_RESOURCES}}))
        self.kubectl('wait', '--for', 'condition=Established', '--timeout', '60s', 'crd', '-l', 'app.kubernetes.io/part-of=ghost-testbed')

    def wait_node_ready(self):
        self.progress.doing('node %s: waiting until Ready' % kube.NODE_NAME, quiet=True)

        def ready():
            out = self.kubectl('get', 'node', kube.NODE_NAME, '-o', "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
            return out.strip() == 'True'
        try:
            wait_for('node %s Ready' % kube.NODE_NAME, ready, 60, interval=0.5)
        except TestbedError as exc:
            raise TestbedError(str(exc), component='kwok', log=self.procs.log_file('kwok'))
        self.progress.say('node %s: Ready' % kube.NODE_NAME)

    def wait_default_service_account(self):
        # Pods are refused until the controller-manager created the namespace's default ServiceAccount.
        self.progress.doing('ServiceAccount default/default: waiting until created', quiet=True)

        def exists():
            return self.kubectl('get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name', check=False).strip()
        try:
            wait_for('ServiceAccount default/default', exists, 60, interval=0.5)
        except TestbedError as exc:
            raise TestbedError(str(exc), component='kube-controller-manager', log=self.procs.log_file('kube-controller-manager'))

    def disable_vcluster_telemetry(self):
        """The vcluster CLI reports usage unless its config (~/.vcluster/config.json) says no."""
        path = os.path.join(os.path.expanduser('~'), '.vcluster', 'config.json')
        try:
            with open(path) as f:
                if json.load(f).get('telemetryDisabled'):
                    return
        except (OSError, ValueError):
            pass
        result = subprocess.run([os.path.join(self.bin, 'vcluster'), 'telemetry', 'disable'], capture_output=True, text=True,
                                env=self.tool_env(), timeout=60, check=False)
        if result.returncode != 0:
            raise TestbedError('vcluster telemetry disable: %s' % (result.stderr or result.stdout).strip(), component='vcluster')

    def setup_libvirt(self, force_probe):
        self.progress.doing('libvirt: pool %s, base image, KVM probe' % libvirt_host.pool_name(self.pool_dir), quiet=True)
        libvirt_host.wait_ready(self.procs)
        try:
            libvirt_host.ensure_pool(self.pool_dir)
            self.base_image = libvirt_host.ensure_base_image(self.pool_dir)
            self.domain_type = libvirt_host.probe_domain_type(os.path.join(self.state, 'kvm-domain-type'), force=force_probe)
        except Exception as exc:  # pylint: disable=broad-except
            raise TestbedError('libvirt setup failed: %s' % exc, component='libvirt', log=self.procs.log_file('libvirtd'))
        self.progress.say('libvirt: healthy (pool %s, domain type %s)' % (libvirt_host.pool_name(self.pool_dir), self.domain_type))

    def write_env(self):
        versions = self.versions()
        # env.sh outlives a staged copy of the checkout (tools/in-stage removes it): the values
        # file it names lives in the state folder.
        values = os.path.join(self.state, os.path.basename(self.values_file))
        shutil.copyfile(self.values_file, values + '.tmp')
        os.replace(values + '.tmp', values)
        env = [
            ('GHOST_TESTBED_DIR', self.state),
            ('VMWARE_HOST', '127.0.0.1'), ('VMWARE_PORT', str(self.ports['vcenter'])),
            ('VMWARE_USER', vsphere.USER), ('VMWARE_PASSWORD', self.password()), ('VMWARE_VALIDATE_CERTS', 'false'),
            ('GHOST_ESXI_HOST', '127.0.0.1'), ('GHOST_ESXI_PORT', str(self.ports['esxi'])),
            ('GHOST_VSPHERE_TEMPLATE', vsphere.TEMPLATE),
            ('LIBVIRT_DEFAULT_URI', libvirt_host.URI), ('GHOST_LIBVIRT_POOL', libvirt_host.pool_name(self.pool_dir)),
            ('GHOST_LIBVIRT_POOL_DIR', self.pool_dir), ('GHOST_BASE_IMAGE', self.base_image),
            ('GHOST_LIBVIRT_DOMAIN_TYPE', self.domain_type),
            # KVM here starts a domain without an OS, but a Linux kernel hits a KVM emulation failure: TCG.
            ('GHOST_LIBVIRT_GUEST_DOMAIN_TYPE', 'qemu'),
            ('K8S_AUTH_KUBECONFIG', self.kube.admin_kubeconfig), ('KUBECONFIG', self.kube.admin_kubeconfig),
            ('GHOST_K8S_NODE', kube.NODE_NAME),
            ('GHOST_VCLUSTER_API', self.kube.server(virtual=True)),
            ('GHOST_CACHE', self.cache),
            # Unpacked from Debian packages into the cache, never installed (debs.py).
            ('GHOST_SSHD', self.debs.sshd), ('GHOST_SFTP_SERVER', self.debs.sftp_server),
            ('GHOST_CLOUDINIT_PYTHONPATH', self.debs.cloudinit_path),
            ('GHOST_VCLUSTER_CHART_DIR', self.chart_dir), ('GHOST_VCLUSTER_VALUES', values),
        ]
        env += [('GHOST_VERSION_' + k.upper().replace('_VERSION', ''), v) for k, v in sorted(versions.items()) if k.endswith('_VERSION')]
        lines = ['# Written by `python -m testbed up` (tests/testbed); source it to reach the testbed.']
        lines += ['export %s=%s' % (k, shlex.quote(v)) for k, v in env]
        lines.append('export VCLUSTER_SKIP_VERSION_CHECK=true  # no update check against GitHub')
        lines.append('case ":$PATH:" in *:%s:*) ;; *) export PATH=%s:"$PATH" ;; esac' % (shlex.quote(self.bin), shlex.quote(self.bin)))
        write_private(self.env_file, '\n'.join(lines) + '\n')

    # --- status / down ------------------------------------------------------------------------------

    def status(self):
        """Print one line per component; True when all run. The last line sums resident memory."""
        rows, total = [], 0.0
        pid = self.procs.pid('libvirtd')
        if libvirt_host.daemon_up():
            rss = sum(rss_mib(p) for p in (pid, self.procs.pid('virtlogd')) if p)
            total += rss
            rows.append(('libvirt', 'running', libvirt_host.URI, '%s%s' % (libvirt_host.versions(), ', %.0f MiB' % rss if pid else ' (not ours)')))
        else:
            rows.append(('libvirt', 'stopped', libvirt_host.URI, ''))
        for name in ('vcenter', 'esxi') + KUBE_DAEMONS + STANDINS:
            pid = self.procs.pid(name)
            if pid is None:
                rows.append((name, 'stopped', self.address(name), ''))
                continue
            ok, detail = self.health(name)
            total += rss_mib(pid)
            rows.append((name, 'running' if ok else 'unhealthy', self.address(name), '%s (pid %s, %.0f MiB)' % (detail, pid, rss_mib(pid))))
        for tool, args in (('helm', ['version', '--short']), ('vcluster', ['--version']), ('kubectl', ['version', '--client'])):
            path = os.path.join(self.bin, tool)
            if os.access(path, os.X_OK):
                out = subprocess.run([path] + args, capture_output=True, text=True, env=self.tool_env(), timeout=30, check=False).stdout.strip()
                rows.append((tool, 'installed', path, out.splitlines()[0] if out else '?'))
            else:
                rows.append((tool, 'missing', path, ''))
        for label, package, path in (('sshd', 'openssh-server', self.debs.sshd), ('cloud-init', 'cloud-init', self.debs.cloudinit_path)):
            version = self.debs.unpacked_version(package)
            rows.append((label, 'unpacked' if version and os.path.exists(path) else 'missing', path,
                         'from %s %s' % (package, version) if version else ''))
        width = max(len(r[0]) for r in rows)
        for name, state, addr, detail in rows:
            print('%s  %-9s  %-34s  %s' % (name.ljust(width), state, addr, detail))
        print('%s  %.0f MiB resident' % ('total'.ljust(width), total))
        return all(r[1] in ('running', 'installed', 'unpacked') for r in rows)

    def down(self, purge=False):
        if purge and libvirt_host.daemon_up() and libvirt_host.remove_pool(self.pool_dir):
            print('undefined libvirt pool %s' % libvirt_host.pool_name(self.pool_dir))
        for name in ALL_DAEMONS:
            started = time.monotonic()
            # An API server's graceful exit waits up to a minute for open watches; it keeps no state.
            if self.procs.stop(name, timeout=5 if name.endswith('apiserver') else 15):
                print('stopped %s (%.1fs)' % (name, time.monotonic() - started))
        for name in STANDINS:
            try:
                os.unlink(self.ready_file(name))
            except FileNotFoundError:
                pass
        if libvirt_host.stop_daemons(self.procs):
            print('stopped libvirtd, virtlogd')
        left = [n for n in ALL_DAEMONS + ('libvirtd', 'virtlogd') if self.procs.pid(n)]
        if left:
            raise TestbedError('still running: %s' % ', '.join(left), component='down')
        for line in listeners.forget(self.state):
            print('listeners: %s' % line)
        if purge:
            if libvirt_host.undo_host_setup():
                print('removed the testbed\'s lines from %s' % libvirt_host.QEMU_CONF)
            shutil.rmtree(self.state, ignore_errors=True)
            print('removed %s' % self.state)
            if self.debs.remove_privsep_user():
                print('removed the system user %s the testbed created for sshd' % debs.PRIVSEP_USER)
