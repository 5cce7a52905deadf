# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small controller runtime for the testbed's stand-in daemons.

Like client-go: watchers (list, then watch; relist on any error, so an API server restart only
costs a reconnect) feed keys into a work queue; a pool of workers reconciles one key at a time
(never the same key on two workers) and may ask for a key again after a delay. Reconcilers read
live objects from the API, so a missed event only delays work until the next relist.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import heapq
import logging
import signal
import sys
import threading
import time
import traceback

import kubernetes
from kubernetes.client.rest import ApiException

LOG = logging.getLogger('standin')
RELIST_SECONDS = 30


def setup_logging(name):
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(asctime)s ' + name + ' %(levelname)s %(message)s')


def api_client(kubeconfig):
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    cfg.connection_pool_maxsize = 32
    cfg.retries = False  # reconnects are the watch loop's business; a failed call is retried by requeue
    return kubernetes.client.ApiClient(cfg)


def to_dict(client, obj):
    """A typed client model as the plain dict the API sent."""
    return client.sanitize_for_serialization(obj)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_time(value):
    return datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()


def age(obj):
    """Seconds since the object was created (the API's clock has 1 s resolution)."""
    return time.time() - parse_time(obj['metadata']['creationTimestamp'])


class WorkQueue:
    """Keys with due times; a key is handed to one worker at a time, re-adds while busy are kept."""

    def __init__(self):
        self._cond = threading.Condition()
        self._heap = []
        self._due = {}
        self._busy = set()
        self._again = {}

    def add(self, key, delay=0.0):
        with self._cond:
            due = time.monotonic() + max(0.0, delay)
            if key in self._busy:
                self._again[key] = min(due, self._again.get(key, due))
                return
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            heapq.heappush(self._heap, (due, key))
            self._cond.notify()

    def get(self):
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # superseded entry
                if self._heap and self._heap[0][0] <= now:
                    due, key = heapq.heappop(self._heap)
                    del self._due[key]
                    self._busy.add(key)
                    return key
                self._cond.wait(timeout=(self._heap[0][0] - now) if self._heap else None)

    def done(self, key):
        with self._cond:
            self._busy.discard(key)
            if key in self._again:
                due = self._again.pop(key)
                self._due[key] = due
                heapq.heappush(self._heap, (due, key))
                self._cond.notify()


class Runtime:
    """Watchers + workers. ``reconcile(key)`` returns None or a requeue delay in seconds."""

    def __init__(self, reconcile, workers=8, ready_file=None):
        self.queue = WorkQueue()
        self._reconcile = reconcile
        self._workers = workers
        self._ready_file = ready_file
        self._pending_first_list = set()
        self._lock = threading.Lock()

    def watch(self, name, list_fn, watch_fn, keys_for):
        """Run a list+watch loop in a thread. ``list_fn()`` -> (items, resourceVersion);
        ``watch_fn(rv)`` -> iterator of raw events; ``keys_for(obj)`` -> keys to enqueue."""
        with self._lock:
            self._pending_first_list.add(name)
        t = threading.Thread(target=self._watch_loop, args=(name, list_fn, watch_fn, keys_for), daemon=True, name='watch-' + name)
        t.start()

    def _watch_loop(self, name, list_fn, watch_fn, keys_for):
        failures = 0
        while True:
            try:
                items, rv = list_fn()
                for obj in items:
                    for key in keys_for(obj):
                        self.queue.add(key)
                self._listed(name)
                if failures:
                    LOG.info('%s: watching again', name)
                failures = 0
                deadline = time.monotonic() + RELIST_SECONDS
                for event in watch_fn(rv):
                    if event.get('type') in ('ADDED', 'MODIFIED', 'DELETED'):
                        for key in keys_for(event['object']):
                            self.queue.add(key)
                    if time.monotonic() > deadline:
                        break
            except Exception as exc:  # pylint: disable=broad-except
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    LOG.warning('%s: list/watch failed (%s), retrying', name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                time.sleep(min(2.0, 0.2 * failures))

    def _listed(self, name):
        with self._lock:
            if name in self._pending_first_list:
                self._pending_first_list.discard(name)
                if not self._pending_first_list and self._ready_file:
                    with open(self._ready_file, 'w') as f:
                        f.write(now_iso() + '\n')
                    LOG.info('ready')

    def _work(self):
        while True:
            key = self.queue.get()
            try:
                delay = self._reconcile(key)
            except ApiException as exc:
                # 404/409: raced with a delete or another writer; 403 while a namespace terminates.
                if exc.status not in (404, 409) and 'being terminated' not in (exc.body or ''):
                    LOG.warning('%s: %s %s', key, exc.status, (exc.body or exc.reason or '')[:300])
                delay = 0.5
            except Exception:  # pylint: disable=broad-except
                LOG.error('%s: %s', key, traceback.format_exc())
                delay = 2.0
            finally:
                self.queue.done(key)
            if delay is not None:
                self.queue.add(key, delay)

    def run(self):
        stop = threading.Event()

        def _stop(_signum, _frame):
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        for i in range(self._workers):
            threading.Thread(target=self._work, daemon=True, name='worker-%d' % i).start()
        stop.wait()
        LOG.info('stopping')
