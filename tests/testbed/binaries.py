# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Go-built daemons and CLIs in the build cache: run build/build.sh, report its progress.

build.sh announces each component as ``[N/M] NAME VERSION: checking``, ``...: building`` (only
when its stamp is stale) and ``...: built in 41.2s`` or ``...: up to date (0.1s)``. Its whole
output goes to the build log; on the terminal a warm cache is one summary line, and a cold one
a line per component built, plus the heartbeat during long builds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import re
import subprocess
import time

from .procs import TestbedError

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'build', 'build.sh')
BINARIES = ('vcsim', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kwok', 'helm', 'vcluster')
LINE = re.compile(r'^\[(\d+)/(\d+)\] (.+?): (checking|building|built|up to date)(.*)$')


def ensure(cache, *, log, progress):
    """Run build.sh (a quick no-op when the cache is current), then check the binaries are there.

    GHOST_TESTBED_SKIP_BUILD=1 uses the cache as it is (e.g. while another build runs).
    """
    if os.environ.get('GHOST_TESTBED_SKIP_BUILD') != '1':
        build(cache, log=log, progress=progress)
    bin_dir = os.path.join(cache, 'bin')
    missing = [b for b in BINARIES if not os.access(os.path.join(bin_dir, b), os.X_OK)]
    if missing:
        raise TestbedError('missing in %s: %s' % (bin_dir, ', '.join(missing)), component='build', log=log)


def build(cache, *, log, progress):
    started = time.monotonic()
    counts = {'built': 0, 'up to date': 0}
    os.makedirs(cache, exist_ok=True)
    # build.sh reuses fixed work dirs in the cache: testbeds of two checkouts build in turn.
    with open(os.path.join(cache, '.build.lock'), 'w') as lock, open(log, 'ab') as out:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress.doing('build: waiting for the build of another testbed using %s' % cache)
            fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.Popen(['bash', SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, GHOST_CACHE=cache))
        with proc.stdout:
            for raw in proc.stdout:
                out.write(raw)
                out.flush()
                report(raw.decode('utf-8', 'replace').rstrip('\n'), progress, counts)
        code = proc.wait()
    progress.doing(None)
    if code != 0:
        # build.sh has shown the tail of the failing step's log already.
        raise TestbedError('build.sh exited with %d (its output is above and in %s)' % (code, log), component='build')
    took = time.monotonic() - started
    if counts['built']:
        progress.say('build: %d built, %d up to date, in %.0fs' % (counts['built'], counts['up to date'], took))
    else:
        progress.say('build: %d of %d up to date (%.1fs)' % (counts['up to date'], sum(counts.values()), took))


def report(line, progress, counts):
    """Turn one line of build.sh into progress; lines of no known shape (errors) are shown as they are."""
    match = LINE.match(line)
    if not match:
        progress.say(line)
        return
    n, total, what, state, rest = match.groups()
    step = 'build %s/%s %s' % (n, total, what)
    if state == 'checking':
        progress.doing(step, quiet=True)
    elif state == 'building':
        progress.doing(step + ': building')
    else:
        counts[state] += 1
        if state == 'built':
            progress.say('%s: built%s' % (step, rest))
