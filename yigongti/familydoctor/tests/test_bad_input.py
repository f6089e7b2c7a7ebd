"""The issue's bad input for family doctors, each through the API and through the form: a clear
zh-Hans error naming the field, and nothing written (no contract, team or audit row)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.familydoctor.models import Contract, Task, Team

from .conftest import active

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


def as_(fd: Any, who: str) -> Client:
    c = Client()
    c.force_login(fd.users[who])
    return c


def state() -> tuple[int, int, int, int]:
    return (Contract.objects.count(), Task.objects.count(), Team.objects.count(), AuditEvent.objects.count())


def form_error(answer: Any, field: str) -> str:
    html = answer.content.decode()
    assert answer.status_code == 422 and f'data-testid="error-{field}"' in html, html[:500]
    return html.split(f'data-testid="error-{field}"', 1)[1][:400]


def test_second_active_contract(fd: Any) -> None:
    active(fd)
    before = state()
    body = {"patient_id": fd.patients["p"].pk, "team_id": fd.team.pk, "packages": ["BASIC"]}
    api = as_(fd, Role.VILLAGE_DOCTOR).post(
        "/api/familydoctor/contracts", body, content_type="application/json"
    )
    assert api.status_code == 409 and api.json()["field"] == "patient" and CJK.search(api.json()["message"])
    form = as_(fd, Role.VILLAGE_DOCTOR).post(
        "/familydoctor/contracts/new/",
        {"patient": fd.patients["p"].health_record_number, "team": fd.team.pk, "packages": [fd.basic.pk]},
    )
    assert CJK.search(form_error(form, "patient"))
    assert state() == before


def test_team_serving_a_village_of_another_township(fd: Any) -> None:
    before = state()
    members = [
        {"staff_id": fd.staff["village_doctor"].pk, "role": "family_doctor"},
        {"staff_id": fd.staff["nurse"].pk, "role": "nurse"},
        {"staff_id": fd.staff["public_health"].pk, "role": "public_health"},
    ]
    body = {
        "code": "X1",
        "name": "跨镇团队",
        "institution": fd.township.code,
        "villages": [fd.foreign_village.code],
        "members": members,
    }
    office = as_(fd, Role.CONSORTIUM_OFFICE)
    api = office.post("/api/familydoctor/teams", body, content_type="application/json")
    assert api.status_code == 422 and api.json()["field"] == "villages" and CJK.search(api.json()["message"])
    form = office.post(
        "/familydoctor/teams/new/",
        {
            "code": "X2",
            "name": "跨镇团队",
            "institution": fd.township.pk,
            "villages": [fd.foreign_village.pk],
            "doctor": fd.staff["village_doctor"].pk,
            "nurse": fd.staff["nurse"].pk,
            "public_health": fd.staff["public_health"].pk,
        },
    )
    assert CJK.search(form_error(form, "villages"))
    assert state() == before


def test_village_doctor_signing_for_another_villages_resident(fd: Any) -> None:
    before = state()
    foreign = fd.patients["foreign"]
    body = {"patient_id": foreign.pk, "team_id": fd.team.pk, "packages": ["BASIC"]}
    api = as_(fd, Role.VILLAGE_DOCTOR).post(
        "/api/familydoctor/contracts", body, content_type="application/json"
    )
    assert api.status_code == 404 and CJK.search(api.json()["message"])
    form = as_(fd, Role.VILLAGE_DOCTOR).post(
        "/familydoctor/contracts/new/",
        {"patient": foreign.health_record_number, "team": fd.team.pk, "packages": [fd.basic.pk]},
    )
    assert CJK.search(form_error(form, "patient"))
    assert state() == before
