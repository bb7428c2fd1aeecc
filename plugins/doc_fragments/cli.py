# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The Supabase CLI options of the modules that run it; ``cli.cli_argument_spec()`` is their spec."""

    DOCUMENTATION = r'''
options:
  cli_path:
    description: The Supabase CLI binary. Defaults to E(SUPABASE_CLI), then C(supabase) on E(PATH).
    type: path
'''

    MINIMUM_CLI_VERSION = r'''
options:
  minimum_cli_version:
    description:
      - Lowest Supabase CLI version accepted; an older CLI is refused with both versions named.
      - The runbook's minimum; C(make setup) installs the pinned 2.122.1.
    type: str
    default: 2.48.3
'''
