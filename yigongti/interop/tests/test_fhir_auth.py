"""The facade's one-statement token lookup (``fhir/auth.py``) answers exactly what
``token_authenticate`` + ``active_membership`` answer, and nothing outlives a request: a revoked
token, a deactivated user or membership, a changed role take effect on the next request."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.accounts.models import ApiToken, Membership, User
from yigongti.accounts.services import membership_grant, token_authenticate, token_create, token_revoke
from yigongti.core.access import active_membership
from yigongti.interop.fhir.auth import bearer

from .conftest import Fhir


def _found(raw: str) -> tuple:
    found = bearer(raw)
    assert found is not None
    return found


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_same_answer_as_the_accounts_functions(county, tokens):
    for role, raw in tokens.items():
        user, membership = _found(raw)
        expected_user = token_authenticate(raw)
        expected = active_membership(expected_user)
        assert expected is not None
        assert _fields(user) == _fields(expected_user), role
        assert _fields(membership) == _fields(expected), role
        assert _fields(membership.institution) == _fields(expected.institution), role
        assert membership.user is user
        assert timezone.is_aware(membership.created_at) and timezone.is_aware(user.date_joined)
    assert bearer("ygt_not-a-token") is None
    assert bearer("Bearer x") is None
    assert bearer("ygt_" + "x" * 200) is None


def test_one_query_and_last_used_marked_once_a_minute(county, tokens):
    raw = tokens[Role.VILLAGE_DOCTOR]
    bearer(raw)
    token = ApiToken.objects.get(user=county.users[Role.VILLAGE_DOCTOR])
    assert token.last_used_at is not None
    with CaptureQueriesContext(connection) as ctx:
        bearer(raw)
    assert len(ctx.captured_queries) == 1  # no second UPDATE within the minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=5))
    bearer(raw)
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < dt.timedelta(minutes=1)


def test_revocation_and_deactivation_take_effect_on_the_next_request(county, tokens):
    doctor = Fhir(tokens[Role.COUNTY_DOCTOR])
    assert doctor.get("/fhir/Organization").status_code == 200
    token_revoke(actor=None, token=ApiToken.objects.get(user=county.users[Role.COUNTY_DOCTOR]))
    assert doctor.get("/fhir/Organization").status_code == 401

    village = Fhir(tokens[Role.VILLAGE_DOCTOR])
    assert village.get("/fhir/Organization").status_code == 200
    Membership.objects.filter(user=county.users[Role.VILLAGE_DOCTOR]).update(is_active=False)
    assert village.get("/fhir/Organization").status_code == 403  # no active membership

    township = Fhir(tokens[Role.TOWNSHIP_DOCTOR])
    assert township.get("/fhir/Organization").status_code == 200
    User.objects.filter(pk=county.users[Role.TOWNSHIP_DOCTOR].pk).update(is_active=False)
    assert township.get("/fhir/Organization").status_code == 401


def test_the_first_active_membership_is_the_one_used(county, tokens):
    user = county.users[Role.VILLAGE_DOCTOR]
    raw = tokens[Role.VILLAGE_DOCTOR]
    second = membership_grant(actor=None, user=user, institution=county.township, role=Role.TOWNSHIP_DOCTOR)
    assert _found(raw)[1].pk != second.pk
    Membership.objects.filter(user=user).exclude(pk=second.pk).update(is_active=False)
    found_user, membership = _found(raw)
    assert found_user.pk == user.pk
    assert membership.pk == second.pk and membership.institution.pk == county.township.pk
    assert membership.role == Role.TOWNSHIP_DOCTOR
    fresh = token_create(actor=None, user=user, name="again")[1]
    assert _found(fresh)[1].pk == second.pk
