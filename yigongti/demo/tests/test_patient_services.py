"""The patients write room used by the generator: bulk insert and linking a resident login."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from yigongti.accounts.choices import Role
from yigongti.accounts.services import user_create
from yigongti.core import idnumbers
from yigongti.core.errors import Conflict, Forbidden, InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.patients.models import Household, Patient
from yigongti.patients.services import HouseholdRow, ResidentRow, patient_link_user, residents_bulk_insert


def _rows(village, prefix: str = "00", n: int = 3) -> tuple[list[HouseholdRow], list[ResidentRow]]:
    households = [HouseholdRow(f"{village.code}{prefix}001", village.pk, "阳城镇东山村1组1号")]
    residents = []
    for i in range(n):
        birth = dt.date(1960 + i, 3, 4)
        residents.append(
            ResidentRow(
                0,
                f"{village.code}{prefix}{i + 1:03d}",
                idnumbers.build("441823", birth, 11 + 2 * i),
                f"陈{'一二三'[i % 3]}",
                "M",
                birth,
                "13800138000",
                "户主" if i == 0 else "子",
                village.pk,
                "阳城镇东山村1组1号",
            )
        )
    return households, residents


def test_bulk_insert_writes_households_and_residents_without_per_row_audit(county):
    households, residents = _rows(county.village)
    audit_rows = AuditEvent.objects.count()
    assert residents_bulk_insert(households=households, residents=residents) == 3
    household = Household.objects.get(code=households[0].code)
    assert household.members.count() == 3
    patient = Patient.objects.get(health_record_number=residents[0].health_record_number)
    assert patient.id_number == residents[0].id_number and patient.village == county.village
    assert patient.created_at is not None
    assert AuditEvent.objects.count() == audit_rows


def test_bulk_insert_refuses_bad_rows_and_keeps_nothing(county):
    households, residents = _rows(county.village)
    bad_hrn = [residents[0]._replace(health_record_number="12345")]
    with pytest.raises(InvalidInput):
        residents_bulk_insert(households=households, residents=bad_hrn)
    good_id = residents[0].id_number or ""
    bad_check = [residents[0]._replace(id_number=good_id[:17] + ("0" if good_id[17] != "0" else "1"))]
    with pytest.raises(InvalidInput):
        residents_bulk_insert(households=households, residents=bad_check)
    with pytest.raises(InvalidInput):
        residents_bulk_insert(households=households, residents=[residents[0]._replace(household=5)])
    with pytest.raises(InvalidInput):
        residents_bulk_insert(households=households, residents=residents, method="fast")
    assert not Household.objects.exists() and not Patient.objects.exists()


def test_bulk_insert_duplicate_is_a_conflict_and_rolls_the_chunk_back(county):
    households, residents = _rows(county.village)
    residents_bulk_insert(households=households, residents=residents)
    more_households, more = _rows(county.village, prefix="01")
    clash = [*more[:2], more[2]._replace(id_number=residents[0].id_number)]
    with pytest.raises(Conflict):
        residents_bulk_insert(households=more_households, residents=clash)
    assert Patient.objects.count() == 3 and Household.objects.count() == 1


@pytest.mark.skipif(connection.vendor == "postgresql", reason="checks the refusal on other databases")
def test_copy_is_refused_outside_postgresql(county):
    households, residents = _rows(county.village)
    with pytest.raises(InvalidInput):
        residents_bulk_insert(households=households, residents=residents, method="copy")


METHODS = ["executemany", "copy"] if connection.vendor == "postgresql" else ["executemany"]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_writes_what_bulk_create_writes(county, method):
    fields = ("name", "sex", "birth_date", "phone", "relation_to_head", "address", "village_id")
    orm_households, orm_rows = _rows(county.village, prefix="00")
    households, rows = _rows(county.village, prefix="01")
    rows = [
        r._replace(id_number=idnumbers.build("441823", r.birth_date, 201 + 2 * k)) for k, r in enumerate(rows)
    ]
    residents_bulk_insert(households=orm_households, residents=orm_rows, method="bulk_create")
    residents_bulk_insert(households=households, residents=rows, method=method)
    by_orm = Patient.objects.filter(household__code=orm_households[0].code).order_by("health_record_number")
    by_method = Patient.objects.filter(household__code=households[0].code).order_by("health_record_number")
    assert by_method.count() == by_orm.count() == 3
    assert list(by_method.values_list(*fields)) == list(by_orm.values_list(*fields))
    assert [p.id_number for p in by_method] == [r.id_number for r in rows]
    made = by_method.first()
    assert made is not None and made.birth_date == dt.date(1960, 3, 4)
    assert made.created_at is not None and abs((made.created_at - by_orm[0].created_at).total_seconds()) < 60
    # Keys handed out by the method do not trip the ORM's own inserts afterwards.
    residents_bulk_insert(
        households=[HouseholdRow(f"{county.village.code}02001", county.village.pk, "")], residents=[]
    )
    assert Household.objects.count() == 3


def test_link_user_by_the_system_is_audited_and_only_once(county):
    households, residents = _rows(county.village)
    residents_bulk_insert(households=households, residents=residents)
    patient = Patient.objects.get(health_record_number=residents[0].health_record_number)
    user = user_create(actor=None, username="r1", password=None)
    patient_link_user(actor=None, patient=patient, user=user)
    patient.refresh_from_db()
    assert patient.user == user
    row = AuditEvent.objects.get(verb="patient.link_user")
    assert row.object_id == str(patient.pk) and row.after == {"user_id": user.pk}
    other = Patient.objects.get(health_record_number=residents[1].health_record_number)
    with pytest.raises(Conflict):
        patient_link_user(actor=None, patient=other, user=user)
    with pytest.raises(Conflict):
        patient_link_user(
            actor=None, patient=patient, user=user_create(actor=None, username="r2", password=None)
        )


def test_link_user_is_for_the_consortium_office_only(county):
    households, residents = _rows(county.village)
    residents_bulk_insert(households=households, residents=residents)
    patient = Patient.objects.get(health_record_number=residents[0].health_record_number)
    user = user_create(actor=None, username="r1", password=None)
    with pytest.raises(Forbidden):
        patient_link_user(actor=county.users[Role.VILLAGE_DOCTOR], patient=patient, user=user)
    patient_link_user(actor=county.users[Role.CONSORTIUM_OFFICE], patient=patient, user=user)
    assert (
        AuditEvent.objects.get(verb="patient.link_user").actor_id == county.users[Role.CONSORTIUM_OFFICE].pk
    )
