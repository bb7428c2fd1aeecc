# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one adapter between AnsibleModule and the engine.

A module builds its argument spec, calls :func:`new_module`, and hands a function of the module
to :func:`run_module`. That function returns the result dict; any SupabaseError it raises becomes
``fail_json(msg=<one line>, **error.result)``; anything else becomes a short message with the
traceback in ``exception`` (shown at -vvv).

A module that returns checks returns them with :func:`check_result`. When the caller set the shared option
``error_status`` (a role that writes one report of every step), a SupabaseError is not a failed task but one
check with that status and the error as its detail: the error is reported by the module that met it, in the
same shape as every other check, and the role only concatenates.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import (
    CONNECTION_MUTUALLY_EXCLUSIVE,
    HAS_PSYCOPG2,
    PSYCOPG2_IMPORT_ERROR,
    ConnectionSettings,
    connection_argument_spec,
    redact,
    secret_values,
    url_secrets,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, module_result

ERROR_REMEDY = "fix what the message names (connection, configuration, the CLI) and run again"


def new_module(argument_spec, with_connection=True, needs_psycopg2=True, url_options=(), **kwargs):
    """Create the AnsibleModule with the shared connection options merged in.

    ``url_options``: the module's other URL options (e.g. ``shadow_server_url``); the password(s) they carry go into
    ``no_log_values`` like ``db_url``'s, however the URL is written.
    """
    spec = {}
    mutually_exclusive = list(kwargs.pop("mutually_exclusive", []))
    if with_connection:
        spec.update(connection_argument_spec())
        mutually_exclusive.extend(CONNECTION_MUTUALLY_EXCLUSIVE)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, mutually_exclusive=mutually_exclusive or None, **kwargs)
    if with_connection:
        for value in secret_values(module.params):
            module.no_log_values.add(value)
    for name in url_options:
        module.no_log_values.update(url_secrets(module.params.get(name)))
    if needs_psycopg2 and not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=str(PSYCOPG2_IMPORT_ERROR))
    return module


def connection_settings(module):
    """ConnectionSettings from the module's shared connection options."""
    return ConnectionSettings.from_params(module.params)


def check_result(module, checks, what="checks", **extra):
    """The module's checks as every check module returns them, with its ``waivers`` and ``fail_on_failed``."""
    params = module.params
    return module_result(checks, params.get("fail_on_failed", False), what, waivers=params.get("waivers"), **extra)


def error_check_result(module, message, extra, error_check):
    """The result of a module whose error became a check (see the module docstring)."""
    status = module.params["error_status"]
    if callable(error_check):
        checks = error_check(message, status, extra)
    else:
        checks = [make_check(error_check, status, message, ERROR_REMEDY)]
    keep = dict((key, value) for key, value in extra.items() if key not in ("checks", "passed", "counts", "msg"))
    result = module_result(checks, waivers=module.params.get("waivers"), error=message, **keep)
    result["changed"] = bool(extra.get("changed", False))
    return result


def run_module(module, body, error_check=None):
    """Run ``body(module) -> dict`` and exit once: exit_json on success, fail_json on error.

    ``error_check``: the name of the check an error becomes when the caller set ``error_status``, or a function
    ``(message, status, error_result) -> [checks]`` for a module that says more (which file, what to do).
    """
    secrets = list(module.no_log_values)
    try:
        result = body(module)
    except SupabaseError as exc:
        extra = dict(exc.result)
        if error_check and module.params.get("error_status") and not isinstance(exc, CheckFailed):
            module.exit_json(**error_check_result(module, redact(str(exc), secrets), extra, error_check))
        extra.setdefault("changed", bool(extra.get("changed", False)))
        module.fail_json(msg=redact(str(exc), secrets), **extra)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=redact("unexpected error: %s: %s" % (exc.__class__.__name__, exc), secrets),
                         exception=redact(traceback.format_exc(), secrets))
    result.setdefault("changed", False)
    module.exit_json(**result)
