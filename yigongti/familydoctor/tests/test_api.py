"""The family-doctor API: allowed, denied and out of scope with the audit row; illegal moves 409;
bad input 422 naming the field with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.familydoctor.models import Contract, HomeBed, HomeVisit, ServicePackage, Task, Team

from .conftest import active

pytestmark = pytest.mark.django_db


def as_(fd: Any, who: str) -> Client:
    c = Client()
    c.force_login(fd.users[who])
    return c


def post(c: Client, url: str, data: Any = None) -> Any:
    return c.post(url, data or {}, content_type="application/json")


def audited(verb: str, obj: Any) -> int:
    return AuditEvent.objects.filter(verb=verb, object_id=str(obj.pk)).count()


def team_body(fd: Any, **change: Any) -> dict[str, Any]:
    data = {
        "code": "T101-9",
        "name": "阳城镇卫生院团队",
        "institution": fd.township.code,
        "villages": [fd.other_village.code],
        "members": [
            {"staff_id": fd.staff["village_doctor"].pk, "role": "family_doctor"},
            {"staff_id": fd.staff["nurse"].pk, "role": "nurse"},
            {"staff_id": fd.staff["public_health"].pk, "role": "public_health"},
        ],
    }
    data.update(change)
    return data


def test_team_create_allowed_denied_and_bad_village(fd: Any) -> None:
    office = as_(fd, Role.CONSORTIUM_OFFICE)
    answer = post(office, "/api/familydoctor/teams", team_body(fd))
    assert answer.status_code == 201, answer.content
    team = Team.objects.get(code="T101-9")
    assert audited("familydoctor.team.create", team) == 1
    assert (
        post(as_(fd, Role.TOWNSHIP_DOCTOR), "/api/familydoctor/teams", team_body(fd, code="B")).status_code
        == 403
    )
    assert post(Client(), "/api/familydoctor/teams", team_body(fd, code="B")).status_code == 401
    before = (Team.objects.count(), AuditEvent.objects.count())
    bad = post(office, "/api/familydoctor/teams", team_body(fd, code="C", villages=[fd.foreign_village.code]))
    assert bad.status_code == 422 and bad.json()["field"] == "villages"
    assert (Team.objects.count(), AuditEvent.objects.count()) == before
    dup = post(office, "/api/familydoctor/teams", team_body(fd))
    assert dup.status_code == 409


def test_team_list_scoped(fd: Any) -> None:
    codes = [t["code"] for t in as_(fd, Role.TOWNSHIP_DOCTOR).get("/api/familydoctor/teams").json()]
    assert codes == ["T101-1"]
    assert as_(fd, "t_town2").get("/api/familydoctor/teams").json() == []
    assert as_(fd, "t_town2").get(f"/api/familydoctor/teams/{fd.team.pk}").status_code == 404
    assert as_(fd, Role.RESIDENT).get("/api/familydoctor/teams").status_code == 403


def test_package_create_and_update(fd: Any) -> None:
    office = as_(fd, Role.CONSORTIUM_OFFICE)
    body = {
        "code": "DM",
        "name": "糖尿病包",
        "kind": "personalised",
        "target_group": "diabetes",
        "price": "150",
        "insurance_share": "100",
        "items": [{"name": "糖尿病随访", "times_per_year": 4}],
    }
    answer = post(office, "/api/familydoctor/packages", body)
    assert answer.status_code == 201, answer.content
    package = ServicePackage.objects.get(code="DM")
    assert answer.json()["resident_pays"] == "50.00" and audited("familydoctor.package.create", package) == 1
    assert post(as_(fd, Role.VILLAGE_DOCTOR), "/api/familydoctor/packages", body).status_code == 403
    bad = post(office, "/api/familydoctor/packages", {**body, "code": "X", "target_group": None})
    assert bad.status_code == 422 and bad.json()["field"] == "target_group"
    changed = office.put(
        f"/api/familydoctor/packages/{package.pk}",
        {"name": "糖尿病包", "price": "160", "insurance_share": "110"},
        content_type="application/json",
    )
    assert changed.status_code == 200 and audited("familydoctor.package.update", package) == 1


def test_sign_confirm_by_resident_and_read(fd: Any) -> None:
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    body = {"patient_id": fd.patients["resident"].pk, "team_id": fd.team.pk, "packages": ["BASIC"]}
    answer = post(doctor, "/api/familydoctor/contracts", body)
    assert answer.status_code == 201, answer.content
    contract = Contract.objects.get(pk=answer.json()["id"])
    assert answer.json()["status"] == "pending" and audited("familydoctor.contract.sign", contract) == 1
    assert post(doctor, "/api/familydoctor/contracts", body).status_code == 409  # second open contract
    assert post(as_(fd, "t_town2"), "/api/familydoctor/contracts", body).status_code == 404
    assert post(as_(fd, Role.HEALTH_BUREAU), "/api/familydoctor/contracts", body).status_code == 403
    resident = as_(fd, Role.RESIDENT)
    confirmed = post(resident, f"/api/familydoctor/contracts/{contract.pk}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "active"
    assert len(confirmed.json()["tasks"]) == 3 and audited("familydoctor.contract.confirm", contract) == 1
    assert post(resident, f"/api/familydoctor/contracts/{contract.pk}/confirm").status_code == 409
    mine = resident.get("/api/familydoctor/contracts").json()
    assert [c["id"] for c in mine["items"]] == [contract.pk]
    assert resident.get(f"/api/familydoctor/contracts/{contract.pk}").status_code == 200
    assert audited("familydoctor.contract.read", contract) == 1
    assert as_(fd, "t_town2").get(f"/api/familydoctor/contracts/{contract.pk}").status_code == 404
    assert as_(fd, Role.CONSORTIUM_OFFICE).get("/api/familydoctor/contracts").status_code == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"packages": ["NOPE"]}, "packages"),
        ({"packages": ["HTN"]}, "packages"),
        ({"end_date": "2000-01-01"}, "end_date"),
        ({"team_id": 999999}, "team_id"),
    ],
)
def test_bad_contract_names_the_field(fd: Any, change: dict[str, Any], field: str) -> None:
    body = {"patient_id": fd.patients["p"].pk, "team_id": fd.team.pk, "packages": ["BASIC"], **change}
    before = (Contract.objects.count(), AuditEvent.objects.count())
    answer = post(as_(fd, Role.VILLAGE_DOCTOR), "/api/familydoctor/contracts", body)
    assert answer.status_code == 422, answer.content
    assert answer.json()["field"] == field
    assert (Contract.objects.count(), AuditEvent.objects.count()) == before


def test_resident_applies_online_and_team_accepts(fd: Any) -> None:
    resident = as_(fd, Role.RESIDENT)
    body = {"patient_id": fd.patients["resident"].pk, "team_id": fd.team.pk, "packages": ["BASIC"]}
    answer = post(resident, "/api/familydoctor/contracts", body)
    assert answer.status_code == 201 and answer.json()["channel"] == "online"
    other = post(resident, "/api/familydoctor/contracts", {**body, "patient_id": fd.patients["p"].pk})
    assert other.status_code == 404
    cid = answer.json()["id"]
    assert post(resident, f"/api/familydoctor/contracts/{cid}/confirm").status_code == 409
    accepted = post(as_(fd, Role.NURSE), f"/api/familydoctor/contracts/{cid}/confirm")
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"


def test_terminate_renew_and_illegal_moves(fd: Any) -> None:
    contract = active(fd)
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    assert (
        post(doctor, f"/api/familydoctor/contracts/{contract.pk}/renew", {}).status_code == 409
    )  # too early
    assert post(doctor, f"/api/familydoctor/contracts/{contract.pk}/expire").status_code == 409
    no_reason = post(doctor, f"/api/familydoctor/contracts/{contract.pk}/terminate", {"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert (
        post(
            as_(fd, Role.RESIDENT), f"/api/familydoctor/contracts/{contract.pk}/terminate", {"reason": "x"}
        ).status_code
        == 403
    )
    ended = post(doctor, f"/api/familydoctor/contracts/{contract.pk}/terminate", {"reason": "迁出本县"})
    assert ended.status_code == 200 and ended.json()["status"] == "terminated"
    assert audited("familydoctor.contract.terminate", contract) == 1
    assert post(doctor, f"/api/familydoctor/contracts/{contract.pk}/cancel", {}).status_code == 409
    assert (
        post(
            doctor, f"/api/familydoctor/contracts/{contract.pk}/confirm", {"paper_signature": True}
        ).status_code
        == 409
    )


def test_worklist_and_record(fd: Any) -> None:
    contract = active(fd)
    task = contract.tasks.order_by("due_on").first()
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    assert doctor.get("/api/familydoctor/tasks?window=overdue").json()["count"] == 0
    assert (
        as_(fd, "t_town2")
        .post(f"/api/familydoctor/tasks/{task.pk}/record", {}, content_type="application/json")
        .status_code
        == 404
    )
    done = post(doctor, f"/api/familydoctor/tasks/{task.pk}/record", {"result": "评估完成"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert audited("familydoctor.task.record", task) == 1
    assert post(doctor, f"/api/familydoctor/tasks/{task.pk}/record", {}).status_code == 409
    future = post(
        doctor,
        f"/api/familydoctor/tasks/{contract.tasks.exclude(pk=task.pk).first().pk}/record",
        {"done_on": "2999-01-01"},
    )
    assert future.status_code == 422 and future.json()["field"] == "done_on"
    assert Task.objects.filter(contract=contract, status="done").count() == 1


def test_home_beds_and_visits(fd: Any) -> None:
    contract = active(fd)
    doctor = as_(fd, Role.VILLAGE_DOCTOR)
    opened = post(
        doctor,
        "/api/familydoctor/home-beds",
        {"contract_id": contract.pk, "admitted_on": str(contract.start_date), "reason": "卒中康复"},
    )
    assert opened.status_code == 201, opened.content
    bed = HomeBed.objects.get()
    assert audited("familydoctor.bed.open", bed) == 1
    again = post(
        doctor,
        "/api/familydoctor/home-beds",
        {"contract_id": contract.pk, "admitted_on": str(contract.start_date), "reason": "x"},
    )
    assert again.status_code == 409
    assert (
        post(
            as_(fd, "t_town2"),
            "/api/familydoctor/home-beds",
            {"contract_id": contract.pk, "admitted_on": str(contract.start_date), "reason": "x"},
        ).status_code
        == 404
    )
    visit = post(
        doctor,
        "/api/familydoctor/home-visits",
        {
            "contract_id": contract.pk,
            "scheduled_on": str(contract.start_date),
            "purpose": "查房",
            "home_bed_id": bed.pk,
        },
    )
    assert visit.status_code == 201, visit.content
    vid = visit.json()["id"]
    recorded = post(doctor, f"/api/familydoctor/home-visits/{vid}/record", {"note": "平稳"})
    assert recorded.status_code == 200 and audited("familydoctor.visit.record", HomeVisit.objects.get()) == 1
    assert post(doctor, f"/api/familydoctor/home-visits/{vid}/record", {}).status_code == 409
    out = post(doctor, f"/api/familydoctor/home-beds/{bed.pk}/discharge", {"note": "好转"})
    assert out.status_code == 200 and out.json()["visits_done"] == 1
    months = as_(fd, Role.CONSORTIUM_OFFICE).get("/api/familydoctor/stats/monthly").json()
    assert sum(m["visits"] for m in months) == 1 and sum(m["beds"] for m in months) == 1
