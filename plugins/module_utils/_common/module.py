# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The small bridge between AnsibleModule and the collection's pure code. Private to ghost.infra.

Only this file and plugins/modules/ touch AnsibleModule: clients and pure logic raise
GhostError, and run() maps it to fail_json with the collection's message shape.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import (
    GhostError,
    MissingLibraryError,
)
from ansible_collections.ghost.infra.plugins.module_utils._common.secrets import no_log_leaves


def require_libraries(module, *imports):
    """Fail through missing_required_lib() for the first OptionalImport that did not load."""
    for imp in imports:
        if not imp.available:
            module.fail_json(msg=missing_required_lib(imp.package), exception=imp.traceback)


def unmask(module, values, *, options):
    """Stop masking ``values`` in the output (strings of the ``no_log`` ``options`` that cannot
    be secrets, see _common/secrets.py), except any that another no_log option also holds."""
    keep = no_log_leaves(module.argument_spec, module.params, skip=options)
    module.no_log_values.difference_update(set(values) - keep)


def run(module, action):
    """Call ``action()`` and exit the module with its result dict.

    ``duration`` (seconds) is added unless the action set it; a ``warnings`` list in the
    result goes to ``module.warn`` (Ansible deprecates passing it to exit_json); a GhostError
    becomes fail_json with its message and details, so bad input and backend faults never end
    in a traceback.
    """
    started = time.monotonic()
    try:
        result = action()
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.reason)
    except GhostError as exc:
        details = dict(exc.details)
        details.setdefault("duration", round(time.monotonic() - started, 3))
        module.fail_json(msg=str(exc), **details)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    result.setdefault("duration", round(time.monotonic() - started, 3))
    module.exit_json(**result)
