# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an approval proves, and the checks that keep it honest.

Three kinds of proof (``proof`` in the record and in ``hotdash_audit.approvals``):

- ``typed``: approver, ticket and time typed at a terminal or passed as variables. It records a claim:
  anyone who can run the play can type any name. Bound to the plan digest all the same.
- ``ssh_signature``: the approver signed an *approval statement* (below) with their SSH key; the
  signature is verified with ``ssh-keygen -Y verify`` against the allowed signers that the database's
  policy pins. The approver is the principal the key is listed under, not a typed name.
- ``awx_workflow``: the approval node of the AWX workflow this job runs in was approved; who approved and
  when come from the AWX API (``awx_api.py``), not from a variable.

Approver and ticket are printable text: a string (never a list, dict, number or boolean, which Ansible
would otherwise turn into ``"['x']"``), not blank, without control or invisible characters (a zero-width
space is not a ticket), NFC-normalised, at most 200 characters.

The approval statement is plain text, one ``key: value`` per line, so a person can read what they sign::

    hotdash.supabase approval v1
    gate: apply_production
    environment: production
    approver: maria@hotdash.example
    ticket: CHG-1042
    approved_at: 2026-11-30T02:05:00Z
    plan: sha256:<64 hex> database=7301234567890123456/hotdash host=hotdash_production versions=20251019090000

One ``plan:`` line per database the approval covers (a fleet approves once); only the digest counts
when checking, the rest says in words what the digest stands for.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import unicodedata

from ansible_collections.hotdash.supabase.plugins.module_utils import plan_digest
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import iso, parse_timestamp

PROOFS = ("typed", "ssh_signature", "awx_workflow")
VERIFIED_PROOFS = ("ssh_signature", "awx_workflow")
STATEMENT_HEADER = "hotdash.supabase approval v1"
REQUEST_HEADER = "hotdash.supabase approval request v1"
STATEMENT_FIELDS = ("gate", "environment", "approver", "ticket", "approved_at")
STATEMENT_OPTIONAL = ("window_override",)
MAX_TEXT = 200
# Unicode categories that print nothing or control the terminal: control, format (zero-width space, bidi
# overrides), surrogate, private use, unassigned, line and paragraph separators.
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
CLOCK_SKEW = datetime.timedelta(minutes=1)


def _kind(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing"
    return "a %s" % type(value).__name__


def printable_text(value, name, max_length=MAX_TEXT):
    """``value`` as clean text, or InvalidInput naming ``name`` and what is wrong, in one line."""
    if not isinstance(value, str):
        raise InvalidInput("%s must be text, got %s (%s); pass one plain string" % (name, _kind(value), _shown(value)))
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidInput("%s is empty or only whitespace; give who approved and the change ticket as plain text"
                           % name)
    for char in text:
        category = unicodedata.category(char)
        if category in _INVISIBLE or (category == "Zs" and char != " "):
            raise InvalidInput("%s contains the invisible or control character U+%04X (%s); type it as plain text"
                               % (name, ord(char), unicodedata.name(char, category)))
    if (text[0], text[-1]) in (("[", "]"), ("{", "}")):
        raise InvalidInput("%s %r is a list or dict written out as text; pass one plain string" % (name, text[:60]))
    if not any(unicodedata.category(char)[0] in ("L", "N") for char in text):
        raise InvalidInput("%s %r has no letter or digit; give a name or a ticket number" % (name, text))
    if len(text) > max_length:
        raise InvalidInput("%s is %d characters long; at most %d" % (name, len(text), max_length))
    return text


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_time(value, name):
    """Aware UTC datetime from ISO 8601 text (``Z`` or an offset; none means UTC) or a datetime, or InvalidInput."""
    if not isinstance(value, (str, datetime.datetime)):
        raise InvalidInput("%s must be an ISO 8601 time such as 2026-11-30T02:05:00Z, got %s" % (name, _kind(value)))
    return parse_timestamp(value, name=name)


def check_age(approved_at, now, max_age_seconds, what="the approval"):
    """Refusal reason (one phrase) when ``approved_at`` is in the future or older than the limit, else None."""
    age = now - approved_at
    if age < -CLOCK_SKEW:
        return "%s is dated %s, in the future (database clock %s)" % (what, iso(approved_at), iso(now))
    if age.total_seconds() > float(max_age_seconds):
        return "%s given at %s is %s old; the policy accepts at most %s" % (
            what, iso(approved_at), duration(age.total_seconds()), duration(max_age_seconds))
    return None


def duration(seconds):
    """``25.0 h``, ``40 min`` or ``30 s``: short and exact enough for a refusal."""
    seconds = float(seconds)
    if seconds >= 3600:
        return "%.1f h" % (seconds / 3600.0)
    if seconds >= 60:
        return "%d min" % int(seconds // 60)
    return "%d s" % int(seconds)


# -- the signed approval statement --------------------------------------------------------------------------------

def plan_line(plan):
    """One ``plan:`` line from a plan summary (``plan_digest.plan_summary``) and optional ``host``."""
    parts = [plan["digest"], "database=%s" % plan.get("database", "?")]
    if plan.get("host"):
        parts.append("host=%s" % plan["host"])
    parts.append("versions=%s" % (",".join(plan.get("versions") or []) or "none"))
    return "plan: " + " ".join(parts)


def build_statement(gate, environment, approver, ticket, approved_at, plans, window_override=None):
    """The text an approver signs: the gate, who, which ticket, when, and every plan digest it covers."""
    if not plans:
        raise InvalidInput("an approval statement needs at least one plan (the digest of the change to approve)")
    lines = [STATEMENT_HEADER,
             "gate: %s" % gate,
             "environment: %s" % environment,
             "approver: %s" % printable_text(approver, "approver"),
             "ticket: %s" % printable_text(ticket, "ticket"),
             "approved_at: %s" % iso(parse_time(approved_at, "approved_at"))]
    if window_override:
        lines.append("window_override: %s" % printable_text(window_override, "window_override", 300))
    lines.extend(plan_line(plan) for plan in plans)
    return "\n".join(lines) + "\n"


def parse_statement(text):
    """``{gate, environment, approver, ticket, approved_at, window_override, plans: [digest...]}``.

    Raises InvalidInput in one line for anything that is not exactly a statement this module writes.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("the approval statement is empty; pass the file the approver signed")
    lines = text.splitlines()
    if lines[0].strip() != STATEMENT_HEADER:
        raise InvalidInput("the approval statement must start with %r, got %r" % (STATEMENT_HEADER, lines[0][:60]))
    fields, plans = {}, []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            raise InvalidInput("approval statement line %d is not 'key: value': %r" % (number, line[:60]))
        if key == "plan":
            digest = value.split()[0] if value else ""
            if not plan_digest.is_digest(digest):
                raise InvalidInput("approval statement line %d: %r is not a plan digest (sha256:<64 hex>)"
                                   % (number, digest[:80]))
            plans.append(digest)
            continue
        if key not in STATEMENT_FIELDS + STATEMENT_OPTIONAL:
            raise InvalidInput("approval statement line %d has unknown key %r; keys: %s, plan"
                               % (number, key, ", ".join(STATEMENT_FIELDS + STATEMENT_OPTIONAL)))
        if key in fields:
            raise InvalidInput("approval statement line %d repeats %s" % (number, key))
        fields[key] = value
    missing = [key for key in STATEMENT_FIELDS if not fields.get(key)]
    if missing:
        raise InvalidInput("the approval statement lacks %s" % ", ".join(missing))
    if not plans:
        raise InvalidInput("the approval statement names no plan: it approves nothing")
    parsed = {
        "gate": fields["gate"],
        "environment": fields["environment"],
        "approver": printable_text(fields["approver"], "approver"),
        "ticket": printable_text(fields["ticket"], "ticket"),
        "approved_at": iso(parse_time(fields["approved_at"], "approved_at")),
        "window_override": fields.get("window_override") or None,
        "plans": plans,
    }
    return parsed


def build_request(gate, environment, plans):
    """What the operator hands the approver: the gate and every plan, without who, which ticket or when."""
    if not plans:
        raise InvalidInput("an approval request needs at least one plan")
    return "\n".join([REQUEST_HEADER, "gate: %s" % gate, "environment: %s" % environment]
                     + [plan_line(plan) for plan in plans]) + "\n"


def statement_from_request(request, approver, ticket, approved_at, window_override=None):
    """The statement an approver signs for ``request``: its lines, plus approver, ticket and time."""
    lines = (request or "").splitlines()
    if not lines or lines[0].strip() != REQUEST_HEADER:
        raise InvalidInput("not an approval request: the first line must be %r" % REQUEST_HEADER)
    fields = dict(line.split(":", 1) for line in lines[1:3] if ":" in line)
    gate, environment = fields.get("gate", "").strip(), fields.get("environment", "").strip()
    plan_lines = [line for line in lines[3:] if line.startswith("plan: ")]
    if not gate or not environment or not plan_lines:
        raise InvalidInput("the approval request lacks its gate, environment or plan lines")
    head = build_statement(gate, environment, approver, ticket, approved_at,
                           [{"digest": "sha256:" + "0" * 64}], window_override).splitlines()[:-1]
    statement = "\n".join(head + plan_lines) + "\n"
    parse_statement(statement)
    return statement


def read_signed_statement(path):
    """``(statement, signature)`` from ``path`` and ``path + ".sig"`` (what ``ssh-keygen -Y sign`` writes)."""
    texts = []
    for name in (path, path + ".sig"):
        try:
            with open(name) as handle:
                texts.append(handle.read())
        except (IOError, OSError) as exc:
            raise InvalidInput("cannot read the signed approval %s: %s; pass the statement the approver signed, with "
                               "its .sig beside it" % (name, exc.strerror or exc))
    return texts[0], texts[1]


def check_signed_statement(statement, gate, environment, plans):
    """The parsed statement when it approves ``gate`` in ``environment`` and names every plan; InvalidInput otherwise."""
    parsed = parse_statement(statement)
    if (parsed["gate"], parsed["environment"]) != (gate, environment):
        raise InvalidInput("the signed approval is for gate %s on %s, not %s on %s"
                           % (parsed["gate"], parsed["environment"], gate, environment))
    uncovered = ["%s (%s)" % (plan.get("host") or plan.get("database"), plan_digest.short(plan["digest"]))
                 for plan in plans or [] if plan["digest"] not in parsed["plans"]]
    if uncovered:
        raise InvalidInput("the signed approval does not cover the plan of %s: a migration changed since it was "
                           "signed, or it was signed for other databases; sign a new request" % ", ".join(uncovered))
    return parsed


def same_person(first, second):
    """True when two identities name the same person: case-insensitive, ``maria@x`` equals ``maria``."""
    def key(name):
        text = unicodedata.normalize("NFC", str(name or "")).strip().casefold()
        return text.split("@", 1)[0] if text else ""
    return bool(key(first)) and key(first) == key(second)
