# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection to libvirtd under every libvirt call. Private to ghost.infra; no compatibility
promise.

LibvirtConnection opens the connection (waiting for a daemon that is starting), turns each
libvirtError into GhostError with a message in the collection's shape, and after a lost
connection (libvirtd restarted) reopens it and repeats read-only calls; a change that was in
flight is reported, not repeated. client.py builds the libvirt calls on top of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import

LIBVIRT = optional_import("libvirt", "libvirt-python")

# errno values of a daemon that is (re)starting: its socket is missing or refuses, or a
# daemon still initialising (just restarted after a SIGKILL) resets the new connection.
_DAEMON_DOWN = (errno.ENOENT, errno.ECONNREFUSED, errno.ECONNRESET)
# errno values of a connection that broke under us.
_CONNECTION_LOST = (errno.EPIPE, errno.ECONNRESET, errno.ENOENT, errno.ECONNREFUSED)
VIR_ERR_SYSTEM_ERROR = 38
VIR_FROM_RPC = 7
VIR_FROM_REMOTE = 13


class LibvirtCallError(GhostError):
    """A libvirt call failed; ``cause`` is libvirt's own message."""

    def __init__(self, msg, *, cause, details=None):
        super(LibvirtCallError, self).__init__(msg, details=details)
        self.cause = cause


class ConnectionLost(GhostError):
    """The connection broke during a call that changes something."""


class AlreadyExists(GhostError):
    """A create call found its object there already: another run made it meanwhile."""


def error_message(exc):
    """libvirt's own message of a libvirtError."""
    text = exc.get_error_message() if hasattr(exc, "get_error_message") else None
    return (text or str(exc)).strip()


def _transport_error(exc, errnos):
    """A failure of the connection itself (not of the operation): an RPC system error."""
    return (exc.get_error_code() == VIR_ERR_SYSTEM_ERROR
            and exc.get_error_domain() in (VIR_FROM_RPC, VIR_FROM_REMOTE)
            and exc.get_int1() in errnos)


def connection_broke(exc):
    """Whether a libvirtError says the connection broke (rather than the operation failing)."""
    return _transport_error(exc, _CONNECTION_LOST)


class LibvirtConnection:
    """A connection to one libvirt URI.

    ``connect_timeout`` is how long to wait for a daemon that is starting up (socket missing
    or refusing), both when opening and when reopening after a lost connection.
    """

    def __init__(self, uri, *, connect_timeout=30.0, sleep=time.sleep, clock=time.monotonic):
        self.uri = uri
        self.connect_timeout = connect_timeout
        self._sleep = sleep
        self._clock = clock
        self._conn = None
        self.reconnects = 0

    @property
    def libvirt(self):
        return LIBVIRT.require()

    def open(self):
        """Open the connection, waiting up to ``connect_timeout`` for a starting daemon."""
        libvirt = self.libvirt
        # Without a handler libvirt also prints every error on stderr.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        deadline = self._clock() + self.connect_timeout
        while True:
            try:
                self._conn = libvirt.open(self.uri)
                return self
            except libvirt.libvirtError as exc:
                waiting = _transport_error(exc, _DAEMON_DOWN)
                if not waiting or self._clock() >= deadline:
                    # No driver for the URI's scheme: the URI itself is wrong, not the host.
                    bad_uri = exc.get_error_code() == getattr(libvirt, "VIR_ERR_NO_CONNECT", 5)
                    raise GhostError(failure("connect to", "libvirt", self.uri, error_message(exc)),
                                     option="uri" if bad_uri else None)
            self._sleep(0.5)

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # pylint: disable=broad-except
                pass  # a dead connection cannot be closed cleanly; nothing is lost
            self._conn = None

    def _lost(self, exc):
        if self._conn is None:
            return True
        try:
            alive = self._conn.isAlive()
        except self.libvirt.libvirtError:
            alive = 0
        return not alive or connection_broke(exc)

    def _call(self, describe, func, *, read_only=True):
        """``func(conn)``; a libvirtError becomes GhostError(describe(cause)).

        When the connection was lost, reopen it; repeat ``func`` once when it only reads.
        """
        libvirt = self.libvirt
        if self._conn is None:
            self.open()
        for attempt in (1, 2):
            try:
                return func(self._conn)
            except libvirt.libvirtError as exc:
                if attempt == 1 and self._lost(exc):
                    self.close()
                    try:
                        self.open()
                    except GhostError as reopen:
                        # Say what the lost call was about, not only that the reopen failed.
                        raise ConnectionLost(describe(
                            "the connection to libvirtd was lost (%s) and could not be opened again "
                            "within %ss (%s); run the task again once libvirtd answers"
                            % (error_message(exc), self.connect_timeout, reopen)))
                    self.reconnects += 1
                    if read_only:
                        continue
                    raise ConnectionLost(describe(
                        "the connection to libvirtd was lost (%s); it is open again, run the "
                        "task again to converge" % error_message(exc)))
                raise LibvirtCallError(describe(error_message(exc)), cause=error_message(exc),
                                       details={"libvirt_error_code": exc.get_error_code()})
        raise AssertionError("unreachable")  # pragma: no cover

    def _optional(self, describe, func, missing_codes):
        """Like _call, but None when libvirt says the object does not exist."""
        libvirt = self.libvirt

        def wrapped(conn):
            try:
                return func(conn)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() in missing_codes:
                    return None
                raise

        return self._call(describe, wrapped)
