"""The issue's bad input, each through the API and through the form: a 422 (or a 404 out of
scope) naming the field with a zh-Hans message, and nothing written — no follow-up, no task
change, no audit row."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic.models import FollowUp, Task
from yigongti.core.models import AuditEvent

from .conftest import days_ago, enrol

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")

CASES = [
    pytest.param({"sbp": 300, "dbp": 20}, "sbp", id="bp-300-over-20"),
    pytest.param({"fasting_glucose": "0"}, "fasting_glucose", id="glucose-0"),
    pytest.param({"visit_date": days_ago(-3)}, "visit_date", id="in-the-future"),
    pytest.param({"visit_date": days_ago(500)}, "visit_date", id="before-the-diagnosis"),
]


def as_(cc: Any, who: str) -> Client:
    c = Client()
    c.force_login(cc.users[who])
    return c


def state() -> tuple[int, list[Any], int]:
    return (
        FollowUp.objects.count(),
        list(Task.objects.order_by("pk").values_list("pk", "status", "due_on")),
        AuditEvent.objects.count(),
    )


def reading(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "visit_date": days_ago(2),
        "sbp": 132,
        "dbp": 84,
        "fasting_glucose": "6.4",
        "mode": "clinic",
        "adherence": "regular",
    }
    data.update(change)
    return {k: str(v) if not isinstance(v, int) else v for k, v in data.items()}


@pytest.mark.parametrize(("change", "field"), CASES)
def test_api_refuses_with_the_field_and_writes_nothing(cc: Any, change: dict[str, Any], field: str) -> None:
    entry = enrol(cc, "dm", programme="diabetes", diagnosed=400)
    before = state()
    answer = as_(cc, Role.VILLAGE_DOCTOR).post(
        "/api/chronic/follow-ups",
        {"enrollment_id": entry.pk, **reading(**change)},
        content_type="application/json",
    )
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["field"] == field and CJK.search(body["message"]), body
    assert state() == before


@pytest.mark.parametrize(("change", "field"), CASES)
def test_form_shows_the_field_and_writes_nothing(cc: Any, change: dict[str, Any], field: str) -> None:
    entry = enrol(cc, "dm", programme="diabetes", diagnosed=400)
    before = state()
    answer = as_(cc, Role.VILLAGE_DOCTOR).post(
        f"/chronic/enrollments/{entry.pk}/follow-up/", reading(**change)
    )
    html = answer.content.decode()
    assert answer.status_code == 422 and f'data-testid="error-{field}"' in html
    error = html.split(f'data-testid="error-{field}"', 1)[1][:400]
    assert CJK.search(error), error
    assert state() == before


def test_village_doctor_of_another_village_is_refused_everywhere(cc: Any) -> None:
    entry = enrol(cc, "ht")
    before = state()
    other = as_(cc, "village2")
    api = other.post(
        "/api/chronic/follow-ups", {"enrollment_id": entry.pk, **reading()}, content_type="application/json"
    )
    assert api.status_code == 404 and CJK.search(api.json()["message"])
    assert other.post(f"/chronic/enrollments/{entry.pk}/follow-up/", reading()).status_code == 404
    elderly = {"service_date": str(days_ago(1)), "self_care_score": 0, "sbp": 130, "dbp": 80}
    assert other.post(f"/chronic/patients/{cc.patients['old'].pk}/elderly/", elderly).status_code == 404
    assert state() == before
