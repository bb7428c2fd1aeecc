# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the engine.

Every error a user can cause is a SupabaseError: a one-line message that says what failed,
on which input and what to do, plus a ``result`` dict of facts worth returning even on failure
(versions already applied, the failing file, the log path). Modules turn it into ``fail_json``
in exactly one place (ansible_module.run_module).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class SupabaseError(Exception):
    """Base class: a user-facing, one-line failure with structured context."""

    def __init__(self, message, **result):
        super(SupabaseError, self).__init__(message)
        self.message = message
        self.result = result

    def __str__(self):
        return self.message


class InvalidInput(SupabaseError):
    """An option, file or directory the user gave is not usable."""


class ConnectionFailed(SupabaseError):
    """The database could not be reached or refused the login."""


class MigrationDirectoryError(InvalidInput):
    """The local supabase/migrations directory cannot be used as it is."""


class DriftError(SupabaseError):
    """Local migrations and the remote history disagree in a way the caller refused."""


class ApplyError(SupabaseError):
    """A migration failed to apply; ``result`` says what was applied before it."""


class ApplyStopped(ApplyError):
    """The apply stopped between migrations: its controller is gone or asked it to stop (a signal)."""


class LockUnavailable(SupabaseError):
    """Another runner holds the apply lock, or a table lock was not granted in time."""


class LogUnwritable(SupabaseError):
    """A progress log cannot be written (disk full, read-only file system, /dev/full)."""


class CliError(SupabaseError):
    """The Supabase CLI is missing, too old, or failed."""


class CheckFailed(SupabaseError):
    """A preflight/verify/monitor check failed and the caller asked to fail on it."""


class ApprovalRefused(SupabaseError):
    """An approval gate is closed: no valid approval, a refused answer, or a waiver where none is allowed."""


class PolicyRefused(SupabaseError):
    """The database's policy (``hotdash_audit.policy``) refused the change; nothing was changed."""
