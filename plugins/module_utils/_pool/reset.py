# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The janitor: reset a dirty member and health-check members. Private to ghost.infra.

A reset first takes the member (dirty, or error with attempts left) as ``resetting`` with a
compare-and-swap write that names this janitor as holder for ``reset_timeout`` seconds, so two
janitors (an inline reset and the maintenance playbook, two AWX nodes) never reset the same
member at once, and a janitor that dies is noticed once that lease expires. Then:

- kubevirt kind: every member VM restored from its golden snapshot with the collection's own
  restore code (``_kubevirt/runner.ensure_restore``, ``force``: the VM is stopped, restored and
  started: a pool's clusters run), the VMs of a member in parallel, then waited for;
- vcluster kind: the member's vcluster deleted and created again from the pool's declared
  values with the collection's vcluster code (``_vcluster/runner.ensure_vcluster``), which waits
  until its API answers; its kubeconfig Secret is new;

then a health check (every VM ready; the kubeconfig, if any, reaches ``/version``). Success
makes the member ``available``; any failure makes it ``error`` with the reason (the member is
never made available by a failed reset).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import os
import shutil
import tempfile
import uuid

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt import spec as kvspec
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.client import KubeVirtClient
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.runner import ensure_restore
from ansible_collections.ghost.infra.plugins.module_utils._pool import kubeconfig, lease_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import client as vclient
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec as vspec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.cli import VclusterCli, resolve_auth
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.runner import ensure_vcluster

HEALTH_TIMEOUT = 10


class Janitor:
    """Resets and health checks for one module run.

    ``auth`` are the module's connection options (the vcluster CLI needs them); ``environ`` the
    environment the CLI runs in.
    """

    def __init__(self, api, *, now, auth=None, environ=None, run_id=None):
        self.api = api
        self.now = now
        self.auth = auth or {}
        self.environ = dict(os.environ if environ is None else environ)
        self.id = lease_spec.janitor_id(run_id or uuid.uuid4().hex[:12])

    # ------------------------------------------------------------ reset

    def reset(self, declaration, obj, *, max_attempts=None):
        """Reset the dirty (or error) member ``obj``; the member object afterwards.

        None when another janitor changed the member first (it resets it, not us).
        """
        try:
            started = self.api.replace(lease_spec.start_reset(obj, self.id, declaration.get("reset_timeout") or 600,
                                                              self.now(), max_attempts=max_attempts), verb="reset")
        except Conflict:
            return None
        try:
            if declaration.get("kind") == "vcluster":
                self._reset_vcluster(declaration, started)
            else:
                self._reset_kubevirt(declaration, started)
            healthy, detail = self.health(declaration, started)
            if not healthy:
                raise GhostError("health check after the reset failed: %s" % detail)
        except GhostError as exc:
            reason = str(exc)
            return self._settle(started, lambda o: lease_spec.fail_reset(o, self.id, reason, self.now()))
        return self._settle(started, lambda o: lease_spec.finish_reset(o, self.id, self.now()))

    def _settle(self, obj, transition):
        """Write the end of a reset, re-reading the member when something else (a declaration) wrote it."""
        name = obj["metadata"]["name"]
        for _attempt in range(10):
            try:
                return self.api.replace(transition(obj), verb="finish the reset of")
            except Conflict:
                obj = self.api.get_lease(obj["metadata"]["namespace"], name)
                if obj is None:
                    raise GhostError("Failed to finish the reset of member Lease '%s': it was deleted" % name)
            except GhostError:
                if (obj.get("spec") or {}).get("holderIdentity") != self.id:
                    raise GhostError("Failed to finish the reset of member %s: %s took it over after the reset "
                                     "timed out" % (lease_spec.member_id(obj), (obj.get("spec") or {}).get("holderIdentity")))
                raise
        raise GhostError("Failed to finish the reset of member %s: it kept changing" % lease_spec.member_id(obj))

    def _record(self, obj):
        return spec.loads(((obj.get("metadata") or {}).get("annotations") or {}).get(spec.ANNOTATION_MEMBER), {})

    def _reset_kubevirt(self, declaration, obj):
        record = self._record(obj)
        namespace = record.get("namespace") or lease_spec.member_id(obj)
        vms = record.get("vms") or []
        deadline = self.api.waiter.deadline(declaration.get("reset_timeout") or 600)

        def restore(vm):
            params = {"namespace": namespace, "vm_name": vm["name"], "snapshot_name": vm["snapshot"], "name": None,
                      "force": True, "wait": True, "wait_timeout": max(1, int(deadline.remaining())), "stop_vm": True,
                      "run_after_restore": "running", "target_readiness_policy": None, "volume_restore_policy": None}
            ensure_restore(KubeVirtClient(self.api.svc, waiter=self.api.waiter), params)

        errors = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(vms))) as pool:
            futures = {pool.submit(restore, vm): vm for vm in vms}
            for future in concurrent.futures.as_completed(futures):
                try:
                    future.result()
                except GhostError as exc:
                    errors.append("VM %s: %s" % (futures[future]["name"], exc))
        if errors:
            raise GhostError("; ".join(sorted(errors)))

    def _vcluster_options(self, declaration, record, state, dest, timeout):
        values = declaration.get("vcluster") or {}
        return vspec.validate_params({
            "name": record["vcluster"], "namespace": record["namespace"], "state": state, "ttl": None,
            "values": values.get("values"), "values_files": values.get("values_files"),
            "chart_version": values.get("chart_version"), "chart_dir": values.get("chart_dir"),
            "kubernetes_version": values.get("kubernetes_version"), "server": values.get("server"),
            "expose": values.get("expose"), "vcluster_binary": values.get("vcluster_binary") or "vcluster",
            "wait": True, "wait_timeout": timeout, "kubeconfig_dest": dest, "return_kubeconfig": False})

    def _reset_vcluster(self, declaration, obj):
        record = self._record(obj)
        deadline = self.api.waiter.deadline(declaration.get("reset_timeout") or 600)
        workdir = tempfile.mkdtemp(prefix="ghost-pool-")
        try:
            os.chmod(workdir, 0o700)
            dest = os.path.join(workdir, "kubeconfig.yaml")
            for state in ("absent", "present"):
                timeout = max(1, int(deadline.remaining()))
                options = self._vcluster_options(declaration, record, state, dest, timeout)
                cli = VclusterCli(options["vcluster_binary"], resolve_auth(self.auth, self.environ), environ=self.environ,
                                  timeout=timeout)
                ensure_vcluster(vclient.VclusterClient(self.api.svc, waiter=self.api.waiter), cli, options)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    # ------------------------------------------------------------ health

    def health(self, declaration, obj):
        """``(healthy, detail)`` of a member: every VM running and ready, its kubeconfig (if any) answering /version."""
        record = self._record(obj)
        namespace = record.get("namespace") or lease_spec.member_id(obj)
        notes = []
        kv = KubeVirtClient(self.api.svc, waiter=self.api.waiter) if record.get("vms") else None
        for vm in record.get("vms") or []:
            found = kv.get(kvspec.VM, namespace, vm["name"])
            if found is None:
                return False, "VirtualMachine %s/%s is missing" % (namespace, vm["name"])
            status = (found.get("status") or {}).get("printableStatus") or "unknown"
            if not kvspec.vm_ready(found):
                return False, "VirtualMachine %s/%s is not ready (%s)" % (namespace, vm["name"], status)
            notes.append("%s %s" % (vm["name"], status))
        try:
            data, unused = kubeconfig.content(self.api, declaration, obj)
        except GhostError as exc:
            return False, str(exc)
        if data is not None:
            try:
                version = vclient.probe_version(vclient.parse_kubeconfig(data.decode("utf-8")), timeout=HEALTH_TIMEOUT)
            except GhostError as exc:
                return False, "its API did not answer /version: %s" % exc
            notes.append("API %s" % version)
        return True, ", ".join(notes) or "nothing to check"
