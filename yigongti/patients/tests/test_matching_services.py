"""Register, link, review, merge and unmerge through the master-index services."""

from __future__ import annotations

import datetime as dt

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.audit import verify_chain
from yigongti.core.errors import Conflict, Forbidden, InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.core.testing import build_small_county
from yigongti.patients.matching.merging import patients_unmerge, review_decide
from yigongti.patients.matching.services import Entry, registration_create
from yigongti.patients.models import MatchReview, Merge, NonMatch, Patient, Registration

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1968, 4, 9)
ID = idnumbers.build("441823", BIRTH, 123)  # odd sequence: a man


@pytest.fixture
def county():
    return build_small_county()


def _register(county, entry, role=Role.COUNTY_DOCTOR, institution=None):
    return registration_create(actor=county.users[role], institution=institution or county.lead, entry=entry)


def test_a_first_registration_files_a_new_resident_with_its_explanation(county):
    done = _register(county, Entry(name="张伟", sex="M", birth_date=BIRTH, id_number=ID, phone="13800000001"))
    assert done.decision == "new" and done.created
    assert done.patient.id_number == ID and done.patient.health_record_number is None
    assert done.registration.explanation["decision"] == "new"
    row = AuditEvent.objects.filter(verb="patient.register").latest("seq")
    assert row.after is not None and row.after["decision"] == "new" and row.institution_id == county.lead.pk


def test_the_same_person_with_traditional_characters_and_a_legacy_number_is_linked(county):
    first = _register(
        county, Entry(name="陈志强", sex="M", birth_date=BIRTH, id_number=ID, phone="13800000001")
    )
    legacy = ID[:6] + ID[8:17]  # the 15-digit number of the same person
    again = _register(
        county,
        Entry(name="陳志強", sex="男", birth_date=BIRTH, id_number=legacy, phone="13900000002"),
        role=Role.TOWNSHIP_DOCTOR,
        institution=county.township,
    )
    assert again.decision == "linked" and again.patient.pk == first.patient.pk
    fields = {f["field"]: f["level"] for f in again.registration.explanation["candidates"][0]["fields"]}
    assert fields["id_number"] == "exact" and fields["name"] == "exact"  # compared in simplified form
    again.patient.refresh_from_db()
    assert again.patient.phone == "13900000002"  # the newest phone wins
    assert Patient.objects.filter(merged_into__isnull=True).count() == 1


def test_a_wrong_check_character_is_flagged_never_trusted_and_matched_on_the_rest(county):
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")
    first = _register(
        county, Entry(name="覃翊珩", sex="F", birth_date=BIRTH, id_number=bad, phone="13700000007")
    )
    assert first.registration.id_problem == "check"
    assert first.registration.id_number == "" and first.patient.id_number is None
    again = _register(county, Entry(name="覃翊珩", sex="F", birth_date=BIRTH, phone="13700000007"))
    assert again.decision == "linked" and again.patient.pk == first.patient.pk


def test_one_digit_typo_in_the_id_number_is_near_not_conflict(county):
    first = _register(county, Entry(name="王芳", sex="F", birth_date=BIRTH, id_number=ID))
    typo = ID[:3] + str((int(ID[3]) + 1) % 10) + ID[4:]
    again = _register(county, Entry(name="王芳", sex="F", birth_date=BIRTH, id_number=typo))
    fields = {f["field"]: f["level"] for f in again.registration.explanation["candidates"][0]["fields"]}
    assert fields["id_number"] == "near"
    assert again.registration.id_problem == "check"
    assert again.patient.pk == first.patient.pk or again.decision == "review"


def test_twins_with_different_id_numbers_are_not_linked(county):
    a = _register(county, Entry(name="李明", sex="M", birth_date=BIRTH, id_number=ID, phone="13600000006"))
    twin = idnumbers.build("441823", BIRTH, 125)
    b = _register(county, Entry(name="李亮", sex="M", birth_date=BIRTH, id_number=twin, phone="13600000006"))
    assert b.decision != "linked" and b.patient.pk != a.patient.pk


def test_review_band_then_same_person_merges_and_unmerge_restores_exactly(county):
    a = _register(county, Entry(name="刘秀英", sex="F", birth_date=BIRTH, phone="13500000005"))
    b = _register(
        county,
        Entry(name="刘秀英", sex="F", birth_date=dt.date(1968, 9, 4)),  # day and month swapped, no phone
    )
    assert b.decision == "review", b.registration.explanation
    review = MatchReview.objects.get(patient=b.patient)
    assert review.candidate_id == a.patient.pk and review.explanation["fields"]
    office = county.users[Role.CONSORTIUM_OFFICE]
    before = {r.pk: r.patient_id for r in Registration.objects.all()}
    survivor_before = Patient.objects.values().get(pk=a.patient.pk)

    review_decide(actor=office, review_id=review.pk, same=True)
    merged = Patient.objects.get(pk=b.patient.pk)
    assert merged.merged_into_id == a.patient.pk
    assert set(Registration.objects.filter(patient=a.patient).values_list("pk", flat=True)) == set(before)
    merge = Merge.objects.get()

    patients_unmerge(actor=office, merge_id=merge.pk)
    assert {r.pk: r.patient_id for r in Registration.objects.all()} == before
    after = Patient.objects.values().get(pk=a.patient.pk)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in survivor_before.items() if k != "updated_at"
    }
    assert Patient.objects.get(pk=b.patient.pk).merged_into_id is None
    review.refresh_from_db()
    assert review.status == "open"
    verbs = list(AuditEvent.objects.order_by("seq").values_list("verb", flat=True))
    assert "patient.merge" in verbs and "patient.unmerge" in verbs
    assert verify_chain().problem is None


def test_different_people_is_remembered_and_blocks_a_merge(county):
    a = _register(county, Entry(name="刘秀英", sex="F", birth_date=BIRTH, phone="13500000005"))
    b = _register(county, Entry(name="刘秀英", sex="F", birth_date=dt.date(1968, 9, 4)))
    review = MatchReview.objects.get(patient=b.patient)
    office = county.users[Role.CONSORTIUM_OFFICE]
    review_decide(actor=office, review_id=review.pk, same=False)
    assert NonMatch.objects.filter(low_id=min(a.patient.pk, b.patient.pk)).exists()
    with pytest.raises(Conflict):
        review_decide(actor=office, review_id=review.pk, same=True)


def test_only_the_office_decides_and_readers_cannot_register(county):
    _register(county, Entry(name="刘秀英", sex="F", birth_date=BIRTH, phone="13500000005"))
    b = _register(county, Entry(name="刘秀英", sex="F", birth_date=dt.date(1968, 9, 4)))
    review = MatchReview.objects.get(patient=b.patient)
    with pytest.raises(Forbidden):
        review_decide(actor=county.users[Role.VILLAGE_DOCTOR], review_id=review.pk, same=True)
    with pytest.raises(Forbidden):
        _register(
            county, Entry(name="赵六", birth_date=BIRTH), role=Role.HEALTH_BUREAU, institution=county.bureau
        )
    with pytest.raises(Forbidden):  # a village doctor registers at her own clinic only
        _register(county, Entry(name="赵六", birth_date=BIRTH), role=Role.VILLAGE_DOCTOR)


def test_same_local_number_is_idempotent_and_a_changed_one_conflicts(county):
    entry = Entry(name="周杰", sex="M", birth_date=BIRTH, local_number="MZ-001")
    one = _register(county, entry)
    two = _register(county, entry)
    assert not two.created and two.registration.pk == one.registration.pk
    with pytest.raises(Conflict):
        _register(county, Entry(name="周杰伦", sex="M", birth_date=BIRTH, local_number="MZ-001"))
    assert Registration.objects.filter(local_number="MZ-001").count() == 1


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (Entry(name="12345", birth_date=BIRTH), "name"),
        (Entry(name="", birth_date=BIRTH), "name"),
        (Entry(name="张三", birth_date=dt.date(2999, 1, 1)), "birth_date"),
        (Entry(name="张三", sex="X"), "sex"),
        (Entry(name="张三", village_code="000000000000"), "village_code"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_writes_nothing(county, entry, field):
    with pytest.raises(InvalidInput) as caught:
        _register(county, entry)
    assert caught.value.field == field
    assert not Registration.objects.exclude(source="filing").exists()


def test_a_village_in_the_address_files_a_health_record_number(county):
    county.village.address = "广东省清远市阳山县阳城镇东山村"
    county.village.save()
    done = _register(
        county,
        Entry(name="黄小燕", sex="F", birth_date=BIRTH, address="阳城镇东山村5组12号"),
        role=Role.VILLAGE_DOCTOR,
        institution=county.village,
    )
    assert done.patient.village_id == county.village.pk
    assert done.patient.health_record_number.startswith(county.village.code)


def test_father_and_son_of_one_name_sharing_a_phone_are_not_linked(county):
    home = {"name": "李明", "sex": "M", "phone": "13600000006", "village_code": county.village.code}
    father = _register(county, Entry(**home, birth_date=dt.date(1960, 5, 1), id_number=ID))
    son = _register(county, Entry(**home, birth_date=dt.date(1988, 6, 19)))
    assert son.decision != "linked" and son.patient.pk != father.patient.pk
    assert "birth_different" in son.registration.explanation["candidates"][0]["guards"]


def test_namesakes_born_the_same_day_in_other_villages_go_to_a_person(county):
    one = _register(
        county,
        Entry(name="王妹英", sex="F", birth_date=BIRTH, id_number=ID, village_code=county.village.code),
    )
    other = _register(
        county, Entry(name="王妹英", sex="F", birth_date=BIRTH, village_code=county.foreign_village.code)
    )
    assert other.decision != "linked" and other.patient.pk != one.patient.pk


def test_the_same_valid_id_lifts_a_flipped_sex_and_a_similar_character(county):
    first = _register(
        county, Entry(name="刘娟玲", sex="F", birth_date=BIRTH, id_number=ID, phone="13800000009")
    )
    again = _register(
        county, Entry(name="刘娟琳", sex="M", birth_date=BIRTH, id_number=ID, phone="13800000009")
    )
    assert again.decision == "linked" and again.patient.pk == first.patient.pk
