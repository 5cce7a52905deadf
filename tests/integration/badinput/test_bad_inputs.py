# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input campaign: every case of ``cases_*.py`` run for real against the testbed.

Each case runs as the module's own process, as Ansible runs it (bad_campaign.py). Each case must fail with a
``msg`` that names its option and says what is wrong, without a traceback, without creating
anything (the backends are listed before and after, by the run's token: bad_census.py), and
without any secret in any output (secret_scan.py). The table input -> message is printed.

A case that shows a bug in a module someone else is changing stays in the table and goes into
KNOWN_BAD with the reason: it is printed and reported, not asserted, until the module is fixed
(then test_table says so and the line goes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import pathlib

import bad_campaign
import bad_census
import pytest
from secret_scan import Scanner, Secrets

HERE = pathlib.Path(__file__).resolve().parent
MODULES = HERE.parent.parent.parent / "plugins" / "modules"
MINIMUM_CASES = 60
VM_TEMPLATE = {"spec": {"domain": {"cpu": {"cores": 1}, "resources": {"requests": {"memory": "64Mi"}}, "devices": {}}}}

pytestmark = pytest.mark.timeout(2400)


def _all_cases():
    cases = []
    for path in sorted(HERE.glob("cases_*.py")):
        cases += importlib.import_module(path.stem).CASES
    return cases


CASES = _all_cases()
BY_ID = {case.id: case for case in CASES}

# Cases that show a bug the lead routes to the module's owner: id -> what is wrong.
KNOWN_BAD = {
    # Messages that name the value but not the option, or not what is wrong
    "cloud_init_seed-cloud-init-not-dict": "Ansible core's message for a string given to a dict option with "
                                           "suboptions does not name the option",
    # Inputs accepted that a real backend refuses, or objects left behind
}


@pytest.fixture(scope="module")
def campaign(testbed, tmp_path_factory):
    run = bad_campaign.Run(CASES, workdir=tmp_path_factory.mktemp("badinput"), testbed=testbed)
    run.prepare()
    kube_client, api = bad_census._kube(testbed)
    core = kube_client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": run.namespace}})
    kube_client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kubevirt.io", "v1", run.namespace, "virtualmachines",
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": run.values["@VM@"]},
         "spec": {"runStrategy": "Halted", "template": VM_TEMPLATE}})
    folders = [run.home, os.path.join(run.workdir, "cases")]
    try:
        run.before, run.census_errors = bad_census.census(testbed, run.token, folders)
        run.play()
        run.after, errors = bad_census.census(testbed, run.token, folders)
        run.census_errors.update(errors)
    finally:
        try:
            core.delete_namespace(run.namespace)
        finally:
            api.close()
    run.leftovers = run.after - run.before - {("kubernetes", "namespace", run.namespace)}
    run.leftovers -= {item for item in run.leftovers if item[0] == "files" and _case_file(run, item[2])}
    run.cleanup_failed = bad_census.remove(testbed, run.leftovers)
    run.scan = _scan(run, testbed)
    return run


def _case_file(run, path):
    """A file the case itself wrote into its folder before the run (its ``files``)."""
    return any(os.path.dirname(path) == run.case_dir(case) and os.path.basename(path) in case.files for case in run.cases)


def _scan(run, testbed):
    secrets = Secrets.from_testbed(testbed)
    for case in run.cases:
        secrets.add("case %s" % case.id, run.case_secrets[case.id])
    scan = Scanner(secrets)
    for case in run.direct:
        scan.text("the output of case %s" % case.id, run.outputs.get(case.id))
    scan.text("ansible-playbook -vvv (cases of %s)" % ", ".join(sorted({c.module for c in run.through_ansible})),
              run.playbook_output)
    scan.async_jobs(os.path.join(run.home, ".ansible_async"))
    scan.world_readable(run.workdir)
    return scan


def leftovers_of(run, case):
    marker = run.markers[case.id]
    return sorted(" ".join(item) for item in run.leftovers if marker in item[2].lower())


def problems_of(run, case):
    result = run.results.get(case.id)
    problems = bad_campaign.verdict(case, result)
    if "Traceback (most recent call last)" in run.outputs.get(case.id, ""):
        problems.append("printed a traceback")
    secret = run.case_secrets[case.id]
    if secret in run.outputs.get(case.id, ""):
        problems.append("its secret is in the output")
    left = leftovers_of(run, case)
    if left:
        problems.append("left %s" % ", ".join(left))
    return problems


def test_enough_cases():
    assert len(CASES) >= MINIMUM_CASES, "only %d bad-input cases" % len(CASES)
    modules = {path.stem for path in MODULES.glob("*.py")}
    unknown = sorted({c.module for c in CASES} - modules)
    assert not unknown, "cases for modules that do not exist: %s" % unknown
    missing = sorted(set(KNOWN_BAD) - set(BY_ID))
    assert not missing, "KNOWN_BAD names cases that do not exist: %s" % missing


@pytest.mark.parametrize("case_id", [c.id for c in CASES if c.id not in KNOWN_BAD])
def test_bad_input(campaign, case_id):
    case = BY_ID[case_id]
    problems = problems_of(campaign, case)
    msg = (campaign.results.get(case_id) or {}).get("msg")
    assert not problems, "%s(%s): %s\n  msg: %s" % (case.module, bad_campaign.describe(case), "; ".join(problems), msg)


def test_campaign_is_clean(campaign):
    """What no single case owns: the run itself, the listers, secrets anywhere, stray objects."""
    assert len(campaign.results) == len(CASES), "%d of %d cases ran" % (len(campaign.results), len(CASES))
    assert not campaign.census_errors, "could not list the backends: %s" % campaign.census_errors
    stray = sorted(" ".join(item) for item in campaign.leftovers
                   if not any(m in item[2].lower() for m in campaign.markers.values()))
    assert not stray, "objects of this run that no case explains: %s" % stray
    assert not campaign.cleanup_failed, "could not remove what the run left: %s" % campaign.cleanup_failed
    campaign.scan.assert_clean("the bad-input campaign")


def test_table(campaign, capsys):
    """Prints the table (input -> message) and the known-bad cases with what they show now."""
    rows, fixed = [], []
    for case in CASES:
        result = campaign.results.get(case.id) or {}
        problems = problems_of(campaign, case)
        outcome = "ok" if not problems else ("KNOWN_BAD" if case.id in KNOWN_BAD else "BAD") + ": " + "; ".join(problems)
        rows.append(("%s %s" % (case.module, case.id.split("-", 1)[-1]), bad_campaign.describe(case), outcome,
                     result.get("msg", "")))
        if case.id in KNOWN_BAD and not problems:
            fixed.append(case.id)
    with capsys.disabled():
        print("\n\nBad-input campaign: %d cases in %.0f s (token %s)" % (len(CASES), campaign.seconds, campaign.token))
        print(bad_campaign.table(rows))
        slow = sorted(campaign.results.items(), key=lambda kv: -(kv[1] or {}).get("_seconds", 0))[:5]
        print("slowest: %s" % ", ".join("%s %.1fs" % (k, (v or {}).get("_seconds", 0)) for k, v in slow))
        uncovered = sorted({p.stem for p in MODULES.glob("*.py")} - {c.module for c in CASES})
        if uncovered:
            print("modules without a bad-input case: %s" % ", ".join(uncovered))
        print("KNOWN_BAD (%d, reported, not asserted):" % len(KNOWN_BAD))
        for case_id, reason in sorted(KNOWN_BAD.items()):
            print("  %s: %s%s" % (case_id, reason, " (passes now: take it off KNOWN_BAD)" if case_id in fixed else ""))
    assert all(campaign.results.get(case_id) for case_id in KNOWN_BAD), "a KNOWN_BAD case did not run"
