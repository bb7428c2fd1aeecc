# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change policy a database carries: what a run must bring before this collection changes it.

Ansible's extra variables outrank every inventory value, so a gate whose strictness is a variable can be
lowered by one ``-e``. The policy therefore lives in the target database (``hotdash_audit.policy``, see
``policy_audit.py``), is set only by ``hotdash.supabase.db_policy`` with an approval of its own, and is read
by every module that changes the database. A run may ask for *more* (a shorter approval age, a verified
approval); :func:`stricter` never lets it ask for less.

This module is the model: the fields, their defaults per environment, validation with one-line errors, and
the merge. The decisions are in ``policy_guard.py``.

========================== ================================================================================
field                      meaning
========================== ================================================================================
environment                ``local``, ``staging`` or ``production``: the database's label
require_approval           an approval bound to the plan is needed (always true in production)
approval_max_age           seconds an approval stays valid (from its ``approved_at``, database clock)
allowed_waivers            gates at which a recorded waiver counts as an approval (never a production gate)
require_verified_approval  only an SSH-signed or AWX-workflow approval counts; a typed name does not
require_distinct_approver  the approver must not be the operator running the change
windows                    maintenance windows (UTC) an apply or repair must run in (database clock)
allow_window_override      an approval may carry a reason to run outside the windows
backup_max_age             seconds: a backup recorded in ``hotdash_audit.backups`` must be this recent (0: none)
require_promotion          every version to apply must be on the pinned staging database, same statements
promotion_source           that staging database's identity ``{system_identifier, database}``
allowed_signers            the ``allowed_signers`` text SSH-signed approvals are verified against
awx_url                    the AWX / Automation Controller whose workflow approvals are trusted
automatic_rollback_window  seconds after a release during which its own run may roll it back on a trigger
========================== ================================================================================
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import math
import re

from ansible_collections.hotdash.supabase.plugins.module_utils import plan_digest
from ansible_collections.hotdash.supabase.plugins.module_utils.approval import GATES, PRODUCTION_GATES
from ansible_collections.hotdash.supabase.plugins.module_utils.approval_evidence import duration
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import ENVIRONMENTS
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.maintenance_window import parse_window
POLICY_CHANGE_GATE = "policy_change"
DAY = 86400
MAX_APPROVAL_AGE = 7 * DAY
FIELDS = ("environment", "require_approval", "approval_max_age", "allowed_waivers", "require_verified_approval",
          "require_distinct_approver", "windows", "allow_window_override", "backup_max_age", "require_promotion",
          "promotion_source", "allowed_signers", "awx_url", "automatic_rollback_window")
# What a run may ask for on top of the policy (never below it).
REQUESTABLE = ("require_approval", "approval_max_age", "require_verified_approval", "require_distinct_approver")

_COMMON = {
    "approval_max_age": DAY,
    "require_verified_approval": False,
    "require_distinct_approver": False,
    "allow_window_override": False,
    "promotion_source": None,
    "allowed_signers": "",
    "awx_url": None,
    "automatic_rollback_window": 2 * 3600,
}
DEFAULTS = {
    # The runbook: manager approval, off-peak window 02:00-04:00 UTC, backup younger than 12 h, staging first.
    "production": dict(_COMMON, environment="production", require_approval=True, allowed_waivers=[],
                       windows=["02:00-04:00"], backup_max_age=12 * 3600, require_promotion=True),
    "staging": dict(_COMMON, environment="staging", require_approval=False,
                    allowed_waivers=["apply_staging", "drift_resolution"], windows=[], backup_max_age=0,
                    require_promotion=False),
    "local": dict(_COMMON, environment="local", require_approval=False,
                  allowed_waivers=["apply_staging", "drift_resolution"], windows=[], backup_max_age=0,
                  require_promotion=False),
}
# A database without a policy, changed by a run that says production: what the run's own label can prove
# without anything pinned (no windows, backups or promotion source to check against).
UNLABELLED_PRODUCTION = dict(DEFAULTS["production"], windows=[], backup_max_age=0, require_promotion=False)
_URL_RE = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
_IDENTITY_KEYS = ("system_identifier", "database")


def defaults(environment):
    if environment not in ENVIRONMENTS:
        raise InvalidInput("policy environment must be one of %s, not %r" % (", ".join(ENVIRONMENTS), environment))
    return copy.deepcopy(DEFAULTS[environment])


def _bool(value, name):
    if isinstance(value, bool):
        return value
    raise InvalidInput("policy %s must be true or false, got %r" % (name, value))


def _seconds(value, name, maximum=None, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except (TypeError, ValueError):
            raise InvalidInput("policy %s must be a number of seconds, got %r" % (name, value))
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput("policy %s must be a positive number of seconds%s, got %r"
                           % (name, " (0: not required)" if allow_zero else "", value))
    value = int(value) if float(value).is_integer() else float(value)
    if maximum is not None and value > maximum:
        raise InvalidInput("policy %s is %s s; at most %s s (%d days)" % (name, value, maximum, maximum // DAY))
    return value


def _windows(value):
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("policy windows must be a list of HH:MM-HH:MM (UTC) windows, got %r" % (value,))
    for spec in value:
        parse_window(spec)
    return list(value)


def _identity(value):
    if value is None:
        return None
    if not isinstance(value, dict) or sorted(value) != sorted(_IDENTITY_KEYS) or not all(value.values()):
        raise InvalidInput("policy promotion_source must be {system_identifier, database} of the staging database, "
                           "got %r" % (value,))
    if not re.match(r"^\d+$", str(value["system_identifier"])):
        raise InvalidInput("policy promotion_source system_identifier must be digits, got %r"
                           % (value["system_identifier"],))
    return {"system_identifier": str(value["system_identifier"]), "database": str(value["database"])}


def normalize(settings):
    """A complete, validated policy from ``settings`` (missing fields from the environment's defaults).

    Raises InvalidInput in one line for unknown fields, wrong types, and policies that would make a
    production database weaker than a production database must be.
    """
    if not isinstance(settings, dict):
        raise InvalidInput("a policy must be a dict of %s" % ", ".join(FIELDS))
    unknown = sorted(str(key) for key in settings if key not in FIELDS)
    if unknown:
        raise InvalidInput("unknown policy field(s) %s; fields: %s" % (", ".join(unknown), ", ".join(FIELDS)))
    policy = defaults(settings.get("environment"))
    # None means "the environment's default": a module option left out says nothing.
    policy.update(dict((k, v) for k, v in settings.items() if v is not None))
    for name in ("require_approval", "require_verified_approval", "require_distinct_approver",
                 "allow_window_override", "require_promotion"):
        policy[name] = _bool(policy[name], name)
    policy["approval_max_age"] = _seconds(policy["approval_max_age"], "approval_max_age", MAX_APPROVAL_AGE)
    policy["backup_max_age"] = _seconds(policy["backup_max_age"], "backup_max_age", 30 * DAY, allow_zero=True)
    policy["automatic_rollback_window"] = _seconds(policy["automatic_rollback_window"], "automatic_rollback_window",
                                                   DAY)
    waivers = policy["allowed_waivers"]
    if not isinstance(waivers, list) or any(g not in GATES for g in waivers):
        raise InvalidInput("policy allowed_waivers must be a list of gates (%s), got %r" % (", ".join(GATES), waivers))
    policy["allowed_waivers"] = sorted(set(waivers))
    policy["windows"] = _windows(policy["windows"])
    policy["promotion_source"] = _identity(policy["promotion_source"])
    signers = policy["allowed_signers"] or ""
    if not isinstance(signers, str):
        raise InvalidInput("policy allowed_signers must be the text of an allowed_signers file")
    policy["allowed_signers"] = signers if not signers or signers.endswith("\n") else signers + "\n"
    if policy["awx_url"] is not None:
        if not isinstance(policy["awx_url"], str) or not _URL_RE.match(policy["awx_url"]):
            raise InvalidInput("policy awx_url must be the http(s):// address of AWX, got %r" % (policy["awx_url"],))
        policy["awx_url"] = policy["awx_url"].rstrip("/")
    _check_coherent(policy)
    return policy


def _check_coherent(policy):
    if policy["environment"] == "production":
        if not policy["require_approval"]:
            raise InvalidInput("a production policy always requires approval; require_approval cannot be false")
        waived = sorted(set(policy["allowed_waivers"]) & set(PRODUCTION_GATES))
        if waived:
            raise InvalidInput("a production policy cannot allow waivers at %s" % ", ".join(waived))
    if POLICY_CHANGE_GATE in policy["allowed_waivers"]:
        raise InvalidInput("a policy change is never waived; remove policy_change from allowed_waivers")
    if policy["require_promotion"] and not policy["promotion_source"]:
        raise InvalidInput("require_promotion needs promotion_source: the staging database whose history proves "
                           "each version was applied there first")
    if policy["require_verified_approval"] and not (policy["allowed_signers"].strip() or policy["awx_url"]):
        raise InvalidInput("require_verified_approval needs allowed_signers (SSH-signed approvals) or awx_url "
                           "(AWX workflow approvals) to verify against")
    if policy["require_distinct_approver"] and not policy["require_verified_approval"]:
        raise InvalidInput("require_distinct_approver needs require_verified_approval: a typed approver name proves "
                           "nothing about who approved")


def stricter(policy, requested):
    """``policy`` tightened by what a run asks for (``requested``: REQUESTABLE keys); never loosened.

    Returns ``(merged, tightened)`` where ``tightened`` names the fields the run made stricter.
    """
    merged, tightened = copy.deepcopy(policy), []
    for name, value in (requested or {}).items():
        if name not in REQUESTABLE:
            raise InvalidInput("a run cannot set policy field %s; only %s" % (name, ", ".join(REQUESTABLE)))
        if value is None:
            continue
        if name == "approval_max_age":
            value = _seconds(value, name)
            if value < merged[name]:
                merged[name] = value
                tightened.append(name)
        elif _bool(value, name) and not merged[name]:
            merged[name] = True
            tightened.append(name)
    return merged, tightened


def effective(stored, run_environment, requested=None):
    """The policy a change is held to: ``(policy, source, tightened)``.

    ``stored`` is the database's policy (or None). ``source`` is ``database`` (its label decides; a run that
    names another environment is refused by the guard), ``run`` (no label: the run's environment decides,
    for production the approval rules only) or ``none``; ``tightened`` names what the run made stricter.
    """
    if stored is not None:
        policy, source = copy.deepcopy(stored), "database"
    elif run_environment == "production":
        policy, source = copy.deepcopy(UNLABELLED_PRODUCTION), "run"
    else:
        policy, source = defaults(run_environment if run_environment in ENVIRONMENTS else "local"), "none"
        policy["backup_max_age"] = None
    merged, tightened = stricter(policy, requested)
    return merged, source, tightened


def apply_gate(environment):
    """The approval gate of an apply in ``environment``."""
    return "apply_production" if environment == "production" else "apply_staging"


def change_digest(identity, current, new):
    """Digest of a policy change (gate ``policy_change``): the new policy, and which one it replaces."""
    extra = {"policy": canonical(new), "replaces": current.get("id") if current else None}
    return plan_digest.plan_digest(identity, POLICY_CHANGE_GATE, new["environment"], "db_policy", [], extra)


def canonical(policy):
    """The policy's fields only (no id, set_at...), as stored and hashed."""
    return dict((name, policy.get(name)) for name in FIELDS)


def differences(current, new):
    """Field names whose value changes (all of them when there is no current policy)."""
    if not current:
        return list(FIELDS)
    return [name for name in FIELDS if current.get(name) != new.get(name)]


def describe(policy):
    """One line: ``production (approval within 24.0 h, verified, windows 02:00-04:00, backup < 12.0 h, promotion)``."""
    parts = []
    if policy.get("require_approval"):
        parts.append("approval within %s" % duration(policy["approval_max_age"]))
    if policy.get("require_verified_approval"):
        parts.append("verified approval")
    if policy.get("require_distinct_approver"):
        parts.append("approver other than the operator")
    if policy.get("windows"):
        parts.append("windows %s" % ", ".join(str(w) for w in policy["windows"]))
    if policy.get("backup_max_age"):
        parts.append("backup < %s" % duration(policy["backup_max_age"]))
    if policy.get("require_promotion"):
        parts.append("staging first")
    return "%s (%s)" % (policy.get("environment"), ", ".join(parts) or "no gate")
