"""The chronic programmes read as of each period's end: a registry entry counts while it is on the
register (enrolled, not yet closed), and the control rate's numerator counts the entries whose
latest follow-up by the period's end was on target, whatever happened since. Follow-ups recorded
out of order are linked in date order; incremental cells equal a rebuild; the drill-down lists
the rows standing at the period's end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic import services as chronic
from yigongti.chronic.models import FollowUp
from yigongti.chronic.tests.conftest import cc, days_ago, enrol  # noqa: F401 - the fixture
from yigongti.indicators import engine
from yigongti.indicators.periods import month_of

pytestmark = pytest.mark.django_db


def _rows(cc: Any, day: dt.date) -> dict[str, dict[str, Any]]:  # noqa: F811
    client = Client()
    client.force_login(cc.users[Role.CONSORTIUM_OFFICE])
    response = client.get("/api/indicators", {"period": month_of(day).code, "by": "consortium"})
    assert response.status_code == 200
    return {row["code"]: row for row in response.json()}


def _visit(cc: Any, entry: Any, ago: int, *, on_target: bool) -> FollowUp:  # noqa: F811
    pressure = (128, 80) if on_target else (162, 101)
    return chronic.follow_up_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        enrollment=entry,
        visit_date=days_ago(ago),
        sbp=pressure[0],
        dbp=pressure[1],
    )


def test_the_register_and_the_control_rate_read_as_of_the_period_end(cc: Any) -> None:  # noqa: F811
    entry = enrol(cc, "ht", diagnosed=400)
    late = _visit(cc, entry, 40, on_target=False)
    middle = _visit(cc, entry, 120, on_target=True)  # recorded after a later one
    first = _visit(cc, entry, 200, on_target=True)
    for row in (late, middle, first):
        row.refresh_from_db()
    assert (first.until, middle.until, late.until) == (middle.visit_date, late.visit_date, None)

    # the month of 100 days ago ended between the second and the third follow-up: on target
    then = _rows(cc, days_ago(100))["hypertension_control_rate"]
    assert (then["numerator"], then["denominator"]) == (1.0, 1.0)
    # a month that ended after the last follow-up (40 days ago, not on target) and before today
    later = _rows(cc, days_ago(35))["hypertension_control_rate"]
    assert (later["numerator"], later["denominator"]) == (0.0, 1.0)

    chronic.enrollment_close(actor=cc.users[Role.VILLAGE_DOCTOR], enrollment=entry, reason="迁出本县")
    entry.refresh_from_db()
    assert entry.closed_on == days_ago(0)
    # the past did not change: the entry was on the register then
    assert _rows(cc, days_ago(100))["hypertension_management_rate"]["numerator"] == 1.0
    assert _rows(cc, days_ago(35))["hypertension_control_rate"]["denominator"] == 1.0
    # this month it is off the register, and its follow-ups stand no more
    now = _rows(cc, days_ago(0))
    assert now["hypertension_management_rate"]["numerator"] == 0.0
    assert now["hypertension_control_rate"]["numerator"] == 0.0

    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    assert any(value < 0 for value in incremental.values())  # an entry leaving is a -1 in its month


def test_the_drill_down_lists_the_rows_standing_at_the_period_end(cc: Any) -> None:  # noqa: F811
    kept = enrol(cc, "ht", diagnosed=400)
    gone = enrol(cc, "dm", programme="hypertension", diagnosed=300)
    _visit(cc, kept, 120, on_target=True)
    _visit(cc, gone, 110, on_target=True)
    chronic.enrollment_close(actor=cc.users[Role.VILLAGE_DOCTOR], enrollment=gone, reason="死亡")
    client = Client()
    client.force_login(cc.users[Role.CONSORTIUM_OFFICE])

    def records(day: dt.date) -> int:
        response = client.get(
            "/api/indicators/hypertension_management_rate/records",
            {"period": month_of(day).code, "institution": str(cc.village.pk)},
        )
        assert response.status_code == 200, response.content
        body = response.json()
        return int(body["count"]) if isinstance(body, dict) and "count" in body else len(body)

    assert records(days_ago(60)) == 2
    assert records(days_ago(0)) == 1
