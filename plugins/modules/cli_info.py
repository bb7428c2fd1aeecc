#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: cli_info
short_description: Find the Supabase CLI and check its version against a minimum
version_added: 0.1.0
description:
  - Resolves the Supabase CLI binary (O(path), else the E(SUPABASE_CLI) environment variable, else C(supabase) on
    E(PATH)), runs C(supabase --version) and compares it with O(minimum_cli_version).
  - Returns the check C(supabase_cli) - C(ok) when the CLI is found and recent enough, otherwise O(severity) - so a
    preflight role reports it with the other checks; with O(fail_on_failed=true) (the default) a failed check
    fails the task with the reason on one line.
options:
  path:
    description: Path of the CLI binary. Defaults to E(SUPABASE_CLI), then C(supabase) on E(PATH).
    type: path
  severity:
    description: Status of the C(supabase_cli) check when the CLI is missing or too old.
    type: str
    default: fail
    choices: [fail, warn]
  fail_on_failed:
    description: Fail the task when the C(supabase_cli) check fails (after O(waivers)); the message says why.
    type: bool
    default: true
extends_documentation_fragment:
  - hotdash.supabase.cli.MINIMUM_CLI_VERSION
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Require the Supabase CLI the collection supports
  hotdash.supabase.cli_info:
    path: "{{ supabase_cli_path | default(omit, true) }}"

- name: Record the CLI version as a preflight check without failing
  hotdash.supabase.cli_info:
    fail_on_failed: false
  register: __supabase_preflight_cli
'''

RETURN = r'''
checks:
  description: The check C(supabase_cli).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "supabase_cli", "status": "ok", "detail": "Supabase CLI 2.122.1 at /usr/bin/supabase (minimum 2.48.3)",
            "remedy": "", "duration_ms": null}]
passed:
  description: True when the check did not fail.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 1}
found:
  description: True when a CLI binary was found and reported a version.
  returned: always
  type: bool
  sample: true
path:
  description: Resolved path of the CLI.
  returned: when found
  type: str
  sample: /work/main/tools/supabase-cli/node_modules/.bin/supabase
version:
  description: The CLI's version.
  returned: when found
  type: str
  sample: 2.122.1
minimum_cli_version:
  description: The minimum that was checked.
  returned: always
  type: str
  sample: 2.48.3
meets_minimum:
  description: True when the CLI was found and is at least O(minimum_cli_version).
  returned: always
  type: bool
  sample: true
reason:
  description: Why the minimum is not met, on one line; empty when it is.
  returned: always
  type: str
  sample: ""
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import MINIMUM_CLI_VERSION, SupabaseCli, parse_version
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec, make_check


def body(module):
    params = module.params
    minimum = params["minimum_cli_version"]
    try:
        parse_version(minimum)
    except CliError:
        raise InvalidInput("minimum_cli_version %r is not a version like %s" % (minimum, MINIMUM_CLI_VERSION))
    result = dict(found=False, minimum_cli_version=minimum, meets_minimum=False, reason="")
    try:
        cli = SupabaseCli(path=params["path"], timeout=60)
        result.update(found=True, path=cli.path)
        result.update(cli.info(minimum))
        if not result["meets_minimum"]:
            cli.require_version(minimum)  # raises, naming both versions
    except CliError as exc:
        result["found"] = "version" in result
        result["reason"] = str(exc)
    if result["meets_minimum"]:
        check = make_check("supabase_cli", "ok", "Supabase CLI %s at %s (minimum %s)"
                           % (result["version"], result["path"], minimum))
    else:
        check = make_check("supabase_cli", params["severity"], result["reason"],
                           "install Supabase CLI %s or newer (make setup pins it)" % minimum)
    return check_result(module, [check], None, **result)


def main():
    argument_spec = dict(
        path=dict(type="path"),
        minimum_cli_version=dict(type="str", default=MINIMUM_CLI_VERSION),
        severity=dict(type="str", default="fail", choices=["fail", "warn"]),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status", fail_on_failed=True))
    module = new_module(argument_spec, with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body, error_check="supabase_cli")


if __name__ == "__main__":
    main()
