"""Every boundary of the national rules, table-driven."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from yigongti.chronic import rules
from yigongti.chronic.choices import Classification as C
from yigongti.chronic.choices import Programme, SelfCareBand


@pytest.mark.parametrize(
    ("sbp", "dbp", "previous", "flags", "expected"),
    [
        (139, 89, None, {}, C.CONTROLLED),
        (140, 89, None, {}, C.UNCONTROLLED),
        (139, 90, None, {}, C.UNCONTROLLED),
        (179, 109, None, {}, C.UNCONTROLLED),
        (180, 100, None, {}, C.URGENT),
        (150, 110, None, {}, C.URGENT),
        (120, 80, None, {"danger_signs": True}, C.URGENT),
        (150, 95, C.UNCONTROLLED, {}, C.REFER),
        (150, 95, C.REFER, {}, C.REFER),
        (150, 95, C.CONTROLLED, {}, C.UNCONTROLLED),
        (130, 80, C.UNCONTROLLED, {}, C.CONTROLLED),
        (130, 80, None, {"new_complications": True}, C.REFER),
        (130, 80, None, {"adverse_reaction": True}, C.UNCONTROLLED),
    ],
)
def test_hypertension(sbp: int, dbp: int, previous: str | None, flags: dict, expected: str) -> None:
    assert rules.classify_hypertension(sbp=sbp, dbp=dbp, previous=previous, **flags) == expected


@pytest.mark.parametrize(
    ("fpg", "sbp", "dbp", "previous", "expected"),
    [
        ("6.9", 130, 80, None, C.CONTROLLED),
        ("7.0", 130, 80, None, C.UNCONTROLLED),
        ("16.6", 130, 80, None, C.UNCONTROLLED),
        ("16.7", 130, 80, None, C.URGENT),
        ("3.9", 130, 80, None, C.URGENT),
        ("4.0", 130, 80, None, C.CONTROLLED),
        ("6.0", 180, 80, None, C.URGENT),
        ("6.0", 150, 110, None, C.URGENT),
        ("6.0", 179, 109, None, C.CONTROLLED),
        ("8.0", 130, 80, C.UNCONTROLLED, C.REFER),
    ],
)
def test_diabetes(fpg: str, sbp: int, dbp: int, previous: str | None, expected: str) -> None:
    assert rules.classify_diabetes(fpg=Decimal(fpg), sbp=sbp, dbp=dbp, previous=previous) == expected


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, SelfCareBand.INDEPENDENT),
        (3, SelfCareBand.INDEPENDENT),
        (4, SelfCareBand.MILD),
        (8, SelfCareBand.MILD),
        (9, SelfCareBand.MODERATE),
        (18, SelfCareBand.MODERATE),
        (19, SelfCareBand.SEVERE),
    ],
)
def test_self_care_bands(score: int, band: str) -> None:
    assert rules.self_care_band(score) == band


@pytest.mark.parametrize(
    ("programme", "outcome", "days", "priority"),
    [
        (Programme.HYPERTENSION, C.CONTROLLED, 90, "routine"),
        (Programme.HYPERTENSION, C.UNCONTROLLED, 14, "routine"),
        (Programme.HYPERTENSION, C.REFER, 14, "urgent"),
        (Programme.DIABETES, C.URGENT, 14, "urgent"),
        (Programme.ELDERLY, rules.ANY, 365, "routine"),
        (Programme.SCREENING, rules.ANY, 365, "routine"),
        (Programme.SCREENING, rules.HIGH_RISK, 182, "routine"),
    ],
)
def test_due_offsets(programme: str, outcome: str, days: int, priority: str) -> None:
    start = dt.date(2026, 3, 1)
    assert rules.next_task(programme, start, outcome) == (start + dt.timedelta(days=days), priority)


def test_quarterly_controlled_meets_four_a_year() -> None:
    assert 365 // rules.due_offset(Programme.HYPERTENSION, C.CONTROLLED) >= 4


@pytest.mark.parametrize(
    "broken",
    [
        {"version": ""},
        {"programmes": {}},
        {
            "programmes": {
                **rules.RULESET["programmes"],
                "elderly": {**rules.RULESET["programmes"]["elderly"], "due_after": {"any": -1}},
            }
        },
        {
            "programmes": {
                **rules.RULESET["programmes"],
                "diabetes": {**rules.RULESET["programmes"]["diabetes"], "priority": {"urgent": "soon"}},
            }
        },
    ],
)
def test_a_broken_rule_set_is_refused(broken: dict) -> None:
    with pytest.raises(rules.RuleError):
        rules.validate({**rules.RULESET, **broken})


def test_leap_day_birthday() -> None:
    assert rules.birthday(dt.date(1960, 2, 29), 65) == dt.date(2025, 2, 28)
