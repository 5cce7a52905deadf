# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd and cloud-init for the tests, unpacked from Debian packages into the build cache.

Installed, openssh-server starts a system sshd on port 22 and cloud-init enables its boot-time
units. The tests need neither: only the sshd binary (a private server on 127.0.0.1) and
cloud-init's Python package (its parsers, run by the system Python). So ``up`` fetches the two
packages with ``apt-get download`` and unpacks them with ``dpkg -x`` into
``$GHOST_CACHE/debs/<package>/``: no maintainer script runs, dpkg does not list them, nothing is
enabled or started. What they need at run time is libraries only, listed in bindep.txt (sshd's
shared libraries, cloud-init's Python dependencies), and checked here after every ``up``.

The version is apt's candidate; a package is fetched again when the candidate changes (a
security update), and the copy already unpacked is kept when that fetch fails (offline).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import time

from .procs import TestbedError

SYSTEM_PYTHON = '/usr/bin/python3'
SSHD = 'usr/sbin/sshd'
# OpenSSH >= 9.8 runs each connection in sshd-session (>= 10.0 also sshd-auth) at a path built
# into sshd: with an unpacked copy those options must point at the copy.
SSHD_HELPERS = (('SshdSessionPath', 'usr/lib/openssh/sshd-session'), ('SshdAuthPath', 'usr/lib/openssh/sshd-auth'))
CLOUDINIT_DIR = 'usr/lib/python3/dist-packages'
# What the tests import from cloud-init (tests/integration/cloud_init, the esxi_vm target's helper).
CLOUDINIT_MODULES = ('cloudinit.sources.DataSourceVMware', 'cloudinit.sources.DataSourceNoCloud', 'cloudinit.config.schema',
                     'cloudinit.net.netplan', 'cloudinit.net.network_state', 'cloudinit.version')
# openssh-sftp-server: the sftp-server an unpacked sshd runs for Ansible's file transfers.
PACKAGES = ('openssh-server', 'openssh-sftp-server', 'cloud-init')
SFTP_SERVER = 'usr/lib/openssh/sftp-server'
# sshd started as root drops privileges to this user; openssh-server's postinst creates it,
# `dpkg -x` does not ("Privilege separation user sshd does not exist").
PRIVSEP_USER = 'sshd'
PRIVSEP_DIR = '/run/sshd'
PRIVSEP_MARK = '.privsep-user-created'
APT_LISTS = '/var/lib/apt/lists'
CANDIDATE = re.compile(r'^\s*Candidate:\s*(\S+)', re.M)


class Debs:
    """The unpacked packages under ``<cache>/debs``: ``ensure()`` them, then ``sshd`` and ``cloudinit_path``."""

    def __init__(self, cache):
        self.dir = os.path.join(cache, 'debs')
        self.sshd = os.path.join(self.root('openssh-server'), SSHD)
        self.cloudinit_path = os.path.join(self.root('cloud-init'), CLOUDINIT_DIR)
        self.sftp_server = os.path.join(self.root('openssh-sftp-server'), SFTP_SERVER)

    def root(self, package):
        return os.path.join(self.dir, package)

    def stamp(self, package):
        return os.path.join(self.dir, '.%s.stamp' % package)

    def unpacked_version(self, package):
        try:
            with open(self.stamp(package)) as f:
                return f.read().strip() or None
        except OSError:
            return None

    def ensure(self, progress):
        """Fetch and unpack what is missing or stale, then check that both run here."""
        started = time.monotonic()
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, '.lock'), 'w') as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                progress.doing('debs: waiting for another testbed unpacking into %s' % self.dir)
                fcntl.flock(lock, fcntl.LOCK_EX)
            # apt's candidates change only when its lists do: skip apt-cache (seconds) until then.
            lists = lists_signature()
            if not (lists and self.recorded_lists() == lists and all(self.unpacked_version(p) for p in PACKAGES)):
                versions = candidates(PACKAGES)
                for package in PACKAGES:
                    self.ensure_one(package, versions[package], progress)
                if lists and all(self.unpacked_version(p) == versions[p] for p in PACKAGES):
                    with open(os.path.join(self.dir, '.apt-lists'), 'w') as f:
                        f.write(lists + '\n')
        self.sshd = self.sshd_command()
        self.ensure_privsep_user(progress)
        ssh_version = self.check_sshd()
        cloudinit_version = self.check_cloudinit()
        progress.say('debs: %s and cloud-init %s run from %s (packages %s; %.1fs)'
                     % (ssh_version, cloudinit_version, self.dir,
                        ', '.join('%s %s' % (p, self.unpacked_version(p)) for p in PACKAGES), time.monotonic() - started))

    def recorded_lists(self):
        try:
            with open(os.path.join(self.dir, '.apt-lists')) as f:
                return f.read().strip()
        except OSError:
            return None

    def ensure_one(self, package, want, progress):
        """Unpack version ``want`` (apt's candidate) of ``package`` unless it is there already."""
        have = self.unpacked_version(package)
        if have and not os.path.isdir(self.root(package)):
            have = None
        if want is None:
            if have:
                progress.say('debs: apt knows no candidate for %s; keeping %s' % (package, have))
                return
            raise TestbedError('apt knows no version of %s to download: run `apt-get update` (tools/install-system-packages '
                               'does when it installs something) and try again' % package, component='debs')
        if have == want:
            return
        progress.doing('debs: %s %s: apt-get download, dpkg -x' % (package, want))
        try:
            self.fetch(package, want)
        except TestbedError as exc:
            if not have:
                raise
            progress.say('debs: %s %s not fetched (%s); keeping %s' % (package, want, exc, have))
            return
        finally:
            progress.doing(None)
        progress.say('debs: %s %s unpacked into %s' % (package, want, self.root(package)))

    def fetch(self, package, version):
        work = tempfile.mkdtemp(prefix='.fetch-%s.' % package, dir=self.dir)
        try:
            # apt-get download writes into the current directory; as root it warns that its
            # sandbox user cannot write there, which is harmless.
            result = subprocess.run(['apt-get', 'download', '-q', '%s=%s' % (package, version)], cwd=work, capture_output=True,
                                    text=True, timeout=600, check=False)
            debs = [n for n in os.listdir(work) if n.endswith('.deb')]
            if result.returncode != 0 or len(debs) != 1:
                raise TestbedError('apt-get download %s=%s: %s' % (package, version, (result.stderr or result.stdout).strip()[-500:]),
                                   component='debs')
            tree = os.path.join(work, 'root')
            result = subprocess.run(['dpkg', '-x', os.path.join(work, debs[0]), tree], capture_output=True, text=True, timeout=300,
                                    check=False)
            if result.returncode != 0:
                raise TestbedError('dpkg -x %s: %s' % (debs[0], result.stderr.strip()[-500:]), component='debs')
            shutil.rmtree(self.root(package), ignore_errors=True)
            os.replace(tree, self.root(package))
            with open(self.stamp(package), 'w') as f:
                f.write(version + '\n')
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def ensure_privsep_user(self, progress):
        """Create sshd's privilege separation user when running as root and it is missing (a
        system user without home or shell, as the package's postinst makes it); recorded, so
        ``remove_privsep_user()`` (``down --purge``, ``make clean-all``) deletes only what it made.
        Also its directory, which the package's tmpfiles.d entry would make: /run is empty after
        a reboot, and sshd run as root refuses to start without it."""
        if os.geteuid() != 0:
            return
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        try:
            pwd.getpwnam(PRIVSEP_USER)
            return
        except KeyError:
            pass
        result = subprocess.run(['useradd', '--system', '--no-create-home', '--home-dir', PRIVSEP_DIR,
                                 '--shell', '/usr/sbin/nologin', '--comment', 'sshd privilege separation (ghost.infra testbed)',
                                 PRIVSEP_USER], capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise TestbedError('useradd %s: %s' % (PRIVSEP_USER, result.stderr.strip()[-500:]), component='debs')
        with open(os.path.join(self.dir, PRIVSEP_MARK), 'w') as f:
            f.write(PRIVSEP_USER + '\n')
        progress.say('debs: created the system user %s (sshd\'s privilege separation user; make clean-all removes it)'
                     % PRIVSEP_USER)

    def remove_privsep_user(self):
        """Delete the user ensure_privsep_user() created; True when it did."""
        mark = os.path.join(self.dir, PRIVSEP_MARK)
        if not os.path.exists(mark):
            return False
        subprocess.run(['userdel', PRIVSEP_USER], capture_output=True, timeout=60, check=False)
        os.unlink(mark)
        return True

    def sshd_command(self):
        """The path tests run as sshd: the binary, or a wrapper naming its unpacked helpers."""
        root = self.root('openssh-server')
        binary = os.path.join(root, SSHD)
        options = ['-o %s' % shlex.quote('%s=%s' % (opt, os.path.join(root, rel))) for opt, rel in SSHD_HELPERS if os.path.exists(os.path.join(root, rel))]
        if not options:
            return binary
        wrapper = os.path.join(self.dir, 'sshd')
        text = '#!/bin/sh\n# Written by the testbed (debs.py): sshd with its unpacked helpers.\nexec %s %s "$@"\n' % (shlex.quote(binary), ' '.join(options))
        tmp = wrapper + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, wrapper)
        return wrapper

    def check_sshd(self):
        """sshd's version; fails naming the shared libraries it lacks."""
        binary = os.path.join(self.root('openssh-server'), SSHD)
        result = subprocess.run([binary, '-V'], capture_output=True, text=True, timeout=30, check=False)
        out = (result.stderr or result.stdout).strip()
        if result.returncode == 0 and out.startswith('OpenSSH'):
            return out.split(',')[0]
        ldd = subprocess.run(['ldd', binary], capture_output=True, text=True, timeout=30, check=False).stdout
        missing = [line.split()[0] for line in ldd.splitlines() if 'not found' in line]
        if missing:
            raise TestbedError('the unpacked sshd needs shared libraries that are not installed: %s (bindep.txt lists the packages: '
                               'tools/install-system-packages)' % ', '.join(missing), component='debs')
        raise TestbedError('%s -V failed (exit %d): %s' % (binary, result.returncode, out[-500:]), component='debs')

    def check_cloudinit(self):
        """cloud-init's version, as the system Python imports the unpacked package."""
        code = ('import sys; sys.path.insert(0, sys.argv[1]); import importlib\n'
                'for name in sys.argv[2:]: importlib.import_module(name)\n'
                'import cloudinit, cloudinit.version\n'
                'assert cloudinit.__file__.startswith(sys.argv[1] + "/"), cloudinit.__file__\n'
                'print(cloudinit.version.version_string())')
        if not os.access(SYSTEM_PYTHON, os.X_OK):
            raise TestbedError('%s is missing: cloud-init runs on the system Python (package python3)' % SYSTEM_PYTHON, component='debs')
        result = subprocess.run([SYSTEM_PYTHON, '-I', '-c', code, self.cloudinit_path] + list(CLOUDINIT_MODULES), capture_output=True,
                                text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise TestbedError('%s cannot import the unpacked cloud-init from %s (bindep.txt lists its Python libraries: '
                               'tools/install-system-packages): %s' % (SYSTEM_PYTHON, self.cloudinit_path, result.stderr.strip()[-800:]),
                               component='debs')
        return result.stdout.strip()


def lists_signature(path=APT_LISTS):
    """When apt's package lists last changed (``apt-get update`` replaces files there), or None."""
    try:
        return str(os.stat(path).st_mtime_ns)
    except OSError:
        return None


def candidates(packages):
    """{package: apt's candidate version or None}, from the local lists (no network); one
    apt-cache run, which takes a second where apt keeps no binary cache."""
    try:
        out = subprocess.run(['apt-cache', 'policy'] + list(packages), capture_output=True, text=True, timeout=60, check=False).stdout
    except OSError as exc:
        raise TestbedError('apt-cache is needed to fetch %s: %s' % (', '.join(packages), exc), component='debs')
    found = {}
    for section in re.split(r'^(?=\S)', out, flags=re.M):
        name = section.split(':', 1)[0].strip()
        match = CANDIDATE.search(section)
        if name in packages and match and match.group(1) != '(none)':
            found[name] = match.group(1)
    return {p: found.get(p) for p in packages}
