"""Accounts services: users, memberships and tokens, each audited or refused without a trace."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.accounts.models import ApiToken, Membership, User
from yigongti.accounts.services import (
    membership_grant,
    token_authenticate,
    token_create,
    token_revoke,
    user_create,
)
from yigongti.core.errors import Conflict, Forbidden, InvalidInput
from yigongti.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _audit_count() -> int:
    return AuditEvent.objects.count()


def test_office_creates_a_user_and_it_is_audited(county):
    office = county.users[Role.CONSORTIUM_OFFICE]
    user = user_create(actor=office, username="new_nurse", password="Long-enough-pass-9", full_name=" 王芳 ")
    assert user.full_name == "王芳"
    assert user.check_password("Long-enough-pass-9")
    row = AuditEvent.objects.latest("seq")
    assert (row.verb, row.actor_id, row.object_id) == ("user.create", office.pk, str(user.pk))
    assert row.after == {"username": "new_nurse", "full_name": "王芳"}
    assert "password" not in row.after


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.TOWNSHIP_DOCTOR, Role.RESIDENT])
def test_other_roles_cannot_create_users(county, role):
    before = _audit_count()
    with pytest.raises(Forbidden):
        user_create(actor=county.users[role], username="sneaky", password="Long-enough-pass-9")
    assert not User.objects.filter(username="sneaky").exists()
    assert _audit_count() == before


@pytest.mark.parametrize(
    ("username", "password", "error", "field"),
    [
        ("  ", "Long-enough-pass-9", InvalidInput, "username"),
        ("T_NURSE", "Long-enough-pass-9", Conflict, "username"),
        ("fresh", "short", InvalidInput, "password"),
        ("fresh", "1234567890123", InvalidInput, "password"),
    ],
)
def test_bad_user_input_changes_nothing(county, username, password, error, field):
    before = (User.objects.count(), _audit_count())
    with pytest.raises(error) as info:
        user_create(actor=None, username=username, password=password)
    assert info.value.field == field
    assert str(info.value.message)
    assert (User.objects.count(), _audit_count()) == before


def test_user_without_password_cannot_log_in(db):
    user = user_create(actor=None, username="system_his", password=None)
    assert not user.has_usable_password()


def test_membership_grant_checks_the_kind_of_institution(county):
    user = user_create(actor=None, username="doc2", password=None)
    before = _audit_count()
    with pytest.raises(InvalidInput) as info:
        membership_grant(actor=None, user=user, institution=county.lead, role=Role.VILLAGE_DOCTOR)
    assert info.value.field == "role"
    with pytest.raises(InvalidInput):
        membership_grant(actor=None, user=user, institution=county.village, role="surgeon_general")
    assert _audit_count() == before
    m = membership_grant(actor=None, user=user, institution=county.village, role=Role.VILLAGE_DOCTOR)
    row = AuditEvent.objects.latest("seq")
    assert (row.verb, row.object_id) == ("membership.grant", str(m.pk))
    with pytest.raises(Conflict):
        membership_grant(actor=None, user=user, institution=county.village, role=Role.VILLAGE_DOCTOR)
    assert Membership.objects.filter(user=user).count() == 1


def test_membership_grant_is_the_offices(county):
    user = user_create(actor=None, username="doc3", password=None)
    with pytest.raises(Forbidden):
        membership_grant(
            actor=county.users[Role.TOWNSHIP_DOCTOR], user=user, institution=county.village, role=Role.NURSE
        )
    assert not Membership.objects.filter(user=user).exists()


def test_token_lifecycle(county):
    user = county.users[Role.TOWNSHIP_DOCTOR]
    token, raw = token_create(actor=None, user=user, name="lab system")
    assert token_authenticate(raw) == user
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    token_revoke(actor=None, token=token)
    assert token_authenticate(raw) is None
    verbs = list(AuditEvent.objects.filter(object_type="accounts.apitoken").values_list("verb", flat=True))
    assert sorted(verbs) == ["token.create", "token.revoke"]
    token_revoke(actor=None, token=token)  # revoking twice writes nothing more
    assert AuditEvent.objects.filter(verb="token.revoke").count() == 1


@pytest.mark.parametrize("raw", ["", "ygt_", "nope_abc", "ygt_" + "a" * 200, "Bearer ygt_x"])
def test_malformed_tokens_authenticate_no_one(county, raw):
    token_create(actor=None, user=county.users[Role.NURSE])
    assert token_authenticate(raw) is None


def test_token_of_an_inactive_user_authenticates_no_one(county):
    user = county.users[Role.NURSE]
    _token, raw = token_create(actor=None, user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert token_authenticate(raw) is None


def test_last_used_is_written_at_most_once_a_minute(county, monkeypatch):
    _token, raw = token_create(actor=None, user=county.users[Role.NURSE])
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    token_authenticate(raw)
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(seconds=30))
    token_authenticate(raw)
    assert ApiToken.objects.get().last_used_at == now
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(seconds=61))
    token_authenticate(raw)
    assert ApiToken.objects.get().last_used_at == now + dt.timedelta(seconds=61)
