# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two runs create the same libvirt domain at once, on the real libvirtd.

One wins; the other fails with a message naming the domain, or converges; neither deletes a
volume the domain uses. The runs are the module's runner with a real LibvirtClient each (their
own connections), interleaved on purpose at the points where they can collide: both planned
before either created a volume; one run's volumes found by the other before it defines; the
seed written by the loser and used by the winner. Then two `ansible -m` processes race freely.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import CLOUD_INIT_OPTIONS
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.client import LibvirtClient
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.runner import ensure_domain
from ansible_collections.ghost.infra.plugins.modules.libvirt_domain import argument_spec

NAME = "ghost-it-race"

pytestmark = pytest.mark.timeout(900)


def module_params(**given):
    """The options as AnsibleModule hands them to the runner: every option, defaults filled."""
    params = {key: spec.get("default") for key, spec in argument_spec().items()}
    params.update(given)
    if params.get("cloud_init") is not None:
        cloud_init = {key: spec.get("default") for key, spec in CLOUD_INIT_OPTIONS.items()}
        cloud_init.update(params["cloud_init"])
        params["cloud_init"] = cloud_init
    return params


class Held:
    """A LibvirtClient whose calls can be held: ``before[name](*args)`` runs before each call
    of that name (and stays until removed)."""

    def __init__(self, client):
        self.client = client
        self.before = {}

    def __getattr__(self, attr):
        value = getattr(self.client, attr)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            hook = self.before.get(attr)
            if hook is not None:
                hook(*args)
            return value(*args, **kwargs)
        return call


class Run:
    """One module run in a thread: ``result`` or ``error`` when done."""

    def __init__(self, testbed, label):
        self.label = label
        self.client = Held(LibvirtClient(testbed["LIBVIRT_DEFAULT_URI"]).open())
        self.params = module_params(
            name=NAME, pool=testbed["GHOST_LIBVIRT_POOL"], base_image=testbed["GHOST_BASE_IMAGE"],
            domain_type=testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], memory_mb=64, shutdown_timeout=2,
            cloud_init={"hostname": "race"})
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, name=label)

    def _run(self):
        try:
            self.result = ensure_domain(self.client, self.params)
        except GhostError as exc:
            self.error = exc
        finally:
            self.client.close()

    def start(self):
        self.thread.start()
        return self

    def join(self):
        self.thread.join(300)
        assert not self.thread.is_alive(), "%s is stuck" % self.label
        return self


def wait(event, what):
    assert event.wait(120), "timed out waiting for %s" % what


def domain_volumes(conn, pool_name):
    """(paths the domain NAME uses, paths of the pool's volumes named after it)."""
    dom = conn.lookupByName(NAME)
    used = {source.get("file") for source in ET.fromstring(dom.XMLDesc(0)).iter("source") if source.get("file")}
    pool = conn.storagePoolLookupByName(pool_name)
    ours = {vol.path() for vol in pool.listAllVolumes(0) if vol.name().startswith(NAME)}
    return used, ours


def check_outcome(testbed, runs):
    """One run created the domain; the other failed naming it or converged on it; the
    domain's volumes (overlay and seed) exist, and no other volume of that name is left."""
    import libvirt  # pylint: disable=import-outside-toplevel

    ok = [run for run in runs if run.error is None]
    assert ok, "both runs failed: %s" % [str(run.error) for run in runs]
    for run in runs:
        if run.error is not None:
            assert str(run.error).startswith("Failed to create domain '%s': " % NAME), str(run.error)
            assert "run the task again to converge" in str(run.error)
    creators = [run for run in ok if "define" in run.result["actions"]]
    assert len(creators) == 1, [run.result["actions"] for run in ok]
    winner = creators[0]
    assert winner.result["changed"] is True and winner.result["domain"]["state"] == "running"
    for run in ok:  # a run that converged returns the same domain
        assert run.result["domain"]["uuid"] == winner.result["domain"]["uuid"]
    conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    try:
        dom = conn.lookupByName(NAME)
        assert dom.UUIDString() == winner.result["domain"]["uuid"] and dom.isActive()
        used, ours = domain_volumes(conn, testbed["GHOST_LIBVIRT_POOL"])
        overlay = winner.result["domain"]["disks"][0]["path"]
        assert overlay in used and overlay in ours, (overlay, used, ours)
        assert used & ours == ours and len(ours) == 2, (used, ours)  # overlay + seed, nothing else
    finally:
        conn.close()


@pytest.fixture
def clean(testbed, libvirt_domain):
    libvirt_domain({"name": NAME, "state": "absent"})
    yield
    gone = libvirt_domain({"name": NAME, "state": "absent"}, check=False)
    assert gone.get("failed") is not True, gone


def test_both_planned_before_either_created_a_volume(testbed, clean):
    # Both read "no such domain" and planned the same overlay; then both create it.
    runs = [Run(testbed, "a"), Run(testbed, "b")]
    barrier = threading.Barrier(2, timeout=120)
    seen = set()

    def first_create(label):
        def hook(*_args):
            if label not in seen:
                seen.add(label)
                barrier.wait()
        return hook
    for run in runs:
        run.client.before["create_volume"] = first_create(run.label)
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    check_outcome(testbed, runs)
    assert len([run for run in runs if run.error]) == 1


def test_the_other_run_defines_with_the_volumes_this_run_created(testbed, clean):
    # Run a creates the overlay and the seed; before it defines, run b starts, finds both
    # volumes, defines the domain and starts it. Then a's define is refused.
    a, b = Run(testbed, "a"), Run(testbed, "b")
    b_done = threading.Event()

    def before_define(*_args):
        a.client.before.pop("define")
        b.start().join()
        b_done.set()
    a.client.before["define"] = before_define
    a.start().join()
    assert b_done.is_set()
    assert b.error is None and a.error is not None
    check_outcome(testbed, [a, b])


def test_the_winner_uses_the_seed_the_loser_wrote(testbed, clean):
    # Run a created the overlay; run b finds it and writes the seed; a (whose seed create now
    # finds it there) defines first and wins; then b's define is refused. b created the seed
    # the domain uses: it must keep it.
    a, b = Run(testbed, "a"), Run(testbed, "b")
    b_at_define, a_done = threading.Event(), threading.Event()
    creates = []

    def a_create(pool, name, *_rest):
        creates.append(name)
        if len(creates) == 2:  # a's seed: let b run up to its define first
            b.start()
            wait(b_at_define, "run b to reach its define")

    def b_define(*_args):
        b_at_define.set()
        wait(a_done, "run a to finish")
    a.client.before["create_volume"] = a_create
    b.client.before["define"] = b_define

    def finish_a():
        a._run()  # pylint: disable=protected-access
        a_done.set()
    thread = threading.Thread(target=finish_a)
    thread.start()
    thread.join(300)
    b.join()
    assert a.error is None and b.error is not None, (a.error, b.error)
    check_outcome(testbed, [a, b])


def test_two_module_runs_race_freely(testbed, libvirt_domain, clean):
    args = {"name": NAME, "pool": testbed["GHOST_LIBVIRT_POOL"], "base_image": testbed["GHOST_BASE_IMAGE"],
            "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], "memory_mb": 64,
            "cloud_init": {"hostname": "race"}}

    def go(results, index):
        results[index] = libvirt_domain(args, check=False)

    for _round in range(2):
        results = [None, None]
        threads = [threading.Thread(target=go, args=(results, index)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        runs = []
        for index, result in enumerate(results):
            run = type("Result", (), {})()
            run.label = str(index)
            run.error = result["msg"] if result["failed"] else None
            run.result = None if run.error else result
            runs.append(run)
        check_outcome(testbed, runs)
        libvirt_domain({"name": NAME, "state": "absent"})
