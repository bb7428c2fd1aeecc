# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one adapter between AnsibleModule and the engine.

A module builds its argument spec, calls :func:`new_module`, and hands a function of the module
to :func:`run_module`. That function returns the result dict; any SupabaseError it raises becomes
``fail_json(msg=<one line>, **error.result)``; anything else becomes a short message with the
traceback in ``exception`` (shown at -vvv).
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
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.report import module_result


def new_module(argument_spec, with_connection=True, needs_psycopg2=True, **kwargs):
    """Create the AnsibleModule with the shared connection options merged in."""
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


def run_module(module, body):
    """Run ``body(module) -> dict`` and exit once: exit_json on success, fail_json on error."""
    secrets = list(module.no_log_values)
    try:
        result = body(module)
    except SupabaseError as exc:
        extra = dict(exc.result)
        extra.setdefault("changed", bool(extra.get("changed", False)))
        module.fail_json(msg=redact(str(exc), secrets), **extra)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=redact("unexpected error: %s: %s" % (exc.__class__.__name__, exc), secrets),
                         exception=redact(traceback.format_exc(), secrets))
    result.setdefault("changed", False)
    module.exit_json(**result)
