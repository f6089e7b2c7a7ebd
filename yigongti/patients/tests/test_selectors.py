"""Resident reads: scoped lists, audited record reads, households and counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import scope_for
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditEvent
from yigongti.patients import selectors
from yigongti.patients.models import Patient
from yigongti.patients.services import HouseholdRow, ResidentRow, patient_link_user, residents_bulk_insert

pytestmark = pytest.mark.django_db


def resident(village, seq: int, name: str, birth: dt.date, *, household: int | None = None, sex: str = "F"):
    return ResidentRow(
        household=household,
        health_record_number=f"{village.code}{seq:05d}",
        id_number=idnumbers.build("441823", birth, seq * 2 + (1 if sex == "M" else 0)),
        name=name,
        sex=sex,
        birth_date=birth,
        phone=f"1380000{seq:04d}",
        relation_to_head="户主" if household is not None and seq == 1 else "",
        village_id=village.pk,
        address="",
    )


@pytest.fixture
def people(county):
    """Residents loaded through the bulk service; the resident login linked through its service."""
    households = [HouseholdRow("H-DS-1", county.village.pk, "东山村3号")]
    rows = [
        resident(county.village, 1, "陈桂芳", dt.date(1950, 6, 1), household=0),
        resident(county.village, 2, "陈小明", dt.date(1990, 2, 3), household=0, sex="M"),
        resident(county.village, 3, "林秀兰", dt.date(1961, 3, 1)),
        resident(county.other_village, 1, "刘美华", dt.date(1960, 1, 9)),
        resident(county.foreign_village, 1, "王大山", dt.date(1948, 12, 30), sex="M"),
    ]
    residents_bulk_insert(households=households, residents=rows)
    by_name = {p.name: p for p in Patient.objects.all()}
    patient_link_user(actor=None, patient=by_name["陈小明"], user=county.users[Role.RESIDENT])
    return SimpleNamespace(**{key: by_name[name] for key, name in {
        "head": "陈桂芳", "son": "陈小明", "neighbour": "林秀兰", "sister": "刘美华", "foreign": "王大山",
    }.items()})  # fmt: skip


def _scope(county, role):
    return scope_for(county.users[role])


def _reads() -> int:
    return AuditEvent.objects.filter(verb="patient.read").count()


def test_lists_follow_the_scope(county, people):
    def names(role) -> set[str]:
        return {p.name for p in selectors.patient_list_for(scope=_scope(county, role))}

    assert names(Role.VILLAGE_DOCTOR) == {"陈桂芳", "陈小明", "林秀兰"}
    assert names(Role.TOWNSHIP_DOCTOR) == {"陈桂芳", "陈小明", "林秀兰", "刘美华"}
    assert names(Role.RESIDENT) == {"陈小明"}
    for role in (Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU, Role.COUNTY_DOCTOR):
        assert names(role) == set()


def test_list_search(county, people):
    scope = _scope(county, Role.TOWNSHIP_DOCTOR)

    def found(q: str) -> list[str]:
        return [p.name for p in selectors.patient_list_for(scope=scope, q=q)]

    assert found("陈") == ["陈桂芳", "陈小明"]
    assert found(people.sister.health_record_number[:12]) == ["刘美华"]
    assert found(people.neighbour.id_number[:14]) == ["林秀兰"]
    assert found(people.head.id_number.lower()) == ["陈桂芳"]
    assert found("13800000003") == ["林秀兰"]
    assert found("王大山") == []  # exists, but in a foreign village


def test_get_audits_the_read(county, people):
    scope = _scope(county, Role.VILLAGE_DOCTOR)
    user = county.users[Role.VILLAGE_DOCTOR]
    patient = selectors.patient_get_for(
        scope=scope,
        health_record_number=people.head.health_record_number,
        actor=user,
        membership=scope.membership,
    )
    assert patient == people.head
    row = AuditEvent.objects.get(verb="patient.read")
    assert (row.actor_id, row.role, row.institution_id) == (user.pk, Role.VILLAGE_DOCTOR, county.village.pk)
    assert (row.object_type, row.object_id) == ("patients.patient", str(people.head.pk))


@pytest.mark.parametrize("target", ["foreign", "sister", "missing"])
def test_get_out_of_scope_is_not_found_and_not_audited(county, people, target):
    scope = _scope(county, Role.VILLAGE_DOCTOR)
    hrn = "44182399999999999" if target == "missing" else getattr(people, target).health_record_number
    with pytest.raises(NotFound) as info:
        selectors.patient_get_for(
            scope=scope, health_record_number=hrn, actor=county.users[Role.VILLAGE_DOCTOR], membership=None
        )
    assert info.value.field == "health_record_number"
    assert _reads() == 0


def test_my_record_for_residents_only(county, people):
    scope = _scope(county, Role.RESIDENT)
    assert selectors.my_record_for(scope=scope, actor=county.users[Role.RESIDENT]) == people.son
    assert _reads() == 1
    doctor = _scope(county, Role.VILLAGE_DOCTOR)
    assert selectors.my_record_for(scope=doctor, actor=county.users[Role.VILLAGE_DOCTOR]) is None
    assert _reads() == 1


def test_household_members(county, people):
    resident_scope = _scope(county, Role.RESIDENT)
    assert selectors.household_members_for(scope=resident_scope, patient=people.son) == [people.head]
    # A resident handed someone else's record learns nothing about that household.
    assert selectors.household_members_for(scope=resident_scope, patient=people.head) == []
    doctor = _scope(county, Role.VILLAGE_DOCTOR)
    assert selectors.household_members_for(scope=doctor, patient=people.head) == [people.son]
    assert selectors.household_members_for(scope=doctor, patient=people.neighbour) == []


def test_counts(county, people):
    today = dt.date(2026, 6, 1)
    township = selectors.resident_counts_for(scope=_scope(county, Role.TOWNSHIP_DOCTOR), today=today)
    assert (township.residents, township.households, township.elderly) == (4, 1, 3)
    village = selectors.resident_counts_for(scope=_scope(county, Role.VILLAGE_DOCTOR), today=today)
    assert (village.residents, village.elderly) == (3, 2)
    assert selectors.resident_counts_for(scope=_scope(county, Role.RESIDENT), today=today).residents == 0
    by_village = selectors.resident_counts_by_village(scope=_scope(county, Role.TOWNSHIP_DOCTOR))
    assert by_village == {county.village.pk: 3, county.other_village.pk: 1}


def test_born_on_or_before_handles_29_february():
    assert selectors.born_on_or_before(dt.date(2026, 6, 1), 65) == dt.date(1961, 6, 1)
    assert selectors.born_on_or_before(dt.date(2024, 2, 29), 65) == dt.date(1959, 2, 28)
    assert selectors.born_on_or_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)
