# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Process bookkeeping for the testbed: pid files, logs, start, stop, waits.

A daemon is known only through its pid file under ``.testbed/run``; it counts as running when
that pid is alive and its command line still names the executable we started (so a reused pid
after a reboot is not mistaken for ours). Nothing here ever looks processes up by name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request


def _masked(argv):
    """``argv`` with the value after a password or token option replaced by ********."""
    out, hide = [], False
    for arg in argv:
        out.append('********' if hide else arg)
        hide = arg.lstrip('-') in ('password', 'token', 'pass')
    return out


class TestbedError(Exception):
    """A component failed; ``component`` names it and ``log`` points at its log file."""

    def __init__(self, msg, *, component=None, log=None):
        super(TestbedError, self).__init__(msg)
        self.component = component
        self.log = log


def tail(path, lines=30):
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read().decode('utf-8', 'replace')
    except OSError:
        return '(no log at %s)' % path
    return '\n'.join(data.splitlines()[-lines:])


def write_private(path, data):
    """Write a file readable by its owner only, atomically."""
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w' if isinstance(data, str) else 'wb') as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Procs:
    """Pid files in ``run_dir``, logs in ``log_dir``."""

    def __init__(self, run_dir, log_dir):
        self.run_dir = run_dir
        self.log_dir = log_dir
        os.makedirs(run_dir, exist_ok=True)
        os.makedirs(log_dir, exist_ok=True)

    def pid_file(self, name):
        return os.path.join(self.run_dir, name + '.pid')

    def log_file(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def _recorded(self, name):
        try:
            with open(self.pid_file(name)) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pid(self, name):
        """The live pid recorded for ``name``, or None."""
        pid = self._recorded(name)
        return pid if pid and pid_alive(pid, self._marker(name)) else None

    def started_pid(self, name):
        """The pid recorded for ``name`` if that process still runs, whatever its command line.

        pid() also wants the program in /proc/<pid>/cmdline; a daemon just started has been
        seen to fail that check while it ran (and held its port), so a restart must not rely on
        it alone."""
        pid = self._recorded(name)
        return pid if pid and pid_alive(pid) else None

    def _marker(self, name):
        try:
            with open(self.pid_file(name) + '.cmd') as f:
                return f.read().strip() or None
        except OSError:
            return None

    def record(self, name, pid, marker):
        """Remember ``pid`` for ``name``; ``marker`` is an argument its command line must contain."""
        with open(self.pid_file(name), 'w') as f:
            f.write('%d\n' % pid)
        with open(self.pid_file(name) + '.cmd', 'w') as f:
            f.write(marker + '\n')

    def forget(self, name):
        for path in (self.pid_file(name), self.pid_file(name) + '.cmd'):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def start(self, name, argv, env=None, cwd=None):
        """Start ``argv`` detached (own session, log file, no inherited fds); return its pid."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        # Logs may hold what daemons print about their credentials: owner-only, and the
        # command line is written with option values after -password/--token masked.
        fd = os.open(self.log_file(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, 'ab') as log:
            log.write(('\n==== %s start: %s\n' % (time.strftime('%Y-%m-%d %H:%M:%S'), ' '.join(_masked(argv)))).encode())
            log.flush()
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        env=full_env, cwd=cwd, start_new_session=True, close_fds=True)
            except OSError as exc:
                raise TestbedError('cannot run %s: %s' % (argv[0], exc), component=name, log=self.log_file(name))
        self.record(name, proc.pid, _marker(argv))
        return proc.pid

    def stop(self, name, timeout=15):
        """Stop the process group led by the recorded pid: TERM, then KILL. True if one ran."""
        pid = self.pid(name)
        if pid is None:
            self.forget(name)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if pid_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.1)
        # Children of a group leader (e.g. helper processes) get the KILL too.
        _signal_group(pid, signal.SIGKILL)
        self.forget(name)
        return True


def _marker(argv):
    """The argument that tells our process from another: the program, or for the Python
    interpreter the script or the ``-m`` module it runs."""
    if argv[0] != sys.executable or len(argv) < 2:
        return argv[0]
    return argv[2] if argv[1] == '-m' and len(argv) > 2 else argv[1]


def rss_mib(pid):
    """Resident memory of ``pid`` in MiB (0 when it is gone)."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _signal_group(pid, sig):
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def pid_alive(pid, marker=None):
    """True when ``pid`` runs (not a zombie) and, given ``marker``, its command line has that argument."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        if state in ('Z', 'X'):
            _reap(pid)
            return False
        if marker:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                return marker in f.read().decode('utf-8', 'replace').split('\0')
        return True
    except (OSError, IndexError):
        return False


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def insecure_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def http_get(url, token=None, ctx=None, timeout=3):
    """GET ``url``; return (status, body text). Connection errors raise OSError."""
    req = urllib.request.Request(url)
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            return resp.status, resp.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode('utf-8', 'replace')


def wait_for(what, check, timeout, interval=0.25):
    """Poll ``check()`` until it returns a true value; raise TestbedError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result = check()
            if result:
                return result
        except TestbedError:
            raise  # a definite failure (say the process exited): no point in waiting longer
        except Exception as exc:  # pylint: disable=broad-except
            last = exc
        if time.monotonic() > deadline:
            raise TestbedError('%s not ready after %ds%s' % (what, timeout, ': %s' % last if last else ''))
        time.sleep(interval)
