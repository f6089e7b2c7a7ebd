"""Resident search by characters, pinyin, initials and numbers, through the selector, the page and
the API; the name keys written by create, rename and the bulk load; scope and query counts."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from types import SimpleNamespace

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import scope_for
from yigongti.core.errors import Conflict, Forbidden, InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.patients.models import Patient, PatientNameKey
from yigongti.patients.selectors import patient_list_for
from yigongti.patients.services import (
    ResidentRow,
    patient_create,
    patient_rename,
    residents_bulk_insert,
)

pytestmark = pytest.mark.django_db

ZHANG_WEI_ID = idnumbers.build("441823", dt.date(1980, 5, 17), 31)
_ID_SEQ = itertools.count(100)


def _row(village, seq: int, name: str, *, phone: str = "") -> ResidentRow:
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=seq)
    return ResidentRow(
        None, f"{village.code}{seq:05d}", idnumbers.build("441823", birth, next(_ID_SEQ)), name, "F",
        birth, phone, "", village.pk, "",
    )  # fmt: skip


@pytest.fixture
def people(county):
    """张伟 and 單田芳 created one by one; the others bulk-loaded (the demo generator's path)."""
    zhang = patient_create(
        actor=county.users[Role.VILLAGE_DOCTOR],
        village=county.village,
        health_record_number=f"{county.village.code}00001",
        id_number=ZHANG_WEI_ID,
        name="张伟",
        sex="M",
        birth_date=dt.date(1980, 5, 17),
        phone="13912345678",
    )
    shan = patient_create(
        actor=None,
        village=county.other_village,
        health_record_number=f"{county.other_village.code}00001",
        name="單田芳",
        sex="M",
        birth_date=dt.date(1941, 7, 1),
    )
    residents_bulk_insert(
        households=[],
        residents=[
            _row(county.village, 2, "张伟明"),
            _row(county.village, 3, "周文"),
            _row(county.village, 4, "曾志强", phone="13800000004"),
            _row(county.other_village, 2, "陈桂芳"),
            _row(county.foreign_village, 1, "张伟"),
            _row(county.foreign_village, 2, "曾志强"),
        ],
    )
    by = {(p.village_id, p.name): p for p in Patient.objects.all()}
    return SimpleNamespace(
        zhang=zhang,
        shan=shan,
        zhang_ming=by[county.village.pk, "张伟明"],
        zhou=by[county.village.pk, "周文"],
        zeng=by[county.village.pk, "曾志强"],
        chen=by[county.other_village.pk, "陈桂芳"],
        foreign_zhang=by[county.foreign_village.pk, "张伟"],
        foreign_zeng=by[county.foreign_village.pk, "曾志强"],
    )


ZHANG_WEI_KEYS = {("pinyin", "zhangwei"), ("initials", "zw"), ("suffix", "张伟"), ("suffix", "伟")}


def _keys(patient) -> set[tuple[str, str]]:
    return set(PatientNameKey.objects.filter(patient=patient).values_list("kind", "key"))


def _names(county, q: str, role: str = Role.TOWNSHIP_DOCTOR) -> list[str]:
    return [p.name for p in patient_list_for(scope=scope_for(county.users[role]), q=q)]


# --- keys written --------------------------------------------------------------------------------


def test_create_writes_keys_and_audits(county, people):
    assert _keys(people.zhang) == ZHANG_WEI_KEYS
    assert ("simplified", "单田芳") in _keys(people.shan)
    assert ("pinyin", "shantianfang") in _keys(people.shan)
    event = AuditEvent.objects.get(verb="patient.create", object_id=str(people.zhang.pk))
    assert event.after is not None and event.after["name"] == "张伟"


@pytest.mark.parametrize("method", ["bulk_create", "executemany", "auto"])
def test_bulk_insert_writes_keys(county, method):
    residents_bulk_insert(households=[], residents=[_row(county.village, 7, "覃秀兰")], method=method)
    patient = Patient.objects.get(name="覃秀兰")
    assert {("pinyin", "qinxiulan"), ("pinyin", "tanxiulan"), ("initials", "qxl")} <= _keys(patient)


def test_rename_rewrites_keys_and_audits(county, people):
    patient_rename(actor=county.users[Role.TOWNSHIP_DOCTOR], patient=people.zhou, name="区文")
    assert ("pinyin", "zhouwen") not in _keys(people.zhou)
    assert ("pinyin", "ouwen") in _keys(people.zhou)
    event = AuditEvent.objects.get(verb="patient.rename")
    assert (event.before, event.after) == ({"name": "周文"}, {"name": "区文"})
    assert _names(county, "ouw") == ["区文"]


def test_rename_is_refused_outside_the_scope_and_for_blank_names(county, people):
    with pytest.raises(Forbidden):
        patient_rename(actor=county.users[Role.VILLAGE_DOCTOR], patient=people.foreign_zhang, name="张三")
    with pytest.raises(InvalidInput):
        patient_rename(actor=None, patient=people.zhou, name="  ")
    assert _keys(people.foreign_zhang) == ZHANG_WEI_KEYS
    assert not AuditEvent.objects.filter(verb="patient.rename").exists()


def test_create_is_refused_outside_the_scope_and_for_duplicates(county, people):
    with pytest.raises(Forbidden):
        patient_create(
            actor=county.users[Role.VILLAGE_DOCTOR], village=county.foreign_village,
            health_record_number=f"{county.foreign_village.code}00009", name="李四", sex="M",
            birth_date=dt.date(1970, 1, 1),
        )  # fmt: skip
    with pytest.raises(Conflict):
        patient_create(
            actor=None, village=county.village, health_record_number=people.zhang.health_record_number,
            name="李四", sex="M", birth_date=dt.date(1970, 1, 1),
        )  # fmt: skip
    assert not Patient.objects.filter(name="李四").exists()
    assert not PatientNameKey.objects.filter(key="lisi").exists()


# --- search --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("zw", ["张伟", "周文", "张伟明"]),  # initials prefix: zw, zw, zwm
        ("ZW", ["张伟", "周文", "张伟明"]),
        ("zwm", ["张伟明"]),
        ("zhangw", ["张伟", "张伟明"]),  # full-pinyin prefix
        ("zhang wei", ["张伟", "张伟明"]),
        ("zhangweiming", ["张伟明"]),
        ("zengzhi", ["曾志强"]),  # the surname reading
        ("cengzhi", ["曾志强"]),  # the everyday reading still finds
        ("shantian", ["單田芳"]),  # a traditional name, keyed by its simplified reading
        ("单田", ["單田芳"]),  # characters: the stored simplified key
        ("單田", ["單田芳"]),  # characters: as written
        ("陳", ["陈桂芳"]),  # a traditional query finds the simplified name
        ("伟", ["张伟", "张伟明"]),
        ("田", ["單田芳"]),  # a character in the middle of a traditional name
        ("桂芳", ["陈桂芳"]),
        ("伟芳", []),
        ("1391234", ["张伟"]),  # phone prefix
        ("13800000004", ["曾志强"]),
        (ZHANG_WEI_ID[:10], ["张伟"]),  # ID number prefix
        ("44182310100100001", ["张伟"]),  # health-record number
        ("xyz", []),
        ("!!", []),
    ],
)
def test_township_doctor_search(county, people, q, expected):
    assert sorted(_names(county, q)) == sorted(expected)


def test_id_number_with_lower_case_x(county):
    number = next(
        idnumbers.build("441823", dt.date(1975, 1, 1), seq)
        for seq in range(1, 999)
        if idnumbers.build("441823", dt.date(1975, 1, 1), seq).endswith("X")
    )
    patient_create(
        actor=None, village=county.village, health_record_number=f"{county.village.code}00050",
        id_number=number, name="李娜", sex="F", birth_date=dt.date(1975, 1, 1),
    )  # fmt: skip
    assert _names(county, number.lower()) == ["李娜"]


def test_search_never_leaves_the_scope(county, people):
    for q in ("zw", "zhangwei", "张伟", "zengzhiqiang", people.foreign_zhang.health_record_number):
        found = {p.pk for p in patient_list_for(scope=scope_for(county.users[Role.TOWNSHIP_DOCTOR]), q=q)}
        assert people.foreign_zhang.pk not in found and people.foreign_zeng.pk not in found
    assert _names(county, "zw", Role.VILLAGE_DOCTOR) == ["张伟", "张伟明", "周文"]
    assert _names(county, "chen", Role.VILLAGE_DOCTOR) == []  # 陈桂芳 lives in the other village
    assert _names(county, "zw", Role.CONSORTIUM_OFFICE) == []


def test_search_is_one_query(county, people, django_assert_max_num_queries):
    scope = scope_for(county.users[Role.TOWNSHIP_DOCTOR])
    for q in ("zw", "zhangw", "陳", "139", "!!"):
        with django_assert_max_num_queries(1):
            list(patient_list_for(scope=scope, q=q))


def test_search_through_the_page(county, people, login_client):
    c = login_client(Role.VILLAGE_DOCTOR)
    page = c.get("/patients/", {"q": "zw"}).content.decode()
    assert "张伟明" in page and "周文" in page and "曾志强" not in page
    page = c.get("/patients/", {"q": "zengzhiq"}).content.decode()
    assert "曾志强" in page and "张伟明" not in page


def test_search_through_the_api(county, people, login_client):
    c = login_client(Role.VILLAGE_DOCTOR)
    body = c.get("/api/patients", {"q": "zw"}).json()
    assert [p["name"] for p in body["items"]] == ["张伟", "张伟明", "周文"]
    assert body["count"] == 3
    assert [p["name"] for p in c.get("/api/patients", {"q": "zhangweim"}).json()["items"]] == ["张伟明"]
    assert c.get("/api/patients", {"q": "陈"}).json()["count"] == 0  # out of her village


def test_migration_gives_residents_on_file_their_suffix_keys(county, people):
    from django.apps import apps

    migration = importlib.import_module("yigongti.patients.migrations.0004_name_suffix_keys")
    PatientNameKey.objects.filter(kind="suffix").delete()
    assert _names(county, "田") == []
    migration.add_suffix_keys(apps, None)
    migration.add_suffix_keys(apps, None)  # again: nothing twice
    assert _names(county, "田") == ["單田芳"]
    assert _keys(people.zhang) >= {("suffix", "张伟"), ("suffix", "伟")}
    assert PatientNameKey.objects.filter(patient=people.zhang, kind="suffix").count() == 2
