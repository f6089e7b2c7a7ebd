"""Institution reads: what each scope sees, the counts, the tree, and seconded staff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.access import scope_for
from yigongti.core.errors import NotFound
from yigongti.institutions import selectors, services
from yigongti.institutions.models import Department

pytestmark = pytest.mark.django_db


def _staff_count(institution: object) -> int:
    """The annotation ``institution_list_for`` adds."""
    return int(getattr(institution, "staff_count"))  # noqa: B009 - an annotation, unknown to mypy


def _scope(county, role):
    return scope_for(county.users[role])


def test_list_counts_active_staff_and_filters(county):
    scope = _scope(county, Role.CONSORTIUM_OFFICE)
    rows = {i.code: i for i in selectors.institution_list_for(scope=scope)}
    assert _staff_count(rows[county.lead.code]) == 1
    assert _staff_count(rows[county.village.code]) == 1
    assert _staff_count(rows[county.township.code]) == 0
    assert [i.code for i in selectors.institution_list_for(scope=scope, q="阳城镇")] == [
        county.township.code,
        county.village.code,
        county.other_village.code,
    ]
    assert [i.code for i in selectors.institution_list_for(scope=scope, q="441823102")] == [
        county.other_township.code,
        county.foreign_village.code,
    ]
    villages = selectors.institution_list_for(
        scope=scope, kind="village_clinic", parent_id=county.township.pk
    )
    assert {i.code for i in villages} == {county.village.code, county.other_village.code}
    assert {i.code for i in selectors.institution_list_for(scope=scope, level="township")} == {
        county.township.code,
        county.other_township.code,
    }


def test_inactive_staff_are_not_counted(county):
    county.staff["village_doctor"].__class__.objects.filter(pk=county.staff["village_doctor"].pk).update(
        is_active=False
    )
    scope = _scope(county, Role.VILLAGE_DOCTOR)
    assert _staff_count(selectors.institution_list_for(scope=scope).get()) == 0
    assert not selectors.staff_list_for(scope=scope).exists()


def test_get_is_scoped(county):
    scope = _scope(county, Role.TOWNSHIP_DOCTOR)
    assert selectors.institution_get_for(scope=scope, code=county.village.code) == county.village
    for code in (county.foreign_village.code, county.lead.code, "999999999999"):
        with pytest.raises(NotFound):
            selectors.institution_get_for(scope=scope, code=code)


def test_beds_sum_departments(county):
    services.department_create(
        actor=None, institution=county.lead, code="WK", name="外科", category="surgery", beds=25
    )
    assert selectors.institution_beds([county.lead.pk, county.township.pk]) == {county.lead.pk: 65}


def test_departments_are_scoped(county):
    lead_dept = Department.objects.get(institution=county.lead)
    office = _scope(county, Role.CONSORTIUM_OFFICE)
    assert [d.code for d in selectors.department_list_for(scope=office, institution=county.lead)] == ["NK"]
    assert selectors.department_get_for(scope=office, department_id=lead_dept.pk) == lead_dept
    village = _scope(county, Role.VILLAGE_DOCTOR)
    with pytest.raises(NotFound):
        selectors.department_list_for(scope=village, institution=county.lead)
    with pytest.raises(NotFound):
        selectors.department_get_for(scope=village, department_id=lead_dept.pk)


def test_tree_nests_the_visible_institutions(county):
    roots = selectors.institution_tree_for(scope=_scope(county, Role.CONSORTIUM_OFFICE))
    by_code = {n.institution.code: n for n in roots}
    assert set(by_code) == {county.lead.code, county.external.code}
    lead = by_code[county.lead.code]
    assert lead.beds == 40 and lead.staff_count == 1
    children = {n.institution.code: n for n in lead.children}
    assert set(children) == {county.tcm.code, county.township.code, county.other_township.code}
    assert {n.institution.code for n in children[county.township.code].children} == {
        county.village.code,
        county.other_village.code,
    }
    # A township doctor's tree starts at her centre.
    township_roots = selectors.institution_tree_for(scope=_scope(county, Role.TOWNSHIP_DOCTOR))
    assert [n.institution.code for n in township_roots] == [county.township.code]


def test_staff_are_scoped_and_seconded_staff_appear_at_the_host(county):
    doctor = county.staff["county_doctor"]
    township = _scope(county, Role.TOWNSHIP_DOCTOR)
    assert [s.name for s in selectors.staff_list_for(scope=township)] == ["黄秀英"]
    with pytest.raises(NotFound):
        selectors.staff_get_for(scope=township, staff_id=doctor.pk)
    today = timezone.localdate()
    services.secondment_create(
        actor=None,
        staff=doctor,
        host=county.township,
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=80),
    )
    names = [s.name for s in selectors.staff_list_for(scope=township)]
    assert sorted(names) == sorted(["黄秀英", "李建国"])
    assert [s.name for s in selectors.staff_list_for(scope=township, include_seconded_in=False)] == ["黄秀英"]
    # Seeing a seconded doctor in a list does not open his personnel record to the host.
    with pytest.raises(NotFound):
        selectors.staff_get_for(scope=township, staff_id=doctor.pk)
    assert not selectors.staff_list_for(scope=_scope(county, Role.RESIDENT)).exists()


def test_staff_filters(county):
    office = _scope(county, Role.CONSORTIUM_OFFICE)
    assert [s.employee_no for s in selectors.staff_list_for(scope=office, profession="village_doctor")] == [
        "V0001"
    ]
    assert [s.employee_no for s in selectors.staff_list_for(scope=office, q="L00")] == ["L0001"]
    assert [
        s.employee_no for s in selectors.staff_list_for(scope=office, institution_id=county.village.pk)
    ] == ["V0001"]


def test_secondments_current_and_scoped(county):
    today = timezone.localdate()
    doctor = county.staff["county_doctor"]
    running = services.secondment_create(
        actor=None,
        staff=doctor,
        host=county.township,
        start_date=today - dt.timedelta(days=5),
        end_date=today + dt.timedelta(days=5),
    )
    future = services.secondment_create(
        actor=None,
        staff=doctor,
        host=county.other_township,
        start_date=today + dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=60),
    )
    office = _scope(county, Role.CONSORTIUM_OFFICE)
    assert set(selectors.secondment_list_for(scope=office)) == {running, future}
    assert list(selectors.secondment_list_for(scope=office, current_on=today)) == [running]
    services.secondment_end_early(actor=None, secondment=running, on=today - dt.timedelta(days=1))
    assert list(selectors.secondment_list_for(scope=office, current_on=today)) == []
    township = _scope(county, Role.TOWNSHIP_DOCTOR)
    assert list(selectors.secondment_list_for(scope=township)) == [running]
    assert selectors.secondment_get_for(scope=township, secondment_id=running.pk) == running
    with pytest.raises(NotFound):
        selectors.secondment_get_for(scope=township, secondment_id=future.pk)
    assert not selectors.secondment_list_for(scope=_scope(county, Role.VILLAGE_DOCTOR)).exists()
