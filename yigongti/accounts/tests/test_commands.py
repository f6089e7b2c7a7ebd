"""``manage.py create_token``: the token on the last line, stored only as a hash."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from yigongti.accounts.models import ApiToken, Membership, User
from yigongti.accounts.services import token_authenticate
from yigongti.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _create(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_prints_a_working_token_on_its_last_line(county):
    lines = _create("--user", "t_township_doctor", "--name", "HIS 接口")
    raw = lines[-1]
    assert raw.startswith("ygt_") and len(raw) > 40
    assert token_authenticate(raw) == county.users["township_doctor"]
    token = ApiToken.objects.get()
    assert token.name == "HIS 接口"
    response = Client().get("/api/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.json()["membership"]["institution_code"] == county.township.code


def test_only_the_hash_is_stored(county):
    raw = _create("--user", "t_consortium_office")[-1]
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr(list(ApiToken.objects.values()))
    assert raw not in repr(list(AuditEvent.objects.values()))
    assert raw[:12] == token.prefix  # the prefix is shown in lists to tell tokens apart


def test_creation_is_audited(county):
    _create("--user", "t_township_doctor")
    row = AuditEvent.objects.filter(verb="token.create").get()
    assert row.actor_username == "system"
    assert row.after is not None
    assert row.after["user_id"] == county.users["township_doctor"].pk


def test_every_call_makes_a_new_token(county):
    first = _create("--user", "t_nurse")[-1]
    second = _create("--user", "t_nurse")[-1]
    assert first != second
    assert ApiToken.objects.count() == 2


def test_unknown_user_is_an_error_and_creates_nothing(county):
    with pytest.raises(CommandError, match="no user named 'ghost'") as info:
        _create("--user", "ghost")
    assert info.value.returncode == 1
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(verb="token.create").exists()


def test_inactive_user_is_refused(county):
    User.objects.filter(username="t_nurse").update(is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        _create("--user", "t_nurse")
    assert not ApiToken.objects.exists()


def test_user_without_active_role_is_refused(county):
    Membership.objects.filter(user__username="t_nurse").update(is_active=False)
    with pytest.raises(CommandError, match="no active membership"):
        _create("--user", "t_nurse")
    assert not ApiToken.objects.exists()


def test_user_argument_is_required(county):
    with pytest.raises(CommandError, match="--user"):
        call_command("create_token")
