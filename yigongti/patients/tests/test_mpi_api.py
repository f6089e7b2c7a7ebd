"""The master index over JSON: match (writes nothing), register, reviews, merges; allowed,
denied, bad input, and the audit rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.patients.models import MatchReview, Merge, NonMatch, Patient, Registration

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1968, 4, 9)
ID = idnumbers.build("441823", BIRTH, 123)


def _api(county: Any, role: str) -> Client:
    _token, raw = token_create(actor=None, user=county.users[role], name=f"test-{role}")
    return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, body, content_type="application/json")


PERSON = {"name": "陈志强", "sex": "M", "birth_date": "1968-04-09", "id_number": ID, "phone": "13800000001"}


def _writes() -> int:
    return Registration.objects.count() + Patient.objects.count() + AuditEvent.objects.count()


def test_match_scores_without_writing_anything(county):
    doctor = _api(county, Role.COUNTY_DOCTOR)
    first = _post(doctor, "/api/patients", PERSON)
    assert first.status_code == 201, first.content
    before = _writes()
    body = _post(
        doctor, "/api/patients/match", {**PERSON, "name": "陳志強", "id_number": ID[:6] + ID[8:17]}
    ).json()
    assert _writes() == before
    assert body["decision"] == "linked"
    (best,) = body["candidates"]
    assert best["patient_id"] == first.json()["patient_id"] and best["probability"] > 0.99
    levels = {f["field"]: f["level"] for f in best["fields"]}
    assert levels["id_number"] == "exact" and levels["name"] == "exact"
    assert best["id_number_masked"] == idnumbers.mask(ID) and best["score"] == pytest.approx(best["score"])


def test_register_links_the_same_person_and_is_audited(county):
    doctor = _api(county, Role.COUNTY_DOCTOR)
    first = _post(doctor, "/api/patients", {**PERSON, "local_number": "MZ1"}).json()
    assert first["decision"] == "new" and first["created"]
    again = _post(
        _api(county, Role.TOWNSHIP_DOCTOR),
        "/api/patients",
        {**PERSON, "name": "陳志強", "phone": "13900000002"},
    )
    assert again.status_code == 201
    assert again.json()["decision"] == "linked" and again.json()["patient_id"] == first["patient_id"]
    row = AuditEvent.objects.filter(verb="patient.register").latest("seq")
    assert row.after is not None and row.after["decision"] == "linked"
    assert row.institution_id == county.township.pk
    repeat = _post(doctor, "/api/patients", {**PERSON, "local_number": "MZ1"})
    assert repeat.status_code == 200 and repeat.json()["created"] is False
    changed = _post(doctor, "/api/patients", {**PERSON, "local_number": "MZ1", "name": "陈志"})
    assert changed.status_code == 409 and changed.json()["field"] == "local_number"


def test_a_wrong_check_character_is_reported_and_not_trusted(county):
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")
    body = _post(_api(county, Role.COUNTY_DOCTOR), "/api/patients", {**PERSON, "id_number": bad}).json()
    assert body["id_number_problem"] == "check"
    assert Patient.objects.get(pk=body["patient_id"]).id_number is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PERSON, "birth_date": "2023-02-30"}, "birth_date"),
        ({**PERSON, "name": "12345"}, "name"),
        ({**PERSON, "name": ""}, "name"),
        ({**PERSON, "birth_date": "2999-01-01"}, "birth_date"),
        ({**PERSON, "sex": "X"}, "sex"),
        ({**PERSON, "village_code": "999999999999"}, "village_code"),
        ({**PERSON, "name": "张" * 41}, "name"),
    ],
)
@pytest.mark.parametrize("path", ["/api/patients", "/api/patients/match"])
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(county, body, field, path):
    doctor = _api(county, Role.COUNTY_DOCTOR)
    before = _writes()
    response = _post(doctor, path, body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field and response.json()["message"]
    assert _writes() == before


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.RESIDENT, Role.CONSORTIUM_OFFICE])
@pytest.mark.parametrize("path", ["/api/patients", "/api/patients/match"])
def test_registration_is_for_staff_of_member_institutions(county, role, path):
    response = _post(_api(county, role), path, PERSON)
    assert response.status_code == 403
    assert not Registration.objects.exclude(source="filing").exists()


def test_anonymous_gets_401(client):
    assert client.post("/api/patients/match", PERSON, content_type="application/json").status_code == 401


def _review(county) -> MatchReview:
    doctor = _api(county, Role.COUNTY_DOCTOR)
    _post(
        doctor,
        "/api/patients",
        {"name": "刘秀英", "sex": "F", "birth_date": "1968-04-09", "phone": "13500000005"},
    )
    second = _post(doctor, "/api/patients", {"name": "刘秀英", "sex": "F", "birth_date": "1968-09-04"}).json()
    assert second["decision"] == "review"
    return MatchReview.objects.get(patient_id=second["patient_id"])


def test_office_lists_reads_and_decides_same_then_undoes(county):
    review = _review(county)
    office = _api(county, Role.CONSORTIUM_OFFICE)
    page = office.get("/api/patients/reviews").json()
    assert page["count"] == 1 and page["items"][0]["review_id"] == review.pk
    assert (
        page["items"][0]["new"]["registrations"] == 1 and page["items"][0]["candidate"]["registrations"] == 1
    )
    detail = office.get(f"/api/patients/reviews/{review.pk}").json()
    assert detail["new"]["patient_id"] == review.patient_id and detail["fields"]
    assert AuditEvent.objects.filter(verb="patient.review_read", object_id=str(review.pk)).exists()

    decided = _post(office, f"/api/patients/reviews/{review.pk}/decision", {"same": True})
    assert decided.status_code == 200 and decided.json()["status"] == "same"
    merge = Merge.objects.get()
    assert Patient.objects.get(pk=review.patient_id).merged_into_id == review.candidate_id
    assert office.get("/api/patients/merges").json()["items"][0]["merge_id"] == merge.pk
    again = _post(office, f"/api/patients/reviews/{review.pk}/decision", {"same": True})
    assert again.status_code == 409

    undone = _post(office, f"/api/patients/merges/{merge.pk}/undo", {})
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert Patient.objects.get(pk=review.patient_id).merged_into_id is None
    assert _post(office, f"/api/patients/merges/{merge.pk}/undo", {}).status_code == 409
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"patient.review_decide", "patient.merge", "patient.unmerge"} <= verbs


def test_different_people_is_remembered(county):
    review = _review(county)
    office = _api(county, Role.CONSORTIUM_OFFICE)
    assert (
        _post(office, f"/api/patients/reviews/{review.pk}/decision", {"same": False}).json()["status"]
        == "different"
    )
    assert NonMatch.objects.count() == 1
    assert office.get("/api/patients/reviews").json()["count"] == 0


@pytest.mark.parametrize("role", [Role.COUNTY_DOCTOR, Role.VILLAGE_DOCTOR, Role.HEALTH_BUREAU, Role.RESIDENT])
def test_only_the_office_sees_and_decides_reviews(county, role):
    review = _review(county)
    client = _api(county, role)
    assert client.get("/api/patients/reviews").status_code == 403
    assert client.get(f"/api/patients/reviews/{review.pk}").status_code == 403
    assert _post(client, f"/api/patients/reviews/{review.pk}/decision", {"same": True}).status_code == 403
    assert not Merge.objects.exists()
    assert not AuditEvent.objects.filter(verb="patient.review_read").exists()


def test_unknown_review_and_merge_are_404(county):
    office = _api(county, Role.CONSORTIUM_OFFICE)
    assert office.get("/api/patients/reviews/999999").status_code == 404
    assert _post(office, "/api/patients/reviews/999999/decision", {"same": False}).status_code == 404
    assert _post(office, "/api/patients/merges/999999/undo", {}).status_code == 404


def test_twins_are_sent_to_a_person_with_the_reasons(county):
    doctor = _api(county, Role.COUNTY_DOCTOR)
    home = {"sex": "M", "birth_date": "1968-04-09", "phone": "13600000006", "address": "东山村3号"}
    _post(doctor, "/api/patients", {**home, "name": "李明", "id_number": ID})
    twin = {**home, "name": "李亮", "id_number": idnumbers.build("441823", BIRTH, 125)}
    body = _post(doctor, "/api/patients/match", twin).json()
    assert body["decision"] != "linked"
    assert set(body["candidates"][0]["guards"]) == {"id_conflict", "name_different"}
