"""The pages: who may open them, forms that write through the services, refusals shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.familydoctor.choices import ContractStatus
from yigongti.familydoctor.models import Contract, Task, Team

from .conftest import active, sign

pytestmark = pytest.mark.django_db


def as_(fd: Any, who: str) -> Client:
    c = Client()
    c.force_login(fd.users[who])
    return c


def test_pages_open_for_their_roles(fd: Any) -> None:
    contract = active(fd)
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    for url in [
        "/familydoctor/",
        f"/familydoctor/teams/{fd.team.pk}/",
        "/familydoctor/packages/",
        "/familydoctor/contracts/",
        "/familydoctor/contracts/new/",
        "/familydoctor/tasks/",
        "/familydoctor/tasks/?window=overdue",
        "/familydoctor/visits/",
        f"/familydoctor/contracts/{contract.pk}/",
        "/familydoctor/contracts/?group=elderly&expiring=on",
    ]:
        assert doctor.get(url).status_code == 200, url
    office = as_(fd, Role.CONSORTIUM_OFFICE)
    for url in [
        "/familydoctor/",
        "/familydoctor/teams/new/",
        "/familydoctor/packages/new/",
        f"/familydoctor/packages/{fd.basic.pk}/",
        f"/familydoctor/teams/{fd.team.pk}/edit/",
    ]:
        assert office.get(url).status_code == 200, url
    assert office.get(f"/familydoctor/contracts/{contract.pk}/").status_code == 403
    assert doctor.get("/familydoctor/teams/new/").status_code == 403
    assert as_(fd, "t_town2").get(f"/familydoctor/contracts/{contract.pk}/").status_code == 404
    assert as_(fd, Role.RESIDENT).get("/familydoctor/contracts/").status_code == 403
    assert Client().get("/familydoctor/").status_code == 302


def test_sign_form_then_paper_signature(fd: Any) -> None:
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    patient = fd.patients["p"]
    answer = doctor.post(
        "/familydoctor/contracts/new/",
        {"patient": patient.health_record_number, "team": fd.team.pk, "packages": [fd.basic.pk]},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    contract = Contract.objects.get(patient=patient)
    doctor.post(f"/familydoctor/contracts/{contract.pk}/confirm/", {"paper_signature": "1"})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE and contract.tasks.count() == 3
    again = doctor.post(
        "/familydoctor/contracts/new/",
        {"patient": patient.health_record_number, "team": fd.team.pk, "packages": [fd.basic.pk]},
    )
    assert again.status_code == 422 and 'data-testid="error-patient"' in again.content.decode()


def test_bad_sign_form_shows_the_field_and_writes_nothing(fd: Any) -> None:
    before = (Contract.objects.count(), AuditEvent.objects.count())
    answer = as_(fd, Role.VILLAGE_DOCTOR).post(
        "/familydoctor/contracts/new/",
        {
            "patient": fd.patients["foreign"].health_record_number,
            "team": fd.team.pk,
            "packages": [fd.basic.pk],
        },
    )
    assert answer.status_code == 422 and 'data-testid="error-patient"' in answer.content.decode()
    assert (Contract.objects.count(), AuditEvent.objects.count()) == before


def test_resident_confirms_and_sees_her_plan(fd: Any) -> None:
    contract = sign(fd, patient="resident")
    resident = as_(fd, Role.RESIDENT)
    page = resident.get("/familydoctor/me/")
    assert page.status_code == 200 and 'data-testid="my-confirm"' in page.content.decode()
    resident.post(f"/familydoctor/contracts/{contract.pk}/confirm/")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    html = resident.get("/familydoctor/me/").content.decode()
    assert html.count('data-testid="plan-row"') == 3
    assert as_(fd, Role.VILLAGE_DOCTOR).get("/familydoctor/me/").status_code == 403


def test_resident_applies_online(fd: Any) -> None:
    resident = as_(fd, Role.RESIDENT)
    answer = resident.post("/familydoctor/me/", {"team": fd.team.pk, "packages": [fd.basic.pk]})
    assert answer.status_code == 302
    assert Contract.objects.get(patient=fd.patients["resident"]).channel == "online"


def test_worklist_record_and_refused_move(fd: Any) -> None:
    contract = active(fd)
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    task = contract.tasks.first()
    doctor.post(f"/familydoctor/tasks/{task.pk}/record/", {"result": "完成", "next": "worklist"})
    assert Task.objects.get(pk=task.pk).status == "done"
    refused = doctor.post(f"/familydoctor/contracts/{contract.pk}/renew/", {}, follow=True)
    assert refused.status_code == 200 and Contract.objects.count() == 1


def test_office_creates_a_team(fd: Any) -> None:
    office = as_(fd, Role.CONSORTIUM_OFFICE)
    data = {
        "code": "T2",
        "name": "西岭团队",
        "institution": fd.township.pk,
        "villages": [fd.other_village.pk],
        "doctor": fd.staff["village_doctor"].pk,
        "nurse": fd.staff["nurse"].pk,
        "public_health": fd.staff["public_health"].pk,
    }
    assert office.post("/familydoctor/teams/new/", data).status_code == 302
    bad = office.post("/familydoctor/teams/new/", {**data, "code": "T3", "villages": [fd.foreign_village.pk]})
    assert bad.status_code == 422 and Team.objects.filter(code="T3").count() == 0
