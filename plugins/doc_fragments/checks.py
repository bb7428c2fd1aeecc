# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by the modules that return report checks; ``report.check_argument_spec()`` is their spec."""

    DOCUMENTATION = r'''
options:
  fail_on_failed:
    description:
      - Fail the task when any check has status C(fail) (after any waivers); the message names each failed check.
      - The result, with its C(checks), C(passed) and C(counts), is returned on failure too.
    type: bool
    default: false
'''

    STATEMENT_TIMEOUT = r'''
options:
  statement_timeout:
    description:
      - C(statement_timeout) of every check's transaction, in seconds (C(0.5) is 500 ms); C(0) for none.
    type: float
    default: 30
'''

    MISSING_TABLE = r'''
options:
  on_missing_table:
    description:
      - What a check on a table that does not exist reports - C(skip) reports it C(skipped) (C(table missing)),
        C(fail) fails it.
    type: str
    default: skip
    choices: [skip, fail]
'''

    ERRORS = r'''
options:
  error_status:
    description:
      - Report an error that stops the module (the database cannot be reached, a bad option, the CLI failed) as one
        check with this status and the error as its detail, instead of failing the task; the result then has
        C(error) too.
      - For a role that writes one report of all its steps. Unset (the default), such an error fails the task.
    type: str
    choices: [fail, warn]
'''

    WAIVERS = r'''
options:
  waivers:
    description:
      - Check name to recorded reason (who, ticket); a C(fail) or C(warn) check named here is reported C(waived) with
        the reason. A waiver without a reason is refused.
    type: dict
    default: {}
'''
