"""Correcting a registration through ``registration_update``: never a silent move."""

from __future__ import annotations

import datetime as dt

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.audit import verify_chain
from yigongti.core.errors import Conflict, Forbidden, NotFound
from yigongti.core.models import AuditEvent
from yigongti.core.testing import build_small_county
from yigongti.patients.matching.services import Entry, registration_create, registration_update
from yigongti.patients.models import MatchReview, Patient, Registration

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1968, 4, 9)
ID = idnumbers.build("441823", BIRTH, 123)  # a man
OTHER_BIRTH = dt.date(1975, 11, 20)
OTHER_ID = idnumbers.build("441823", OTHER_BIRTH, 246)  # a woman


@pytest.fixture
def county():
    return build_small_county()


def _register(county, entry, institution=None, role=Role.COUNTY_DOCTOR):
    return registration_create(actor=county.users[role], institution=institution or county.lead, entry=entry)


def _update(county, entry, *, local_number="MZ-1", role=Role.COUNTY_DOCTOR, institution=None):
    return registration_update(
        actor=county.users[role],
        institution=institution or county.lead,
        local_number=local_number,
        entry=entry,
    )


ZHANG = Entry(
    name="张建国", sex="M", birth_date=BIRTH, id_number=ID, phone="13800000001", local_number="MZ-1"
)


def _updates() -> int:
    return AuditEvent.objects.filter(verb="registration.update").count()


def test_the_same_details_change_nothing_and_write_no_audit_row(county):
    done = _register(county, ZHANG)
    stamp = Registration.objects.get(pk=done.registration.pk).updated_at
    again = _update(county, ZHANG)
    assert again.outcome == "unchanged" and again.changed == [] and again.reviews == []
    assert Registration.objects.get(pk=done.registration.pk).updated_at == stamp
    assert _updates() == 0


def test_a_corrected_phone_and_address_update_the_registration_and_the_golden_record(county):
    done = _register(county, ZHANG)
    fixed = Entry(**{**ZHANG.__dict__, "phone": "139 0000 0002", "address": "阳山县城关镇东门路8号"})
    result = _update(county, fixed)
    assert result.outcome == "updated" and result.patient.pk == done.patient.pk
    assert set(result.changed) == {"phone", "address"}
    reg = Registration.objects.get(pk=done.registration.pk)
    assert reg.phone == "139 0000 0002" and reg.address == "阳山县城关镇东门路8号"
    assert reg.patient_id == done.patient.pk
    patient = Patient.objects.get(pk=done.patient.pk)
    assert patient.phone == "13900000002" and patient.address == "阳山县城关镇东门路8号"
    row = AuditEvent.objects.get(verb="registration.update")
    assert row.before is not None and row.before["phone"] == "13800000001"
    assert row.after is not None and row.after["outcome"] == "updated"
    assert row.after["golden"]["phone"] == "13900000002" and row.institution_id == county.lead.pk
    assert verify_chain().problem is None


def test_a_corrected_id_typo_stays_linked_and_fills_the_golden_number(county):
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")  # wrong check character: never trusted
    town = _register(
        county,
        Entry(name="张建国", sex="M", birth_date=BIRTH, phone="13800000001", local_number="W-7"),
        institution=county.township,
        role=Role.TOWNSHIP_DOCTOR,
    )
    typo = _register(county, Entry(**{**ZHANG.__dict__, "id_number": bad}))
    assert typo.decision == "linked" and typo.patient.pk == town.patient.pk
    assert Patient.objects.get(pk=town.patient.pk).id_number is None
    result = _update(county, ZHANG)
    assert result.outcome == "updated" and result.patient.pk == town.patient.pk
    reg = Registration.objects.get(pk=typo.registration.pk)
    assert reg.id_number == ID and reg.id_problem == "" and reg.id_tail == ID[10:]
    assert reg.patient_id == town.patient.pk
    assert Patient.objects.get(pk=town.patient.pk).id_number == ID  # a gap filled
    assert not MatchReview.objects.exists()


def test_a_phone_change_never_replaces_a_verified_id_number_or_name(county):
    done = _register(county, ZHANG)
    _update(county, Entry(**{**ZHANG.__dict__, "phone": "13900000002"}))
    patient = Patient.objects.get(pk=done.patient.pk)
    assert patient.id_number == ID and patient.name == "张建国"


def test_details_now_of_another_resident_open_a_review_and_move_nothing(county):
    other = _register(
        county,
        Entry(name="李秀兰", sex="F", birth_date=OTHER_BIRTH, id_number=OTHER_ID, phone="13700000003"),
        institution=county.township,
        role=Role.TOWNSHIP_DOCTOR,
    )
    # the lead hospital filed 李秀兰 under the wrong number first, by another resident's details
    mine = _register(county, ZHANG)
    golden_before = Patient.objects.values().get(pk=mine.patient.pk)
    wrong = Entry(
        name="李秀兰",
        sex="F",
        birth_date=OTHER_BIRTH,
        id_number=OTHER_ID,
        phone="13700000003",
        local_number="MZ-1",
    )
    result = _update(county, wrong)
    assert result.outcome == "review" and result.reviews
    review = MatchReview.objects.get()
    assert review.status == "open" and review.registration_id == mine.registration.pk
    assert {review.patient_id, review.candidate_id} == {mine.patient.pk, other.patient.pk}
    reg = Registration.objects.get(pk=mine.registration.pk)
    assert reg.patient_id == mine.patient.pk  # not moved
    assert reg.name == "李秀兰" and reg.decision == "review"  # the institution's record as entered
    golden_after = Patient.objects.values().get(pk=mine.patient.pk)
    assert {k: v for k, v in golden_after.items() if k != "updated_at"} == {
        k: v for k, v in golden_before.items() if k != "updated_at"
    }
    row = AuditEvent.objects.get(verb="registration.update")
    assert row.after is not None and row.after["outcome"] == "review"
    assert row.after["reviews"] == [review.pk] and row.after["reasons"]


def test_a_contradiction_with_no_other_resident_is_refused_and_writes_nothing(county):
    _register(
        county,
        Entry(name="张建国", sex="M", birth_date=BIRTH, id_number=ID, local_number="W-7"),
        institution=county.township,
        role=Role.TOWNSHIP_DOCTOR,
    )
    mine = _register(county, ZHANG)
    assert mine.decision == "linked"
    stranger = idnumbers.build("441823", BIRTH, 321)  # a valid number of nobody in the index
    with pytest.raises(Conflict):
        _update(county, Entry(**{**ZHANG.__dict__, "id_number": stranger}))
    assert Registration.objects.get(pk=mine.registration.pk).id_number == ID
    assert _updates() == 0 and not MatchReview.objects.exists()


def test_an_unknown_local_number_is_not_found(county):
    _register(county, ZHANG)
    with pytest.raises(NotFound):
        _update(county, ZHANG, local_number="MZ-404")
    with pytest.raises(NotFound):  # another institution's number is not ours to change
        _update(county, ZHANG, institution=county.township, role=Role.TOWNSHIP_DOCTOR)


def test_an_out_of_scope_actor_is_refused(county):
    _register(county, ZHANG)
    fixed = Entry(**{**ZHANG.__dict__, "phone": "13900000002"})
    with pytest.raises(Forbidden):
        _update(county, fixed, role=Role.HEALTH_BUREAU)
    with pytest.raises(Forbidden):
        _update(county, fixed, role=Role.VILLAGE_DOCTOR)
    assert Registration.objects.get(local_number="MZ-1").phone == "13800000001"
    assert _updates() == 0
