"""The residents API: own record, scoped lists with masked ID numbers, audited reads, and the
refusals (roles without personal data: 403; a record out of scope: 404 with no audit row)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.patients.models import Patient
from yigongti.patients.services import HouseholdRow, ResidentRow, patient_link_user, residents_bulk_insert

pytestmark = pytest.mark.django_db


def _row(village, seq: int, name: str, birth: dt.date, household: int | None = None) -> ResidentRow:
    return ResidentRow(
        household=household,
        health_record_number=f"{village.code}{seq:05d}",
        id_number=idnumbers.build("441823", birth, seq * 2),
        name=name,
        sex="F",
        birth_date=birth,
        phone="",
        relation_to_head="",
        village_id=village.pk,
        address="东山村",
    )


@pytest.fixture
def people(county):
    residents_bulk_insert(
        households=[HouseholdRow("H-DS-1", county.village.pk, "东山村3号")],
        residents=[
            _row(county.village, 1, "陈桂芳", dt.date(1950, 6, 1), household=0),
            _row(county.village, 2, "陈小红", dt.date(1990, 2, 3), household=0),
            _row(county.other_village, 1, "刘美华", dt.date(1960, 1, 9)),
            _row(county.foreign_village, 1, "王大娟", dt.date(1948, 12, 30)),
        ],
    )
    by_name = {p.name: p for p in Patient.objects.all()}
    patient_link_user(actor=None, patient=by_name["陈小红"], user=county.users[Role.RESIDENT])
    return SimpleNamespace(
        head=by_name["陈桂芳"], own=by_name["陈小红"], sister=by_name["刘美华"], foreign=by_name["王大娟"]
    )


def _reads() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(verb="patient.read").order_by("seq"))


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]


# --- /api/patients/me -------------------------------------------------------------------------


def test_resident_reads_own_record_and_it_is_audited(county, people, login_client):
    body = login_client(Role.RESIDENT).get("/api/patients/me").json()
    assert body["health_record_number"] == people.own.health_record_number
    assert body["id_number"] == people.own.id_number  # one's own number, unmasked
    assert body["household_code"] == "H-DS-1"
    assert body["village_code"] == county.village.code
    (row,) = _reads()
    assert (row.actor_username, row.role, row.object_id) == ("t_resident", Role.RESIDENT, str(people.own.pk))


def test_resident_without_a_linked_record_gets_404(county, login_client):
    _error(login_client(Role.RESIDENT).get("/api/patients/me"), 404, "not_found")
    assert _reads() == []


@pytest.mark.parametrize("role", [Role.VILLAGE_DOCTOR, Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU])
def test_me_is_for_residents(county, people, login_client, role):
    _error(login_client(role).get("/api/patients/me"), 403, "forbidden")
    assert _reads() == []


def test_me_requires_login(client, people):
    _error(client.get("/api/patients/me"), 401, "unauthenticated")


# --- /api/patients ----------------------------------------------------------------------------


def test_village_doctor_lists_her_residents_masked(county, people, login_client):
    body = login_client(Role.VILLAGE_DOCTOR).get("/api/patients").json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["name"] == "陈桂芳"
    assert first["id_number_masked"] == idnumbers.mask(people.head.id_number)
    assert people.head.id_number not in str(body)
    assert _reads() == []  # a list is not a read of anyone's record


def test_township_doctor_lists_her_villages_but_not_the_foreign_one(county, people, login_client):
    c = login_client(Role.TOWNSHIP_DOCTOR)
    names = [p["name"] for p in c.get("/api/patients").json()["items"]]
    assert names == ["陈桂芳", "陈小红", "刘美华"]
    assert [p["name"] for p in c.get("/api/patients?q=刘").json()["items"]] == ["刘美华"]
    assert c.get("/api/patients?q=王大娟").json()["count"] == 0
    page = c.get("/api/patients?limit=1&offset=1").json()
    assert (page["count"], [p["name"] for p in page["items"]]) == (3, ["陈小红"])


@pytest.mark.parametrize("role", [Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU, Role.COUNTY_DOCTOR])
def test_roles_without_personal_data_are_refused(county, people, login_client, role):
    c = login_client(role)
    _error(c.get("/api/patients"), 403, "forbidden")
    _error(c.get(f"/api/patients/{people.head.health_record_number}"), 403, "forbidden")
    assert _reads() == []


# --- /api/patients/{health_record_number} -----------------------------------------------------


def test_village_doctor_opens_a_record_and_it_is_audited(county, people, login_client):
    response = login_client(Role.VILLAGE_DOCTOR).get(f"/api/patients/{people.head.health_record_number}")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["id_number"], body["sex"]) == ("陈桂芳", people.head.id_number, "F")
    assert body["sex_display"]
    (row,) = _reads()
    assert (row.actor_username, row.institution_id) == ("t_village_doctor", county.village.pk)
    assert row.object_id == str(people.head.pk)


@pytest.mark.parametrize(
    ("role", "target"), [(Role.VILLAGE_DOCTOR, "sister"), (Role.TOWNSHIP_DOCTOR, "foreign")]
)
def test_out_of_scope_record_is_404_and_not_audited(county, people, login_client, role, target):
    hrn = getattr(people, target).health_record_number
    response = login_client(role).get(f"/api/patients/{hrn}")
    _error(response, 404, "not_found")
    assert response.json()["field"] == "health_record_number"
    assert _reads() == []


def test_unknown_record_is_404(county, people, login_client):
    _error(login_client(Role.VILLAGE_DOCTOR).get("/api/patients/00000000000000000"), 404, "not_found")


def test_resident_may_open_only_their_own_record_by_number(county, people, login_client):
    c = login_client(Role.RESIDENT)
    assert c.get(f"/api/patients/{people.own.health_record_number}").status_code == 200
    _error(c.get(f"/api/patients/{people.head.health_record_number}"), 404, "not_found")
    assert len(_reads()) == 1


def test_token_reads_are_audited_with_the_tokens_user(county, people):
    _token, raw = token_create(actor=None, user=county.users[Role.TOWNSHIP_DOCTOR])
    response = Client(REMOTE_ADDR="10.9.8.7").get(
        f"/api/patients/{people.sister.health_record_number}", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200
    (row,) = _reads()
    assert (row.actor_username, row.role, row.ip) == ("t_township_doctor", Role.TOWNSHIP_DOCTOR, "10.9.8.7")
