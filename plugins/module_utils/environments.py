# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environments a database belongs to, one list for every module and role.

``production`` is the strict one (fail instead of warn, maintenance window, promotion gate, rollback
exercise, no staging_reset); ``staging`` and ``local`` are where changes are tried first.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

ENVIRONMENTS = ("local", "staging", "production")


def environment_option(required=True, default=None):
    """The ``environment`` argument spec entry; required where the environment changes behaviour."""
    spec = dict(type="str", choices=list(ENVIRONMENTS))
    if required:
        spec["required"] = True
    else:
        spec["default"] = default
    return spec


def validate_environment(environment):
    """``environment`` when it is one of ENVIRONMENTS; InvalidInput naming the choices otherwise."""
    if environment not in ENVIRONMENTS:
        raise InvalidInput("environment must be one of %s, not %r" % (", ".join(ENVIRONMENTS), environment))
    return environment
