# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Command line of the testbed: ``python -m testbed up | build | status | env-file | down [--purge]`` from tests/.

Exit codes: 0 done, 1 a component failed (the reason and its log's last lines on stderr),
3 ``status`` found a component not running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import fcntl
import os
import sys

from .lifecycle import Testbed
from .procs import TestbedError, tail


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m testbed', description='ghost.infra local testbed')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('up', help='build what is missing, start what is not running, wait until healthy')
    sub.add_parser('build', help='build the Go daemons and the real guests\' image, start nothing')
    sub.add_parser('status', help='one line per component')
    sub.add_parser('env-file', help='print the path of env.sh (written by up)')
    down = sub.add_parser('down', help='stop everything this testbed started')
    down.add_argument('--purge', action='store_true', help='also undefine the libvirt pool, undo qemu.conf, delete the state folder (.testbed)')
    args = parser.parse_args(argv)
    tb = Testbed()
    if args.command not in ('up', 'down'):
        return run(tb, args)
    # Two `up`s at once (say pytest-xdist workers) take turns instead of racing each other.
    os.makedirs(tb.state, exist_ok=True)
    with open(os.path.join(tb.state, '.lock'), 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print('testbed %s: waiting for another up or down on %s' % (args.command, tb.state), flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return run(tb, args)


def run(tb, args):
    try:
        if args.command == 'up':
            tb.up()
        elif args.command == 'build':
            tb.build()
        elif args.command == 'status':
            return 0 if tb.status() else 3
        elif args.command == 'env-file':
            print(tb.env_file)
        else:
            tb.down(purge=args.purge)
    except TestbedError as exc:
        print('testbed %s: %s failed: %s' % (args.command, exc.component or 'testbed', exc), file=sys.stderr)
        if exc.log:
            print('--- last lines of %s ---\n%s' % (exc.log, tail(exc.log)), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
