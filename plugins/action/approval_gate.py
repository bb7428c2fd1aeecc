# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin ``hotdash.supabase.approval_gate``: the fail-closed approval gate.

Runs on the controller only (nothing is sent to the host). How it decides who is approving:

1. ``mode: waiver`` -> a recorded waiver with a reason, refused for production.
2. ``mode: headless``, or ``mode: auto`` when an automation marker is set in the environment
   (``AWX_ISOLATED_DATA_DIR`` from ansible-runner/AWX, ``JOB_ID``, ``CI``...) -> the approval must be
   passed in as variables (approver, ticket, timestamp); nothing waits.
3. otherwise it asks through Ansible's display (``Display.prompt_until``). In a fork that call is
   proxied to the main ``ansible-playbook`` process, which checks that *its* stdin is a terminal in
   the foreground. If it is not, Ansible raises ``AnsiblePromptNoninteractive`` and the gate falls back
   to the headless check (``mode: auto``) or fails (``mode: interactive``). ``ansible.builtin.pause``
   swallows that exception and continues with an empty answer; this gate never does.

A gate may require a checklist of acknowledgements (``required_acknowledgements``): on a terminal each
item is asked before the final ``yes``; headless, the answers come in ``acknowledgements`` (name -> value)
and every missing or invalid one is named at once. A waiver waives the checklist with the approval.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import os

from ansible.errors import AnsiblePromptInterrupt, AnsiblePromptNoninteractive
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.hotdash.supabase.plugins.module_utils import acknowledgements, approval, audit
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import ENVIRONMENTS, environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.report import module_result
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import utc_now

display = Display()

ARGUMENT_SPEC = dict(
    gate=dict(type="str", required=True, choices=list(approval.GATES)),
    environment=environment_option(required=True),
    mode=dict(type="str", default="auto", choices=list(approval.MODES)),
    summary=dict(type="str", default=""),
    versions=dict(type="list", elements="str", default=[]),
    hosts=dict(type="list", elements="str", default=[]),
    approver=dict(type="str"),
    ticket=dict(type="str"),
    approved_at=dict(type="str"),
    max_age_hours=dict(type="float", default=approval.DEFAULT_MAX_AGE_HOURS),
    waiver_reason=dict(type="str"),
    protected_environments=dict(type="list", elements="str", default=["production"], choices=list(ENVIRONMENTS)),
    run_id=dict(type="str"),
    required_acknowledgements=dict(type="list", elements="dict", default=[]),
    acknowledgements=dict(type="dict", default={}),
)


def controller_user():
    for name in ("USER", "LOGNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except Exception:  # pylint: disable=broad-except
        return "unknown"


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        result["changed"] = False
        try:
            checklist = acknowledgements.normalize_checklist(args["required_acknowledgements"], gate=args["gate"])
            record = self._decide(args, checklist)
        except SupabaseError as exc:
            result.update(exc.result)
            result["failed"] = True
            result["msg"] = str(exc)
            return result
        result.update(module_result([approval.approval_check(record)]
                                    + acknowledgements.acknowledgement_checks(checklist, record["acknowledgements"]),
                                    record=record))
        result["msg"] = "gate %s on %s approved by %s (%s)" % (
            record["gate"], record["environment"], record["approver"], record["mode"])
        return result

    def _decide(self, args, checklist):
        gate, environment, mode = args["gate"], args["environment"], args["mode"]
        approval.validate_gate(gate, mode)
        common = dict(versions=args["versions"], summary=args["summary"] or None, hosts=args["hosts"],
                      run_id=args["run_id"])
        if mode == "waiver":
            reason = approval.check_waiver(gate, environment, args["waiver_reason"], args["protected_environments"])
            return audit.build_record(gate, environment, args["approver"] or controller_user(),
                                      utc_now(), "waiver", ticket=args["ticket"], reason=reason, **common)
        if mode == "auto":
            marker = approval.automation_marker(os.environ)
            if marker:
                return self._headless(args, checklist, common, "this run is automated (%s is set)" % marker)
        if mode == "headless":
            return self._headless(args, checklist, common, "supabase_approval_mode is headless")
        text = approval.prompt_text(gate, environment, args["hosts"], args["versions"], args["summary"], checklist)
        acknowledged = {}
        try:
            # The first question carries the whole text: it is also where a run without a terminal is detected.
            header = "\n%s\n" % text
            for number, item in enumerate(checklist, 1):
                answer = display.prompt_until(header + acknowledgements.acknowledgement_prompt(item, number, len(checklist)),
                                              private=False)
                header = ""
                acknowledged[item["name"]] = acknowledgements.check_acknowledgement_answer(item, answer, gate, environment)
            answer = display.prompt_until("%sApprove %s on %s? " % (header, gate, environment), private=False)
        except AnsiblePromptNoninteractive:
            if mode == "interactive":
                raise approval.ApprovalRefused(
                    "supabase_approval_mode is interactive but the controller's stdin is not a terminal; run "
                    "ansible-playbook from a terminal or pass %s with supabase_approval_mode=headless"
                    % ", ".join(approval.HEADLESS_VARIABLES + ((acknowledgements.ACKNOWLEDGEMENTS_VARIABLE,) if checklist else ())),
                    gate=gate, environment=environment)
            return self._headless(args, checklist, common, "this run has no terminal")
        except AnsiblePromptInterrupt:
            raise approval.ApprovalRefused("gate %s on %s was not approved: the prompt was interrupted"
                                           % (gate, environment), gate=gate, environment=environment)
        approval.check_answer(answer, gate, environment)
        return audit.build_record(gate, environment, args["approver"] or controller_user(), utc_now(),
                                  "interactive", ticket=args["ticket"], acknowledgements=acknowledged, **common)

    @staticmethod
    def _headless(args, checklist, common, reason):
        approver, ticket, approved_at, acknowledged = acknowledgements.check_headless_approval(
            args["gate"], args["environment"], args["approver"], args["ticket"], args["approved_at"],
            args["max_age_hours"], checklist=checklist, acknowledgements=args["acknowledgements"], reason=reason)
        return audit.build_record(args["gate"], args["environment"], approver, approved_at, "headless",
                                  ticket=ticket, acknowledgements=acknowledged, **common)
