"""Who sees which institutions and residents, role by role, against the small county."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.accounts.models import Membership, User
from yigongti.core import idnumbers
from yigongti.core.access import EMPTY, filter_institutions, filter_residents, request_scope, scope_for
from yigongti.core.errors import Forbidden
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.institutions.models import Institution
from yigongti.patients.models import Patient

pytestmark = pytest.mark.django_db


def make_patient(village: Institution, n: int, user: Any = None) -> Patient:
    """A resident of ``village`` (test factory; residents are not the subject here)."""
    birth = dt.date(1950 + n, 1, 1)
    return Patient.objects.create(
        health_record_number=f"{village.code}{n:05d}",
        id_number=idnumbers.build("441823", birth, n),
        name=f"居民{n}",
        sex="M" if n % 2 else "F",
        birth_date=birth,
        village=village,
        user=user,
    )


@pytest.fixture
def residents(county):
    return {
        "own": make_patient(county.village, 1, user=county.users[Role.RESIDENT]),
        "village": make_patient(county.village, 2),
        "other_village": make_patient(county.other_village, 3),
        "foreign_village": make_patient(county.foreign_village, 4),
    }


@pytest.fixture
def other_consortium(county):
    c = inst.consortium_create(
        actor=None, code="441821001", name="佛冈县医共体", county_code="441821", county_name="佛冈县"
    )
    return inst.institution_create(
        actor=None, code="441821000001", name="佛冈县人民医院", kind=K.LEAD_HOSPITAL, consortium=c
    )


def _codes(role_scope) -> set[str]:
    return set(filter_institutions(Institution.objects.all(), role_scope).values_list("code", flat=True))


def _residents(role_scope, residents) -> set[str]:
    names = {p.pk: key for key, p in residents.items()}
    return {
        names[pk] for pk in filter_residents(Patient.objects.all(), role_scope).values_list("pk", flat=True)
    }


def _scope(county, role):
    return scope_for(county.users[role])


def test_office_sees_its_consortium_and_external_hospitals_but_no_residents(
    county, residents, other_consortium
):
    scope = _scope(county, Role.CONSORTIUM_OFFICE)
    member_codes = {
        i.code
        for i in (
            county.lead,
            county.tcm,
            county.township,
            county.other_township,
            county.village,
            county.other_village,
            county.foreign_village,
        )
    }
    assert _codes(scope) == member_codes | {county.external.code}
    assert other_consortium.code not in _codes(scope)
    assert county.bureau.code not in _codes(scope)
    assert _residents(scope, residents) == set()
    assert scope.can_write and scope.is_oversight


def test_bureau_sees_the_whole_county_read_only(county, residents, other_consortium):
    scope = _scope(county, Role.HEALTH_BUREAU)
    county_codes = set(Institution.objects.filter(area_code="441823").values_list("code", flat=True))
    assert _codes(scope) == county_codes | {county.external.code}
    assert other_consortium.code not in _codes(scope)
    assert _residents(scope, residents) == set()
    assert not scope.can_write
    with pytest.raises(Forbidden):
        scope.require_write()


@pytest.mark.parametrize("role", [Role.TOWNSHIP_DOCTOR, Role.NURSE])
def test_township_staff_see_their_villages_but_not_the_foreign_one(county, residents, role):
    scope = _scope(county, role)
    assert _codes(scope) == {county.township.code, county.village.code, county.other_village.code}
    assert county.foreign_village.code not in _codes(scope)
    assert _residents(scope, residents) == {"own", "village", "other_village"}
    assert scope.can_write


def test_village_doctor_sees_only_her_clinic_and_its_residents(county, residents):
    scope = _scope(county, Role.VILLAGE_DOCTOR)
    assert _codes(scope) == {county.village.code}
    assert _residents(scope, residents) == {"own", "village"}


@pytest.mark.parametrize("role", [Role.COUNTY_DOCTOR, Role.PHARMACIST, Role.DISPATCHER])
def test_county_staff_see_their_own_institution_and_no_residents(county, residents, role):
    scope = _scope(county, role)
    assert _codes(scope) == {county.lead.code}
    assert _residents(scope, residents) == set()


def test_resident_sees_only_themself(county, residents):
    scope = _scope(county, Role.RESIDENT)
    assert _codes(scope) == set()
    assert _residents(scope, residents) == {"own"}
    assert scope.self_patient_only and not scope.can_write


def test_resident_without_linked_record_sees_no_one(county, residents):
    Patient.objects.filter(pk=residents["own"].pk).update(user=None)
    assert _residents(_scope(county, Role.RESIDENT), residents) == set()


def test_inactive_membership_sees_nothing(county, residents):
    user = county.users[Role.TOWNSHIP_DOCTOR]
    membership = Membership.objects.get(user=user)
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    membership.refresh_from_db()
    assert scope_for(User.objects.get(pk=user.pk)) == EMPTY
    assert scope_for(user, membership) == EMPTY  # even when handed the membership explicitly
    assert _codes(EMPTY) == set() and _residents(EMPTY, residents) == set()


def test_inactive_user_sees_nothing(county, residents):
    user = county.users[Role.VILLAGE_DOCTOR]
    membership = Membership.objects.get(user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    assert scope_for(user) == EMPTY
    assert scope_for(user, membership) == EMPTY


def test_someone_elses_membership_gives_nothing(county):
    office_membership = Membership.objects.get(user=county.users[Role.CONSORTIUM_OFFICE])
    assert scope_for(county.users[Role.VILLAGE_DOCTOR], office_membership) == EMPTY


def test_anonymous_sees_nothing(db):
    from django.contrib.auth.models import AnonymousUser

    assert scope_for(AnonymousUser()) == EMPTY


def test_request_scope_is_computed_once_per_request(county, rf):
    request = rf.get("/")
    request.user = county.users[Role.VILLAGE_DOCTOR]
    request.membership = Membership.objects.get(user=request.user)
    first = request_scope(request)
    assert first.institution_ids == frozenset({county.village.pk})
    request.membership = None
    assert request_scope(request) is first


def test_a_second_membership_chooses_the_scope(county):
    """A township doctor who also holds a role at the village acts in whichever membership is active."""
    from yigongti.accounts.services import membership_grant

    user = county.users[Role.TOWNSHIP_DOCTOR]
    second = membership_grant(actor=None, user=user, institution=county.lead, role=Role.COUNTY_DOCTOR)
    assert scope_for(user).institution_ids >= {county.village.pk}
    assert scope_for(user, second).institution_ids == frozenset({county.lead.pk})
