"""The elderly management rate counts a resident once a year, however many services they had.

The numerator is a distinct count per monthly cell; a year sums twelve months, so a resident
served in March and again in September counted twice. Only the resident's first service of the
calendar year carries ``first_in_year`` and is counted; a service recorded later with an earlier
date takes the flag over, and the cells of both months follow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic import services
from yigongti.chronic.models import ElderlyService
from yigongti.indicators import engine

from .conftest import cc  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def _serve(cc: Any, day: dt.date) -> ElderlyService:  # noqa: F811
    return services.elderly_service_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["old"],
        service_date=day,
        self_care_score=2,
        sbp=130,
        dbp=82,
    )


def _numerator(cc: Any, period: str) -> Any:  # noqa: F811
    client = Client()
    client.force_login(cc.users[Role.CONSORTIUM_OFFICE])
    rows = client.get(
        "/api/indicators", {"period": period, "by": "consortium", "code": "elderly_management_rate"}
    )
    assert rows.status_code == 200
    return rows.json()[0]["numerator"]


def _equal_to_rebuild() -> None:
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental


def test_two_services_in_a_year_count_the_resident_once(cc: Any) -> None:  # noqa: F811
    march = _serve(cc, dt.date(2025, 3, 10))
    september = _serve(cc, dt.date(2025, 9, 10))
    assert (march.first_in_year, september.first_in_year) == (True, False)
    _equal_to_rebuild()
    assert _numerator(cc, "2025") == 1.0
    assert _numerator(cc, "2025-Q1") == 1.0
    assert _numerator(cc, "2025-Q3") == 0.0  # served again, already counted this year
    next_year = _serve(cc, dt.date(2026, 2, 1))
    assert next_year.first_in_year
    assert _numerator(cc, "2026") == 1.0


def test_an_earlier_service_recorded_later_takes_the_count_over(cc: Any) -> None:  # noqa: F811
    march = _serve(cc, dt.date(2025, 3, 10))
    january = _serve(cc, dt.date(2025, 1, 5))
    march.refresh_from_db()
    assert (january.first_in_year, march.first_in_year) == (True, False)
    _equal_to_rebuild()
    assert _numerator(cc, "2025-Q1") == 1.0
    assert _numerator(cc, "2025-01") == 1.0
    assert _numerator(cc, "2025-03") == 0.0
    assert _numerator(cc, "2025") == 1.0
