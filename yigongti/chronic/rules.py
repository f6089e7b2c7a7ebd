"""The national rules as code and data.

Two halves:

- ``classify_*`` and ``self_care_band``: pure functions of the readings, per the national basic
  public-health service standard (3rd ed.): hypertension urgent at SBP >= 180 or DBP >= 110 or a
  danger sign; controlled below 140/90; the first uncontrolled visit is rechecked within two
  weeks; two uncontrolled in a row or new complications are referred. Type 2 diabetes: urgent at
  fasting glucose >= 16.7 or <= 3.9 mmol/L or BP >= 180/110; controlled at FPG < 7.0.
- ``RULESET``: the worklist rules as data (like the Community Health Toolkit's task schema):
  per programme, what it applies to, which record resets its schedule and closes its task, and
  how many days after that record the next task falls due, by the record's classification.
  The set is validated when the module loads and its ``version`` is stamped on every task, so a
  task always says which rules made it. Both the incremental path (one patient, on each record)
  and the rebuild (the whole county, set-based) read the same ``due_offset``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .choices import Classification, Priority, Programme, SelfCareBand

# --- thresholds (MISSION.md, standard 3rd ed.) ------------------------------------------------

SBP_URGENT = 180
DBP_URGENT = 110
SBP_TARGET = 140  # controlled: SBP < 140 and DBP < 90
DBP_TARGET = 90
FPG_TARGET = Decimal("7.0")  # controlled: FPG < 7.0 mmol/L
FPG_URGENT_HIGH = Decimal("16.7")  # urgent: >= 16.7
FPG_URGENT_LOW = Decimal("3.9")  # urgent: <= 3.9


def bp_on_target(sbp: int | None, dbp: int | None) -> bool:
    return sbp is not None and dbp is not None and sbp < SBP_TARGET and dbp < DBP_TARGET


def bp_urgent(sbp: int | None, dbp: int | None) -> bool:
    return (sbp is not None and sbp >= SBP_URGENT) or (dbp is not None and dbp >= DBP_URGENT)


def glucose_on_target(fpg: Decimal | None) -> bool:
    return fpg is not None and fpg < FPG_TARGET


def glucose_urgent(fpg: Decimal | None) -> bool:
    return fpg is not None and (fpg >= FPG_URGENT_HIGH or fpg <= FPG_URGENT_LOW)


def _after_uncontrolled(previous: str | None, new_complications: bool) -> str:
    """Second uncontrolled in a row, or new complications: refer; otherwise recheck in 2 weeks."""
    if new_complications or previous in (Classification.UNCONTROLLED, Classification.REFER):
        return Classification.REFER
    return Classification.UNCONTROLLED


def classify_hypertension(
    *,
    sbp: int,
    dbp: int,
    danger_signs: bool = False,
    new_complications: bool = False,
    adverse_reaction: bool = False,
    previous: str | None = None,
) -> str:
    if danger_signs or bp_urgent(sbp, dbp):
        return Classification.URGENT
    if new_complications:
        return Classification.REFER
    if bp_on_target(sbp, dbp) and not adverse_reaction:
        return Classification.CONTROLLED
    if bp_on_target(sbp, dbp):  # adverse reaction alone: recheck in two weeks, not a referral
        return Classification.UNCONTROLLED
    return _after_uncontrolled(previous, new_complications)


def classify_diabetes(
    *,
    fpg: Decimal,
    sbp: int | None = None,
    dbp: int | None = None,
    danger_signs: bool = False,
    new_complications: bool = False,
    adverse_reaction: bool = False,
    previous: str | None = None,
) -> str:
    if danger_signs or glucose_urgent(fpg) or bp_urgent(sbp, dbp):
        return Classification.URGENT
    if new_complications:
        return Classification.REFER
    if glucose_on_target(fpg) and not adverse_reaction:
        return Classification.CONTROLLED
    if glucose_on_target(fpg):
        return Classification.UNCONTROLLED
    return _after_uncontrolled(previous, new_complications)


def self_care_band(score: int) -> str:
    """老年人生活自理能力评估表: 0–3 independent, 4–8 mild, 9–18 moderate, >= 19 not self-caring."""
    if score <= 3:
        return SelfCareBand.INDEPENDENT
    if score <= 8:
        return SelfCareBand.MILD
    if score <= 18:
        return SelfCareBand.MODERATE
    return SelfCareBand.SEVERE


# --- the worklist rules as data ---------------------------------------------------------------

#: Key for "no record yet" in ``due_after``: the schedule counts from the enrolment/eligibility.
NONE = "none"
#: Key for a record without a classification (elderly service, screening).
ANY = "any"
#: A screening that found one of the six high-risk factors.
HIGH_RISK = "high_risk"

RULESET: dict[str, Any] = {
    "version": "2026.1",
    "programmes": {
        Programme.HYPERTENSION: {
            "applies_to": "active hypertension registry entry",
            "reset_by": "followup",
            "resolved_by": "followup",
            "start": "enrolled_on",
            "due_after": {
                NONE: 14,
                Classification.CONTROLLED: 90,
                Classification.UNCONTROLLED: 14,
                Classification.REFER: 14,
                Classification.URGENT: 14,
            },
            "priority": {Classification.URGENT: Priority.URGENT, Classification.REFER: Priority.URGENT},
        },
        Programme.DIABETES: {
            "applies_to": "active type 2 diabetes registry entry",
            "reset_by": "followup",
            "resolved_by": "followup",
            "start": "enrolled_on",
            "due_after": {
                NONE: 14,
                Classification.CONTROLLED: 90,
                Classification.UNCONTROLLED: 14,
                Classification.REFER: 14,
                Classification.URGENT: 14,
            },
            "priority": {Classification.URGENT: Priority.URGENT, Classification.REFER: Priority.URGENT},
        },
        Programme.ELDERLY: {
            "applies_to": "resident aged 65 or over",
            "min_age": 65,
            "reset_by": "elderly_service",
            "resolved_by": "elderly_service",
            "start": "65th birthday",
            "due_after": {NONE: 0, ANY: 365},
            "priority": {},
        },
        Programme.SCREENING: {
            "applies_to": "screened resident aged 35 or over without a hypertension registry entry",
            "min_age": 35,
            "reset_by": "screening",
            "resolved_by": "screening",
            "start": "last screening",
            "due_after": {ANY: 365, HIGH_RISK: 182},
            "priority": {},
        },
    },
}


class RuleError(ValueError):
    pass


def validate(ruleset: dict[str, Any]) -> dict[str, Any]:
    """Refuse a rule set that could make a wrong task: every programme named, every offset a
    non-negative whole number of days, every priority a known one."""
    if not isinstance(ruleset.get("version"), str) or not ruleset["version"]:
        raise RuleError("version")
    programmes = ruleset.get("programmes")
    if not isinstance(programmes, dict) or set(programmes) != set(Programme.values):
        raise RuleError("programmes")
    for name, rule in programmes.items():
        for key in ("applies_to", "reset_by", "resolved_by", "due_after", "priority"):
            if key not in rule:
                raise RuleError(f"{name}.{key}")
        for key, days in rule["due_after"].items():
            if not isinstance(days, int) or days < 0 or days > 3660:
                raise RuleError(f"{name}.due_after.{key}")
        for key, prio in rule["priority"].items():
            if prio not in Priority.values or key not in rule["due_after"]:
                raise RuleError(f"{name}.priority.{key}")
    return ruleset


validate(RULESET)
VERSION: str = RULESET["version"]


def due_offset(programme: str, outcome: str) -> int:
    """Days from the resetting record (or the start) to the next due date."""
    table = RULESET["programmes"][programme]["due_after"]
    return int(table[outcome] if outcome in table else table[ANY])


def priority_of(programme: str, outcome: str) -> str:
    return str(RULESET["programmes"][programme]["priority"].get(outcome, Priority.ROUTINE))


def next_task(programme: str, start: dt.date, outcome: str) -> tuple[dt.date, str]:
    """The next task of one patient in one programme: (due date, priority)."""
    return start + dt.timedelta(days=due_offset(programme, outcome)), priority_of(programme, outcome)


def birthday(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return born.replace(year=born.year + years, day=28)
