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

The approval covers ``plans``: per database, the plan digest the module that makes the change computed (check
mode). Two verifiable forms stand beside the typed one: ``statement_file`` (an approval statement signed with
``ssh-keygen -Y sign``, its ``.sig`` beside it; the approver, ticket and time are the signed ones), and
``awx_approval`` under AWX (the approver and time are read from the AWX API when the record is stored). When a
headless run has no approval, ``request_file`` receives the approval request an approver can sign.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import os

from ansible.errors import AnsiblePromptInterrupt, AnsiblePromptNoninteractive
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.hotdash.supabase.plugins.module_utils import acknowledgements, approval, approval_evidence, audit
from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import write_file
from ansible_collections.hotdash.supabase.plugins.module_utils.plan_digest import is_digest
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_guard import operator_identity
from ansible_collections.hotdash.supabase.plugins.module_utils.ssh_signature import verify as verify_signature
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
    # raw, not str: Ansible would turn a list into the text "['x']"; approval_evidence.printable_text decides
    approver=dict(type="raw"),
    ticket=dict(type="raw"),
    approved_at=dict(type="str"),
    max_age_hours=dict(type="float", default=approval.DEFAULT_MAX_AGE_HOURS),
    waiver_reason=dict(type="str"),
    protected_environments=dict(type="list", elements="str", default=["production"], choices=list(ENVIRONMENTS)),
    run_id=dict(type="str"),
    required_acknowledgements=dict(type="list", elements="dict", default=[]),
    acknowledgements=dict(type="dict", default={}),
    plans=dict(type="list", elements="dict", default=[]),
    statement_file=dict(type="path"),
    allowed_signers_file=dict(type="path"),
    awx_approval=dict(type="bool", default=False),
    window_override=dict(type="str"),
    request_file=dict(type="path"),
    refusal=dict(type="dict"),
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
        if args["refusal"]:  # fail with the refusal the gate returned earlier (recorded in each database since)
            refusal = args["refusal"]
            result.update((key, refusal[key]) for key in approval.REFUSAL_DETAILS if key in refusal)
            result.update(failed=True, msg=str(refusal.get("msg") or "the approval gate refused"))
            return result
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
        plans = [self._plan(plan) for plan in args["plans"]]
        common = dict(versions=args["versions"], summary=args["summary"] or None, hosts=args["hosts"],
                      run_id=args["run_id"], plans=plans, operator=operator_identity(),
                      window_override=self._text(args["window_override"], "supabase_approval_window_override", 300))
        if mode == "waiver":
            reason = approval.check_waiver(gate, environment, args["waiver_reason"], args["protected_environments"])
            return audit.build_record(gate, environment,
                                      self._text(args["approver"], "supabase_approval_approver") or controller_user(),
                                      utc_now(), "waiver", ticket=self._text(args["ticket"], "supabase_approval_ticket"),
                                      reason=reason, **common)
        if args["statement_file"]:
            return self._signed(args, checklist, common)
        if args["awx_approval"] and mode != "interactive":
            return self._awx(args, checklist, common)
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
        ticket = self._text(args["ticket"], "supabase_approval_ticket")
        if not ticket:
            ticket = approval_evidence.printable_text(display.prompt_until("Change ticket: ", private=False),
                                                      "change ticket")
        return audit.build_record(gate, environment,
                                  self._text(args["approver"], "supabase_approval_approver") or controller_user(),
                                  utc_now(), "interactive", ticket=ticket, acknowledgements=acknowledged, **common)

    @staticmethod
    def _text(value, name, max_length=approval_evidence.MAX_TEXT):
        """Optional printable text: None when not given, InvalidInput for a list, dict or invisible characters."""
        if value is None or value == "":
            return None
        return approval_evidence.printable_text(value, name, max_length)

    @staticmethod
    def _plan(plan):
        if not is_digest(plan.get("digest")):
            raise approval.ApprovalRefused("plan %r has no plan digest (sha256:...): compute it with the module's "
                                           "check mode (policy_check.plan)" % (plan,))
        return dict((key, plan.get(key)) for key in ("host", "digest", "database", "versions") if key in plan)

    def _headless(self, args, checklist, common, reason):
        try:
            approver, ticket, approved_at, acknowledged = acknowledgements.check_headless_approval(
                args["gate"], args["environment"], args["approver"], args["ticket"], args["approved_at"],
                args["max_age_hours"], checklist=checklist, acknowledgements=args["acknowledgements"], reason=reason)
        except approval.ApprovalRefused as exc:
            raise self._with_request(args, common, exc)
        return audit.build_record(args["gate"], args["environment"], approver, approved_at, "headless",
                                  ticket=ticket, acknowledgements=acknowledged, **common)

    @staticmethod
    def _with_request(args, common, exc):
        """The refusal, plus the approval request written for an approver to sign (when there are plans)."""
        if not args["request_file"] or not common["plans"]:
            return exc
        request = approval_evidence.build_request(args["gate"], args["environment"], common["plans"])
        write_file(args["request_file"], request)
        return approval.ApprovalRefused("%s; or have an approver sign %s (tools/sign_approval.py) and pass "
                                        "supabase_approval_statement_file" % (exc, args["request_file"]),
                                        **dict(exc.result, request_file=args["request_file"]))

    def _signed(self, args, checklist, common):
        """An approval statement signed with ssh-keygen -Y sign: who, which ticket and when are the signed ones."""
        statement, signature = approval_evidence.read_signed_statement(args["statement_file"])
        parsed = approval_evidence.check_signed_statement(statement, args["gate"], args["environment"],
                                                          common["plans"])
        evidence = {"statement": statement, "signature": signature, "file": args["statement_file"]}
        if args["allowed_signers_file"]:
            with open(args["allowed_signers_file"]) as handle:
                evidence["allowed_signers"] = handle.read()
            verify_signature(statement, signature, parsed["approver"], evidence["allowed_signers"])
        approver, ticket, approved_at, acknowledged = acknowledgements.check_headless_approval(
            args["gate"], args["environment"], parsed["approver"], parsed["ticket"], parsed["approved_at"],
            args["max_age_hours"], checklist=checklist, acknowledgements=args["acknowledgements"],
            reason="the approval is a signed statement")
        common = dict(common, window_override=parsed["window_override"] or common["window_override"])
        return audit.build_record(args["gate"], args["environment"], approver, approved_at, "headless", ticket=ticket,
                                  acknowledgements=acknowledged, proof="ssh_signature", evidence=evidence, **common)

    @staticmethod
    def _awx(args, checklist, common):
        """Under AWX: the workflow's approval node approves; approval_record reads who and when from the AWX API."""
        if not os.environ.get("JOB_ID"):
            raise approval.ApprovalRefused("supabase_approval_awx is set but this is not an AWX job (no JOB_ID); "
                                           "launch the AWX workflow, or pass a typed or signed approval")
        acknowledged = acknowledgements.check_acknowledgements(
            args["gate"], args["environment"], checklist, args["acknowledgements"], utc_now(), "this is an AWX job")
        return audit.build_record(args["gate"], args["environment"], "AWX workflow approval node", utc_now(),
                                  "headless", ticket=approval_evidence.printable_text(args["ticket"], "ticket")
                                  if args["ticket"] else None, acknowledgements=acknowledged, proof="awx_workflow",
                                  evidence={"job_id": os.environ["JOB_ID"]}, **common)
