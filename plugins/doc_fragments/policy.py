# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options of the modules the database's policy guards; ``policy_guard.policy_argument_spec()`` is their spec."""

    DOCUMENTATION = r'''
options:
  approval_max_age:
    description:
      - Seconds; this run accepts only an approval younger than this. It can only make the database's policy
        stricter (C(hotdash_audit.policy), see M(hotdash.supabase.db_policy)); a larger value changes nothing.
    type: float
  require_verified_approval:
    description:
      - This run accepts only an SSH-signed or AWX workflow approval, even where the policy accepts a typed one.
        C(false) never lowers a policy that requires one.
    type: bool
    default: false
  run_id:
    description: Identifier of the run, recorded with a refusal and with the release (C(hotdash_audit)).
    type: str
  inventory_host:
    description: Inventory host name recorded with a refusal and with the release. Not C(host), an alias of O(login_host).
    type: str
notes:
  - Before its first change the module reads the database's policy and the evidence the database holds (approvals
    bound to the plan digest, the database clock, recorded backups, the release run) and refuses, in one line recorded
    in C(hotdash_audit.refusals), when the change does not meet it; nothing is changed then. In check mode it refuses
    nothing and returns the decision, with the plan digest an approval must cover, in RV(policy_check). See
    C(docs/approvals.md).
'''

    AUTOMATIC = r'''
options:
  run_key:
    description:
      - The secret key of the release run this rollback undoes, as M(hotdash.supabase.migration_apply) returned it
        (C(policy_check.release.run_key)) to the run that applied. With O(trigger) it lets a production rollback through
        without a new approval, but only for versions that release planned, within the policy's
        C(automatic_rollback_window); the trigger is recorded in C(hotdash_audit.rollback_triggers).
    type: str
'''
