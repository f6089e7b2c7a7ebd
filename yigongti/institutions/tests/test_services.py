"""Institution services: every rule refuses bad input without writing anything, and every
accepted write leaves exactly one audit row naming its actor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.institutions import services
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.institutions.models import Department, Institution, Secondment, Staff

pytestmark = pytest.mark.django_db

TABLES = (Institution, Department, Staff, Secondment, AuditEvent)


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in TABLES)


@contextmanager
def refused(error: type[DomainError], field: str | None = None) -> Iterator[None]:
    """The block raises ``error`` (naming ``field``) and not a single row changes anywhere."""
    before = _counts()
    with pytest.raises(error) as info:
        yield
    assert str(info.value.message)
    if field is not None:
        assert info.value.field == field
    assert _counts() == before


def _last_audit(verb: str) -> AuditEvent:
    return AuditEvent.objects.filter(verb=verb).latest("seq")


@pytest.fixture
def office(county):
    return county.users[Role.CONSORTIUM_OFFICE]


# --- institutions -----------------------------------------------------------------------------


def test_office_adds_a_village_clinic(county, office):
    clinic = services.institution_create(
        actor=office,
        code="441823101003",
        name="阳城镇南坑村卫生站",
        kind=K.VILLAGE_CLINIC,
        parent=county.township,
    )
    assert clinic.consortium == county.consortium
    assert clinic.level == "village"
    assert clinic.area_code == "441823"
    assert clinic.township_name == "阳城镇"  # inherited from the township centre
    row = _last_audit("institution.create")
    assert (row.actor_id, row.role, row.institution_id) == (office.pk, Role.CONSORTIUM_OFFICE, county.lead.pk)
    assert row.object_id == str(clinic.pk)
    assert row.after is not None and row.after["code"] == "441823101003"


@pytest.mark.parametrize(
    "code",
    ["44182310100", "4418231010031", "44182310100A", "４４１８２３１０１００３", "441823١٠١٠٠٣", ""],
)
def test_institution_code_is_twelve_ascii_digits(county, office, code):
    with refused(InvalidInput, "code"):
        services.institution_create(
            actor=office, code=code, name="诊所", kind=K.VILLAGE_CLINIC, parent=county.township
        )


@pytest.mark.parametrize("code", ["000000101003", "991823101003", "440000101003"])
def test_institution_code_starts_with_a_county_code(county, office, code):
    with refused(InvalidInput, "code"):
        services.institution_create(
            actor=office, code=code, name="诊所", kind=K.TOWNSHIP_CENTRE, parent=county.lead
        )


def test_village_code_continues_its_townships(county, office):
    with refused(InvalidInput, "code"):
        services.institution_create(
            actor=office,
            code="441823102009",
            name="错挂村卫生站",
            kind=K.VILLAGE_CLINIC,
            parent=county.township,
        )


@pytest.mark.parametrize(
    ("kind", "parent_attr"),
    [
        (K.VILLAGE_CLINIC, "lead"),  # a clinic hangs under a township centre
        (K.VILLAGE_CLINIC, None),
        (K.TOWNSHIP_CENTRE, "village"),
        (K.TOWNSHIP_CENTRE, None),
        (K.TCM_HOSPITAL, "township"),
        (K.LEAD_HOSPITAL, "lead"),  # roots have no parent
        (K.EXTERNAL_HOSPITAL, "lead"),
    ],
)
def test_parent_must_be_of_the_kind_the_tree_requires(county, office, kind, parent_attr):
    parent = getattr(county, parent_attr) if parent_attr else None
    # A clinic's code continues its parent's, so that only the parent's kind is wrong.
    code = (parent.code[:9] + "009") if kind == K.VILLAGE_CLINIC and parent else "441823103000"
    with refused(InvalidInput, "parent"):
        services.institution_create(actor=office, code=code, name="新机构", kind=kind, parent=parent)


def test_unknown_kind_and_empty_name_are_refused(county, office):
    with refused(InvalidInput, "kind"):
        services.institution_create(
            actor=office, code="441823103000", name="x", kind="spa", parent=county.lead
        )
    with refused(InvalidInput, "name"):
        services.institution_create(
            actor=office, code="441823103000", name="  ", kind=K.TOWNSHIP_CENTRE, parent=county.lead
        )


def test_duplicate_code_is_a_conflict(county, office):
    with refused(Conflict, "code"):
        services.institution_create(
            actor=office, code=county.village.code, name="重复", kind=K.VILLAGE_CLINIC, parent=county.township
        )


def test_external_hospital_belongs_to_no_consortium(county, office):
    hospital = services.institution_create(
        actor=office,
        code="440106000001",
        name="中山大学附属第一医院",
        kind=K.EXTERNAL_HOSPITAL,
        consortium=county.consortium,
        external_level="provincial",
    )
    assert hospital.consortium is None and hospital.external_level == "provincial"


def test_member_institution_needs_a_consortium(db):
    with refused(InvalidInput, "consortium"):
        services.institution_create(actor=None, code="441823000001", name="县医院", kind=K.LEAD_HOSPITAL)


@pytest.mark.parametrize(
    "role", [Role.HEALTH_BUREAU, Role.TOWNSHIP_DOCTOR, Role.VILLAGE_DOCTOR, Role.RESIDENT]
)
def test_only_the_office_adds_institutions(county, role):
    with refused(Forbidden):
        services.institution_create(
            actor=county.users[role],
            code="441823101003",
            name="阳城镇南坑村卫生站",
            kind=K.VILLAGE_CLINIC,
            parent=county.township,
        )


def test_office_cannot_add_under_another_consortium(county, office):
    other = services.consortium_create(
        actor=None, code="441821001", name="佛冈县医共体", county_code="441821", county_name="佛冈县"
    )
    lead = services.institution_create(
        actor=None, code="441821000001", name="佛冈县人民医院", kind=K.LEAD_HOSPITAL, consortium=other
    )
    with refused(Forbidden):
        services.institution_create(
            actor=office, code="441821101000", name="汤塘镇卫生院", kind=K.TOWNSHIP_CENTRE, parent=lead
        )


def test_consortia_are_created_by_the_system_only(county, office):
    with refused(InvalidInput):
        services.consortium_create(
            actor=office, code="441821001", name="x", county_code="441821", county_name="佛冈县"
        )
    with refused(InvalidInput, "county_code"):
        services.consortium_create(actor=None, code="1", name="x", county_code="12345", county_name="x")


# --- departments ------------------------------------------------------------------------------


def test_department_create_and_beds(county, office):
    dept = services.department_create(
        actor=office,
        institution=county.township,
        code="QK",
        name="全科",
        category="general_practice",
        beds=12,
    )
    row = _last_audit("department.create")
    assert row.actor_id == office.pk and row.object_id == str(dept.pk)
    assert row.after is not None
    fields = ("institution_id", "code", "name", "category", "beds")
    assert [row.after[f] for f in fields] == [county.township.pk, "QK", "全科", "general_practice", 12]
    services.department_set_beds(actor=office, department=dept, beds=20)
    row = _last_audit("department.set_beds")
    assert (row.before, row.after, row.actor_id) == ({"beds": 12}, {"beds": 20}, office.pk)
    dept.refresh_from_db()
    assert dept.beds == 20


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"category": "astrology"}, InvalidInput, "category"),
        ({"beds": -1}, InvalidInput, "beds"),
        ({"code": "  "}, InvalidInput, "code"),
        ({"name": ""}, InvalidInput, "name"),
        ({"code": "NK", "institution": "lead"}, Conflict, "code"),
    ],
)
def test_bad_departments_are_refused(county, office, kwargs, error, field):
    args: dict[str, Any] = {"code": "QK", "name": "全科", "category": "general_practice", "beds": 5}
    args.update(kwargs)
    institution = getattr(county, args.pop("institution", "township"))
    with refused(error, field):
        services.department_create(actor=office, institution=institution, **args)


def test_beds_cannot_go_negative_and_the_bureau_cannot_change_them(county, office):
    dept = Department.objects.get(institution=county.lead, code="NK")
    with refused(InvalidInput, "beds"):
        services.department_set_beds(actor=office, department=dept, beds=-5)
    with refused(Forbidden):
        services.department_set_beds(actor=county.users[Role.HEALTH_BUREAU], department=dept, beds=50)
    with refused(Forbidden):
        services.department_create(
            actor=county.users[Role.COUNTY_DOCTOR],
            institution=county.lead,
            code="WK",
            name="外科",
            category="surgery",
        )
    dept.refresh_from_db()
    assert dept.beds == 40


# --- staff ------------------------------------------------------------------------------------


def _staff(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "employee_no": "T0100",
        "name": "陈美玲",
        "profession": "nurse",
        "id_number": idnumbers.build("441823", dt.date(1990, 5, 17), 22),
    }
    data.update(overrides)
    return data


def test_staff_create_takes_sex_and_birth_date_from_the_id_number(county, office):
    staff = services.staff_create(actor=office, institution=county.township, **_staff())
    assert (staff.sex, staff.birth_date) == ("F", dt.date(1990, 5, 17))
    row = _last_audit("staff.create")
    assert row.actor_id == office.pk and row.object_id == str(staff.pk)
    assert row.after is not None and row.after["id_number"] == staff.id_number


def test_fifteen_digit_and_lower_case_numbers_are_stored_in_18_characters(county, office):
    staff = services.staff_create(
        actor=office, institution=county.township, **_staff(id_number="441823800101022")
    )
    assert staff.id_number == idnumbers.build("441823", dt.date(1980, 1, 1), 22)
    other = services.staff_create(
        actor=office,
        institution=county.township,
        **_staff(employee_no="T0101", id_number=" 11010519491231002x "),
    )
    assert other.id_number == "11010519491231002X"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": "441823199005170221"}, "id_number"),  # wrong check character
        ({"id_number": "4418231990051702"}, "id_number"),
        ({"id_number": "441823199002300228"}, "id_number"),  # 30 February
        ({"sex": "M"}, "sex"),  # the ID number says female
        ({"birth_date": dt.date(1991, 5, 17)}, "birth_date"),
        ({"name": "  "}, "name"),
        ({"name": "张3"}, "name"),
        ({"profession": "wizard"}, "profession"),
        ({"title": "emperor"}, "title"),
        ({"employee_no": ""}, "employee_no"),
        ({"id_number": "", "sex": ""}, "sex"),
    ],
)
def test_bad_staff_input_is_refused(county, office, overrides, field):
    with refused(InvalidInput, field):
        services.staff_create(actor=office, institution=county.township, **_staff(**overrides))


def test_staff_department_must_belong_to_the_institution(county, office):
    lead_dept = Department.objects.get(institution=county.lead)
    with refused(InvalidInput, "department"):
        services.staff_create(actor=office, institution=county.township, **_staff(department=lead_dept))


def test_duplicate_employee_number_or_id_number_is_a_conflict(county, office):
    with refused(Conflict):
        services.staff_create(actor=office, institution=county.lead, **_staff(employee_no="L0001"))
    existing = county.staff["county_doctor"].id_number
    with refused(Conflict):
        services.staff_create(
            actor=office, institution=county.township, **_staff(id_number=existing, sex="M")
        )


def test_external_hospitals_have_no_staff_here(county, office):
    with refused(InvalidInput, "institution"):
        services.staff_create(actor=office, institution=county.external, **_staff())


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.TOWNSHIP_DOCTOR, Role.VILLAGE_DOCTOR])
def test_only_the_office_registers_staff(county, role):
    with refused(Forbidden):
        services.staff_create(actor=county.users[role], institution=county.village, **_staff())


def test_staff_update_audits_before_and_after(county, office):
    staff = county.staff["village_doctor"]
    services.staff_update(actor=office, staff=staff, title="junior", phone="13800001111")
    row = _last_audit("staff.update")
    assert row.before is not None and row.after is not None
    assert (row.before["title"], row.after["title"]) == ("none", "junior")
    assert row.after["phone"] == "13800001111"
    staff.refresh_from_db()
    assert staff.title == "junior"


def test_staff_update_validates_like_create(county, office):
    staff = county.staff["county_doctor"]
    with refused(InvalidInput, "id_number"):
        services.staff_update(actor=office, staff=staff, id_number="123")
    with refused(InvalidInput, "profession"):
        services.staff_update(actor=office, staff=staff, profession="wizard")
    with refused(Forbidden):
        services.staff_update(actor=county.users[Role.HEALTH_BUREAU], staff=staff, title="senior")
    staff.refresh_from_db()
    assert staff.title == "associate_senior"


# --- secondments ------------------------------------------------------------------------------


D = dt.date


def test_secondment_create_copies_the_home_institution(county, office):
    staff = county.staff["county_doctor"]
    s = services.secondment_create(
        actor=office, staff=staff, host=county.township, start_date=D(2026, 1, 1), end_date=D(2026, 6, 30)
    )
    assert s.home == county.lead
    row = _last_audit("secondment.create")
    assert row.actor_id == office.pk and row.object_id == str(s.pk)


def test_overlapping_secondments_conflict(county, office):
    staff = county.staff["county_doctor"]
    services.secondment_create(
        actor=office, staff=staff, host=county.township, start_date=D(2026, 1, 1), end_date=D(2026, 6, 30)
    )
    with refused(Conflict, "start_date"):
        services.secondment_create(
            actor=office,
            staff=staff,
            host=county.other_township,
            start_date=D(2026, 6, 30),
            end_date=D(2026, 9, 30),
        )
    # Back to back is fine.
    services.secondment_create(
        actor=office,
        staff=staff,
        host=county.other_township,
        start_date=D(2026, 7, 1),
        end_date=D(2026, 9, 30),
    )


def test_a_secondment_ended_early_frees_the_rest_of_its_period(county, office):
    staff = county.staff["county_doctor"]
    s = services.secondment_create(
        actor=office, staff=staff, host=county.township, start_date=D(2026, 1, 1), end_date=D(2026, 12, 31)
    )
    services.secondment_end_early(actor=office, secondment=s, on=D(2026, 3, 31))
    row = _last_audit("secondment.end_early")
    assert (row.before, row.after) == ({"ended_early_on": None}, {"ended_early_on": "2026-03-31"})
    services.secondment_create(
        actor=office,
        staff=staff,
        host=county.other_township,
        start_date=D(2026, 4, 1),
        end_date=D(2026, 8, 31),
    )
    with refused(Conflict):
        services.secondment_end_early(actor=office, secondment=s, on=D(2026, 2, 1))


@pytest.mark.parametrize(
    ("host_attr", "start", "end", "field"),
    [
        ("township", D(2026, 6, 1), D(2026, 5, 31), "end_date"),
        ("township", D(2026, 1, 1), D(2030, 1, 1), "end_date"),  # more than three years
        ("lead", D(2026, 1, 1), D(2026, 6, 30), "host"),  # to its own institution
        ("external", D(2026, 1, 1), D(2026, 6, 30), "host"),
    ],
)
def test_bad_secondments_are_refused(county, office, host_attr, start, end, field):
    with refused(InvalidInput, field):
        services.secondment_create(
            actor=office,
            staff=county.staff["county_doctor"],
            host=getattr(county, host_attr),
            start_date=start,
            end_date=end,
        )


@pytest.mark.parametrize("on", [D(2025, 12, 31), D(2026, 6, 30), D(2026, 8, 1)])
def test_early_end_must_fall_inside_and_before_the_planned_end(county, office, on):
    s = services.secondment_create(
        actor=office,
        staff=county.staff["county_doctor"],
        host=county.township,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 6, 30),
    )
    with refused(InvalidInput, "on"):
        services.secondment_end_early(actor=office, secondment=s, on=on)


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.TOWNSHIP_DOCTOR, Role.COUNTY_DOCTOR])
def test_only_the_office_seconds_staff(county, role):
    with refused(Forbidden):
        services.secondment_create(
            actor=county.users[role],
            staff=county.staff["county_doctor"],
            host=county.township,
            start_date=D(2026, 1, 1),
            end_date=D(2026, 6, 30),
        )
