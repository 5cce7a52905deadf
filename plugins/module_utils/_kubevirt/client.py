# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KubeVirt API calls. Private to ghost.infra.

The Kubernetes client base (``_k8s/client.py``) does get, create, patch, delete and wait;
this client only names the KubeVirt kinds and says what to install when the API lacks one.
No AnsibleModule here: plain dicts out, GhostError with the API server's message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import K8sClient
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import API_VERSIONS


class KubeVirtClient(K8sClient):
    """VirtualMachines, their instances, snapshots and restores."""

    API_VERSIONS = API_VERSIONS

    def missing_resource(self, kind, cause):
        api_version = self.API_VERSIONS[kind]
        return GhostError("The Kubernetes API does not serve %s %s: is KubeVirt installed%s? (%s)" % (
            api_version, kind, " with the Snapshot feature gate" if api_version.startswith("snapshot.") else "", cause))
