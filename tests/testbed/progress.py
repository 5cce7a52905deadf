# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Progress lines of ``testbed up`` on stdout: stamped, flushed at once, with a heartbeat.

Each line starts with the seconds since the command began. During a long step (a Go build, a
wait) the heartbeat repeats the step with its own running time after every HEARTBEAT_SECONDS
without output, so nobody stares at minutes of silence.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import threading
import time

HEARTBEAT_SECONDS = 30


def duration(seconds):
    """``45s``, ``2m05s``."""
    seconds = int(seconds)
    return '%dm%02ds' % divmod(seconds, 60) if seconds >= 60 else '%ds' % seconds


class Progress:
    """``say`` a line now; name the step ``doing`` for the heartbeat to repeat."""

    def __init__(self):
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._last = self._start
        self._step = None

    def _print(self, text):
        now = time.monotonic()
        print('[%5.0fs] %s' % (now - self._start, text), flush=True)
        self._last = now

    def say(self, text):
        with self._lock:
            self._print(text)

    def doing(self, step, *, quiet=False):
        """``step`` runs from now on (None: nothing does); said now unless ``quiet``."""
        with self._lock:
            self._step = (step, time.monotonic()) if step else None
            if step and not quiet:
                self._print(step + '...')

    def _beat(self, stop):
        while not stop.wait(1):
            with self._lock:
                now = time.monotonic()
                if self._step and now - self._last >= HEARTBEAT_SECONDS:
                    step, since = self._step
                    self._print('%s... %s so far' % (step, duration(now - since)))

    @contextlib.contextmanager
    def heartbeat(self):
        """Run the heartbeat while the block runs."""
        stop = threading.Event()
        thread = threading.Thread(target=self._beat, args=(stop,), name='heartbeat', daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.doing(None)
