# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard: before a module changes a database, the database's policy decides whether it may.

``migration_apply``, ``migration_repair``, ``migration_rollback``, ``db_read_only`` and ``db_policy`` describe
the change they are about to make (a :class:`Change`: its kind, its ordered steps with checksums) and call
:func:`check` *before* their first write. The guard reads the policy and the evidence from the database
itself (approvals bound to the plan digest, backups, release runs) and the database's clock, so nothing a
run passes as a variable can satisfy it except by being true:

- an approval counts only for the exact plan digest the guard computes from the change, at the gate the
  policy assigns, within the policy's age, of the kind the policy requires (typed, SSH-signed, AWX);
- the window is judged on the database's clock; the backup by what ``hotdash_audit.backups`` holds;
  promotion by the pinned staging database's own history;
- an automatic rollback needs the secret run key of the release run it rolls back (only the run that
  applied knows it), within the policy's window, for versions that run planned.

A refusal is one line naming everything missing; it is recorded in ``hotdash_audit.refusals`` before the
module fails, and nothing else is written. In check mode nothing is recorded and nothing fails: the result
says what would be refused, and carries the plan digest an approval must cover.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import secrets

from ansible_collections.hotdash.supabase.plugins.module_utils import (
    approval_evidence,
    awx_api,
    maintenance_window,
    plan_digest,
    policy as policy_model,
    policy_audit,
    ssh_signature,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, PolicyRefused, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief

KINDS = ("apply", "repair", "rollback", "read_only", "policy")
_GATES = {"repair": "drift_resolution", "rollback": "production_rollback", "read_only": "production_rollback",
          "policy": policy_model.POLICY_CHANGE_GATE}


class Change(object):
    """What a module is about to do to one database.

    ``kind``: apply, repair, rollback, read_only or policy. ``action``: the module (and variant) named in
    the digest and the refusal, e.g. ``migration_rollback:down_scripts``. ``steps``: ordered
    ``{version, checksum}`` (``plan_digest.step``). ``extra``: action facts hashed with the steps.
    ``promotion``: a callable ``(promotion_source) -> problem or None`` for an apply. ``trigger`` and
    ``run_key``: an automatic rollback's reason/evidence and the key of the release run it undoes.
    ``requested``: what the run asks for on top of the policy (``policy.REQUESTABLE``).
    """

    def __init__(self, kind, action, environment, steps=(), extra=None, promotion=None, trigger=None, run_key=None,
                 requested=None, run_id=None, host=None, new_policy=None):
        if kind not in KINDS:
            raise InvalidInput("unknown change kind %r" % (kind,))
        self.kind = kind
        self.action = action
        self.environment = environment
        self.steps = [plan_digest.step(s["version"], s["checksum"]) for s in steps or []]
        self.extra = extra
        self.promotion = promotion
        self.trigger = trigger or None
        self.run_key = run_key or None
        self.requested = dict((k, v) for k, v in (requested or {}).items() if v is not None)
        self.run_id = run_id
        self.host = host
        self.new_policy = new_policy

    @property
    def versions(self):
        return [s["version"] for s in self.steps]


def operator_identity():
    """Who runs the change: the controller's login name, from the user database, not from ``$USER``."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "uid %d" % os.geteuid()


def _database_now(cur):
    cur.execute("SELECT now()")
    return cur.fetchone()[0]


def gather(cur, change):
    """Read everything the decision needs, in one transaction: policy, identity, clock and evidence."""
    stored = policy_audit.current_policy(cur)
    facts = {"identity": plan_digest.database_identity(cur), "now": _database_now(cur), "stored": stored}
    policy, source, tightened = _effective(stored, change)
    gate = gate_for(change, policy)
    digest = digest_for(change, facts["identity"], policy, stored)
    facts.update(policy=policy, source=source, tightened=tightened, gate=gate, digest=digest)
    facts["approvals"] = policy_audit.approvals_for(cur, gate, None if change.kind == "read_only" else digest)
    facts["gate_approvals"] = policy_audit.approvals_for(cur, gate) if not facts["approvals"] else []
    facts["backup"] = policy_audit.newest_backup(cur) if change.kind == "apply" and policy["backup_max_age"] else None
    facts["release"] = policy_audit.release_run_for_key(cur, change.run_key) if change.trigger else None
    return facts


def _effective(stored, change):
    current = policy_model.normalize(policy_model.canonical(stored)) if stored else None
    if change.kind != "policy":
        return policy_model.effective(current, change.environment, change.requested)
    # A policy change is held to the stricter of the policy in force and the one it sets, and always needs an
    # approval: nobody lowers a gate by changing the rules, and new signers do not admit themselves.
    new = change.new_policy
    rules = dict(new)
    rules["require_approval"] = True
    if current:
        rules["approval_max_age"] = min(current["approval_max_age"], new["approval_max_age"])
        for name in ("require_verified_approval", "require_distinct_approver"):
            rules[name] = current[name] or new[name]
        if current["require_verified_approval"]:
            rules["allowed_signers"], rules["awx_url"] = current["allowed_signers"], current["awx_url"]
    rules["allowed_waivers"] = []
    merged, tightened = policy_model.stricter(rules, change.requested)
    return merged, "database" if current else "change", tightened


def gate_for(change, policy):
    if change.kind == "apply":
        return policy_model.apply_gate(policy["environment"])
    return _GATES[change.kind]


def digest_for(change, identity, policy, stored):
    if change.kind == "policy":
        return policy_model.change_digest(identity, stored, change.new_policy)
    return plan_digest.plan_digest(identity, gate_for(change, policy), policy["environment"], change.action,
                                   change.steps, change.extra)


# -- the decision -----------------------------------------------------------------------------------------------------

def _approval_problem(row, change, facts, operator, verify):
    """Why approval row ``row`` does not cover the change (one phrase), or None."""
    policy = facts["policy"]
    label = "approval #%s" % row["id"]
    if row["environment"] != policy["environment"]:
        return "approval", "%s is for environment %s, not %s" % (label, row["environment"], policy["environment"])
    if row["mode"] == "waiver":
        if facts["gate"] not in policy["allowed_waivers"]:
            return "waiver", "%s is a waiver; the policy allows no waiver at gate %s" % (label, facts["gate"])
    else:
        for name in ("approver", "ticket"):
            try:
                approval_evidence.printable_text(row.get(name), name)
            except InvalidInput as exc:
                return "approval", "%s: %s" % (label, exc)
    age = approval_evidence.check_age(approval_evidence.parse_time(row["approved_at"], "approved_at"), facts["now"],
                                      policy["approval_max_age"], label)
    if age:
        return "approval_age", age
    proof = row.get("proof") or "typed"
    if policy["require_verified_approval"] and proof not in approval_evidence.VERIFIED_PROOFS:
        return "verified_approval", ("%s is %s by %s; the policy requires an SSH-signed or AWX workflow approval"
                                     % (label, proof, row["approver"]))
    if proof == "ssh_signature":
        problem = _signature_problem(row, facts, verify)
        if problem:
            return "verified_approval", "%s: %s" % (label, problem)
    elif proof == "awx_workflow":
        evidence = row.get("evidence") or {}
        if not policy["awx_url"] or evidence.get("awx_url") != policy["awx_url"]:
            return "verified_approval", ("%s was verified against AWX %s, not the policy's %s"
                                         % (label, evidence.get("awx_url"), policy["awx_url"] or "(none)"))
    if policy["require_distinct_approver"]:
        others = [operator, row.get("operator"), (row.get("evidence") or {}).get("launched_by")]
        for other in others:
            if other and approval_evidence.same_person(row["approver"], other):
                return "distinct_approver", ("%s is by %s, who also runs the change; the policy requires another "
                                             "approver" % (label, row["approver"]))
    return None


def _signature_problem(row, facts, verify):
    evidence = row.get("evidence") or {}
    signers = facts["policy"]["allowed_signers"]
    if not signers.strip():
        return "the policy pins no allowed_signers to verify the signature against"
    try:
        statement = approval_evidence.parse_statement(evidence.get("statement"))
    except InvalidInput as exc:
        return "its signed statement is unusable: %s" % exc
    for name in ("gate", "environment", "approver", "ticket", "approved_at"):
        recorded = row.get(name)
        if name == "approved_at":
            recorded = approval_evidence.iso(approval_evidence.parse_time(recorded, name))
        if statement[name] != recorded:
            return "the signed statement says %s %s, the record %s" % (name, statement[name], recorded)
    if facts["digest"] not in statement["plans"] and row.get("plan_digest") not in statement["plans"]:
        return "the signed statement does not name plan %s" % plan_digest.short(facts["digest"])
    try:
        verify(evidence["statement"], evidence.get("signature"), statement["approver"], signers)
    except SupabaseError as exc:
        return str(exc)
    return None


def _window_problem(policy, now, approval):
    status, detail, remedy, data = maintenance_window.evaluate(policy["windows"], now)
    del remedy, data
    if status == "ok":
        return None
    override = (approval or {}).get("window_override")
    if override and policy["allow_window_override"]:
        return None
    hint = ("; the approval may carry a window override reason" if policy["allow_window_override"]
            else "; the policy allows no override")
    return "window", detail + hint


def _backup_problem(policy, now, backup):
    if not policy["backup_max_age"]:
        return None
    if not backup:
        return "backup", "no backup recorded in hotdash_audit.backups; take one (hotdash.supabase.backup) first"
    age = (now - backup["taken_at"]).total_seconds()
    if age > policy["backup_max_age"]:
        return "backup", ("the newest backup (%s, %s) is %s old; the policy accepts at most %s"
                          % (backup["provider"], approval_evidence.iso(backup["taken_at"]),
                             approval_evidence.duration(age), approval_evidence.duration(policy["backup_max_age"])))
    return None


def _automatic_problem(change, facts):
    """Why the trigger + run key do not prove an automatic rollback of this run's own release, or None."""
    release, policy = facts["release"], facts["policy"]
    if not change.run_key:
        return "a trigger without the run key of the release it rolls back (only the run that applied has it)"
    if not release:
        return "the run key matches no release run recorded in this database"
    if release["environment"] != policy["environment"]:
        return "release run #%s was a %s release" % (release["id"], release["environment"])
    age = (facts["now"] - release["started_at"]).total_seconds()
    if age > policy["automatic_rollback_window"]:
        return "release run #%s started %s ago, beyond the automatic rollback window of %s" % (
            release["id"], approval_evidence.duration(age), approval_evidence.duration(policy["automatic_rollback_window"]))
    extra = sorted(set(change.versions) - set(release["versions"] or []))
    if extra:
        return "release run #%s did not apply %s" % (release["id"], brief(extra))
    reason = (change.trigger or {}).get("reason") if isinstance(change.trigger, dict) else change.trigger
    if not str(reason or "").strip():
        return "the trigger names no reason"
    return None


def evaluate(change, facts, operator, verify=ssh_signature.verify):
    """``(problems, approval)``: a list of ``(code, phrase)`` (empty when the change may go ahead) and the
    approval row that covers it (or None)."""
    policy, problems = facts["policy"], []
    stored = facts["stored"]
    if facts["source"] == "database" and change.kind != "policy" and change.environment != policy["environment"]:
        problems.append(("environment", "the database is labelled %s by its policy #%s; this run says %s"
                         % (policy["environment"], stored["id"], change.environment)))
    if change.kind in ("apply", "repair", "rollback") and not change.steps:
        return problems, None
    approval = None
    if policy["require_approval"]:
        approval, problem = _covering_approval(change, facts, operator, verify)
        if problem and change.kind in ("rollback", "read_only") and change.trigger is not None:
            # An automatic rollback: the run's own release, proven by its run key, instead of a person.
            automatic = _automatic_problem(change, facts)
            problem = None if automatic is None else (
                "automatic_rollback", "automatic rollback refused: %s; and %s" % (automatic, problem[1]))
        if problem:
            problems.append(problem)
    if change.kind in ("apply", "repair") and policy["windows"]:
        problem = _window_problem(policy, facts["now"], approval)
        if problem:
            problems.append(problem)
    if change.kind == "apply":
        problem = _backup_problem(policy, facts["now"], facts["backup"])
        if problem:
            problems.append(problem)
        if policy["require_promotion"] and change.steps:
            found = change.promotion(policy["promotion_source"]) if change.promotion else (
                "no staging connection was given to check promotion against")
            if found:
                problems.append(("promotion", found))
    return problems, approval


def _covering_approval(change, facts, operator, verify):
    """``(row, None)`` for the newest approval that covers the change, or ``(None, (code, phrase))``."""
    first_problem = None
    for row in facts["approvals"]:
        problem = _approval_problem(row, change, facts, operator, verify)
        if problem is None:
            return row, None
        first_problem = first_problem or problem
    if first_problem:
        return None, first_problem
    what = "no %s approval" % facts["gate"]
    if change.kind != "read_only":
        what += " covers plan %s (%s)" % (plan_digest.short(facts["digest"]), _steps_text(change))
    else:
        what += " of this database within %s" % approval_evidence.duration(facts["policy"]["approval_max_age"])
    others = facts["gate_approvals"]
    if others:
        newest = others[0]
        what += ("; the newest %s approval (#%s by %s) is for plan %s: another plan, another database, or a "
                 "migration changed since" % (facts["gate"], newest["id"], newest["approver"],
                                              plan_digest.short(newest.get("plan_digest") or "none")))
    return None, ("approval", what)


def _steps_text(change):
    versions = change.versions
    if change.kind == "policy":
        return "the new policy"
    if not versions:
        return "no versions"
    return "%d version(s): %s" % (len(versions), brief(versions, 3))


def refusal_message(change, facts, problems):
    source = facts["source"]
    if source == "database":
        whose = "the %s policy #%s of this database" % (facts["policy"]["environment"], facts["stored"]["id"])
    elif source == "change":
        whose = "the policy change rules"
    else:
        whose = "the %s rules of this run (the database has no policy)" % facts["policy"]["environment"]
    return "%s refused by %s: %s" % (change.action, whose, "; ".join(problem[1] for problem in problems))


# -- the guard as a module calls it ----------------------------------------------------------------------------------

def _record_refusal(conn, message, action, **fields):
    """Record the refusal in its own transaction; ``(id, message)``, the message saying when it could not be."""
    try:
        with conn:
            with conn.cursor() as cur:
                return policy_audit.record_refusal(cur, action, message, **fields), message
    except Exception as exc:  # pylint: disable=broad-except
        return None, message + " (the refusal could not be recorded: %s)" % str(exc).strip().splitlines()[0]


def check(conn, change, check_mode=False, operator=None, verify=ssh_signature.verify):
    """Decide whether ``change`` may be made; record the refusal or the release. ``conn`` is a fresh psycopg2
    connection the guard commits on (writes even when the database is held read-only).

    Returns a dict for the module result (``policy``: environment, source, gate, plan digest, the approval
    used, ``refusal`` in check mode, ``release`` with its run key for an apply). Raises PolicyRefused.
    """
    operator = operator or operator_identity()
    with conn.cursor() as cur:
        cur.execute("SET default_transaction_read_only = off")
    conn.commit()
    with conn:
        with conn.cursor() as cur:
            facts = gather(cur, change)
            problems, approval = evaluate(change, facts, operator, verify)
    result = {
        "environment": facts["policy"]["environment"],
        "source": facts["source"],
        "policy_id": facts["stored"]["id"] if facts["stored"] else None,
        "gate": facts["gate"],
        "plan_digest": facts["digest"],
        "plan": plan_digest.plan_summary(facts["identity"], facts["gate"], facts["policy"]["environment"],
                                         change.action, change.steps, facts["digest"]),
        "approval_id": approval["id"] if approval else None,
        "approver": approval["approver"] if approval else None,
        "tightened": facts["tightened"],
        "operator": operator,
    }
    if problems:
        message = refusal_message(change, facts, problems)
        result["refusal"] = message
        result["missing"] = [problem[0] for problem in problems]
        if check_mode:
            return result
        result["refusal_id"], message = _record_refusal(
            conn, message, action=change.action, missing=result["missing"], gate=facts["gate"],
            environment=facts["policy"]["environment"], plan_digest=facts["digest"], versions=change.versions,
            operator=operator, run_id=change.run_id, host=change.host,
            detail={"source": facts["source"], "tightened": facts["tightened"]})
        raise PolicyRefused(message, policy_check=result, changed=False)
    if check_mode or facts["source"] == "none":
        return result
    with conn:
        with conn.cursor() as cur:
            if change.kind == "rollback" and change.trigger is not None and approval is None and facts["release"]:
                trigger = change.trigger if isinstance(change.trigger, dict) else {"reason": str(change.trigger)}
                result["trigger_id"] = policy_audit.record_rollback_trigger(
                    cur, facts["release"]["id"], change.action, str(trigger.get("reason")), trigger.get("evidence"),
                    change.versions, run_id=change.run_id, host=change.host)
                result["release_run_id"] = facts["release"]["id"]
            elif change.kind == "apply" and change.steps:
                run_key = secrets.token_hex(32)
                release_id, started_at = policy_audit.record_release_run(
                    cur, facts["policy"]["environment"], change.action, facts["digest"], result["approval_id"],
                    change.versions, run_key, operator=operator, run_id=change.run_id, host=change.host)
                result["release"] = {"id": release_id, "run_key": run_key,
                                     "started_at": approval_evidence.iso(started_at)}
    return result


# -- recording an approval ------------------------------------------------------------------------------------------

# Gates a database of each label can hold approvals for: a production database never records an apply_staging
# approval (or waiver) as if it let a production change through, and a staging one never an apply_production.
GATES_BY_ENVIRONMENT = {
    "production": ("apply_production", "production_rollback", "drift_resolution", "policy_change"),
    "staging": ("apply_staging", "production_rollback", "drift_resolution", "policy_change"),
    "local": ("apply_staging", "production_rollback", "drift_resolution", "policy_change"),
}


def _awx_client(policy, environ):
    return awx_api.AwxApi(policy["awx_url"], **awx_api.credentials_from_env(environ))


def _record_problems(record, stored, facts, environ, verify, awx_client):
    """``(problems, record)``: what makes ``record`` unfit for this database, and the record to store."""
    problems, record = [], dict(record)
    environment = stored["environment"] if stored else record.get("environment")
    if stored and record.get("environment") != stored["environment"]:
        problems.append(("environment", "the approval is for %s; this database is labelled %s by its policy #%s"
                         % (record.get("environment"), stored["environment"], stored["id"])))
    if stored and record.get("gate") not in GATES_BY_ENVIRONMENT[stored["environment"]]:
        problems.append(("gate", "gate %s does not guard a %s database" % (record.get("gate"), stored["environment"])))
    if record.get("mode") == "waiver":
        allowed = stored["allowed_waivers"] if stored else ([] if environment == "production" else None)
        if allowed is not None and record.get("gate") not in allowed:
            problems.append(("waiver", "a waiver at gate %s is not allowed by the %s rules"
                             % (record.get("gate"), environment)))
    proof = record.get("proof") or "typed"
    record["proof"] = proof
    if proof not in approval_evidence.PROOFS:
        problems.append(("proof", "unknown approval proof %r; use one of %s" % (proof, ", ".join(approval_evidence.PROOFS))))
    elif proof == "awx_workflow":
        problem = _fill_from_awx(record, stored, environ, awx_client)
        if problem:
            problems.append(("verified_approval", problem))
    for name in ("approver", "ticket") if record.get("mode") != "waiver" else ("approver",):
        try:
            record[name] = approval_evidence.printable_text(record.get(name), name)
        except InvalidInput as exc:
            problems.append(("approval", str(exc)))
    if stored and not plan_digest.is_digest(record.get("plan_digest")):
        problems.append(("plan", "the approval names no plan digest for this database, so it would approve nothing"))
    if proof == "ssh_signature" and not problems:
        facts = dict(facts, policy=stored or facts["policy"], digest=record.get("plan_digest"))
        signers = (stored or {}).get("allowed_signers") or (record.get("evidence") or {}).get("allowed_signers") or ""
        facts["policy"] = dict(facts["policy"], allowed_signers=signers)
        problem = _signature_problem(record, facts, verify)
        if problem:
            problems.append(("verified_approval", problem))
    return problems, record


def _fill_from_awx(record, stored, environ, awx_client):
    """Replace who and when by what AWX recorded for this job's approval node; a problem phrase or None."""
    if not stored or not stored.get("awx_url"):
        return "an AWX workflow approval needs the database policy's awx_url (set it with db_policy)"
    try:
        found = awx_api.verify_workflow_approval(awx_client(stored, environ), environ.get("JOB_ID"))
    except SupabaseError as exc:
        return str(exc)
    record.update(approver=found["approver"], approved_at=found["approved_at"], evidence=found,
                  ticket=record.get("ticket") or "AWX workflow job %s, approval %s" % (
                      found["workflow_job_id"], found["approval_id"]))
    return None


def check_record(conn, record, host=None, run_id=None, environ=None, verify=ssh_signature.verify,
                 awx_client=_awx_client, check_mode=False, operator=None):
    """Before ``approval_record`` writes ``record`` into this database: the record to store (approver, ticket and
    proof verified; an AWX approval's approver and time read from AWX), or PolicyRefused (recorded)."""
    environ = os.environ if environ is None else environ
    operator = operator or operator_identity()
    with conn:
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = off")
            raw = policy_audit.current_policy(cur)
            stored = policy_model.normalize(policy_model.canonical(raw)) if raw else None
            if stored:
                stored["id"] = raw["id"]
            facts = {"identity": plan_digest.database_identity(cur), "now": _database_now(cur),
                     "policy": stored or policy_model.defaults(record.get("environment")
                                                               if record.get("environment") in policy_model.ENVIRONMENTS
                                                               else "local")}
    problems, stored_record = _record_problems(record, stored, facts, environ, verify, awx_client)
    stored_record["operator"] = operator
    if not problems:
        return stored_record
    message = "approval for gate %s refused by %s: %s" % (
        record.get("gate"), "the %s policy #%s of this database" % (stored["environment"], stored["id"]) if stored
        else "the approval rules", "; ".join(problem[1] for problem in problems))
    if not check_mode:
        message = _record_refusal(
            conn, message, action="approval_record", missing=[problem[0] for problem in problems],
            gate=record.get("gate") if isinstance(record.get("gate"), str) else None,
            environment=record.get("environment") if isinstance(record.get("environment"), str) else None,
            plan_digest=record.get("plan_digest") if plan_digest.is_digest(record.get("plan_digest")) else None,
            operator=operator, run_id=run_id, host=host)[1]
    raise PolicyRefused(message, changed=False)


def record_gate_refusal(conn, gate, environment, message, host=None, run_id=None, operator=None):
    """The approval gate refused before anything reached the database (a list as approver, an invisible ticket, no
    approval at all): record that refusal in a database that is labelled, or that the run calls production, so the
    trail shows every attempt. Returns the refusal id, or None where nothing is recorded (a database without a
    policy outside production: its audit schema is not created for this)."""
    operator = operator or operator_identity()
    with conn:
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = off")
            stored = policy_audit.current_policy(cur)
    if stored is None and environment != "production":
        return None
    return _record_refusal(conn, message, action="approval_gate", missing=["approval"],
                           gate=gate if gate in policy_model.GATES else None,
                           environment=environment if environment in policy_model.ENVIRONMENTS else None,
                           operator=operator, run_id=run_id, host=host)[0]


# -- promotion: the pinned staging database's own history ------------------------------------------------------------

def promotion_check(staging_settings, migrations):
    """For an apply of ``migrations`` (LocalMigration, in order): ``(promotion_source) -> problem or None``.

    Reads the staging database named by ``staging_settings`` (read-only) and refuses when it is not the database
    the policy pinned (system identifier and name) or when a version is missing there or differs in statements.
    """
    def problem(source):
        if staging_settings is None:
            return "the policy requires staging first and this run gave no staging connection (promotion_db_url)"
        try:
            conn = connect(staging_settings, application_name="hotdash.supabase policy guard (promotion)")
        except SupabaseError as exc:
            return "cannot read the staging database to check promotion: %s" % exc
        try:
            conn.set_session(readonly=True, autocommit=True)
            with conn.cursor() as cur:
                identity = plan_digest.database_identity(cur)
                if identity != source:
                    return ("promotion_db_url leads to %s, not the staging database %s the policy pins"
                            % (plan_digest.describe_identity(identity), plan_digest.describe_identity(source)))
                rows = read_history(cur)
        finally:
            conn.close()
        staged = dict((row.version, list(row.statements or [])) for row in rows)
        missing = [m.version for m in migrations if m.version not in staged]
        different = [m.version for m in migrations if m.version in staged and staged[m.version] != list(m.statements())]
        problems = []
        if missing:
            problems.append("%s not applied on staging %s" % (brief(missing), source["database"]))
        if different:
            problems.append("%s applied on staging %s with different statements"
                            % (brief(different), source["database"]))
        return "; ".join(problems) or None
    return problem


# -- what a module hands its engine --------------------------------------------------------------------------------

def policy_argument_spec(automatic=False):
    """Options every guarded module takes (documented by the ``hotdash.supabase.policy`` doc fragment); with
    ``automatic``, also the automatic rollback's ``run_key`` (``hotdash.supabase.policy.AUTOMATIC``)."""
    spec = dict(approval_max_age=dict(type="float"), require_verified_approval=dict(type="bool", default=False),
                run_id=dict(type="str"), inventory_host=dict(type="str"))
    if automatic:
        spec["run_key"] = dict(type="str", no_log=True)
    return spec


class Guard(object):
    """The callable a module gives its engine: ``guard(steps, check_mode, migrations=None, extra=None)``.

    The engine calls it with the steps it is about to run, after planning and before its first write (and in
    check mode, so the result carries the plan digest an approval must cover). It returns the decision for the
    module result (``policy_check``) or raises PolicyRefused.
    """

    def __init__(self, settings, kind, action, environment, params, trigger=None, promotion_settings=None):
        self.settings = settings
        self.kind = kind
        self.action = action
        self.environment = environment
        self.requested = {"approval_max_age": params.get("approval_max_age"),
                          "require_verified_approval": params.get("require_verified_approval") or None}
        self.run_id = params.get("run_id")
        self.host = params.get("inventory_host")
        self.run_key = params.get("run_key")
        self.trigger = trigger
        self.promotion_settings = promotion_settings
        self.decision = None
        self.backend_pids = []  # its connections' server processes (db_read_only does not count them as sessions)

    def __call__(self, steps, check_mode, migrations=None, extra=None):
        promotion = promotion_check(self.promotion_settings, migrations) if migrations is not None else None
        change = Change(self.kind, self.action, self.environment, steps=steps, extra=extra, promotion=promotion,
                        trigger=self.trigger, run_key=self.run_key, requested=self.requested, run_id=self.run_id,
                        host=self.host)
        # PostgreSQL keeps 63 bytes of an application_name
        conn = connect(self.settings, application_name=("hotdash.supabase guard %s" % self.action)[:63])
        try:
            self.backend_pids.append(conn.get_backend_pid())
            self.decision = check(conn, change, check_mode=check_mode)
        finally:
            conn.close()
        return self.decision
