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
    E(PATH)), runs C(supabase --version) and compares it with O(minimum_version).
  - The runbook requires v2.48.3 or higher; the collection pins 2.122.1 (C(make setup)).
  - With O(fail_on_unmet=false) a missing or too old CLI is reported in the result instead of failing, so a
    preflight role can record it as a check.
options:
  path:
    description: Path of the CLI binary. Defaults to E(SUPABASE_CLI), then C(supabase) on E(PATH).
    type: path
  minimum_version:
    description: Lowest acceptable CLI version.
    type: str
    default: 2.48.3
  fail_on_unmet:
    description: Fail the task when the CLI is missing or older than O(minimum_version).
    type: bool
    default: true
extends_documentation_fragment:
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Require the Supabase CLI 2.48.3 or newer
  hotdash.supabase.cli_info:
    path: "{{ supabase_cli_path | default(omit) }}"
    minimum_version: 2.48.3

- name: Record the CLI version without failing
  hotdash.supabase.cli_info:
    fail_on_unmet: false
  register: __supabase_preflight_cli
'''

RETURN = r'''
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
minimum_version:
  description: The minimum that was checked.
  returned: always
  type: str
  sample: 2.48.3
meets_minimum:
  description: True when the CLI was found and is at least O(minimum_version).
  returned: always
  type: bool
  sample: true
reason:
  description: Why the minimum is not met, on one line; empty when it is.
  returned: always
  type: str
  sample: ""
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli, parse_version
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, InvalidInput


def body(module):
    params = module.params
    minimum = params["minimum_version"]
    try:
        parse_version(minimum)
    except CliError:
        raise InvalidInput("minimum_version %r is not a version like 2.48.3" % (minimum,))
    result = dict(changed=False, found=False, minimum_version=minimum, meets_minimum=False, reason="")
    try:
        cli = SupabaseCli(path=params["path"], timeout=60)
        result.update(found=True, path=cli.path)
        result["version"] = cli.version()
        cli.require_version(minimum)
        result["meets_minimum"] = True
    except CliError as exc:
        if "version" not in result:
            result["found"] = False
        if params["fail_on_unmet"]:
            raise CliError(str(exc), **result)
        result["reason"] = str(exc)
    return result


def main():
    module = new_module(dict(
        path=dict(type="path"),
        minimum_version=dict(type="str", default="2.48.3"),
        fail_on_unmet=dict(type="bool", default=True),
    ), with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
