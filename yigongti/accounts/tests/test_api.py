"""/api/me and /api/memberships, and how the API authenticates: session, bearer token, neither."""

from __future__ import annotations

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.accounts.models import Membership, User
from yigongti.accounts.services import membership_grant, token_create, token_revoke

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("role", list(Role))
def test_me_for_every_role(login_client, county, role):
    body = login_client(role).get("/api/me").json()
    assert body["username"] == f"t_{role}"
    assert body["membership"]["role"] == role
    assert body["can_write"] is (role not in (Role.HEALTH_BUREAU, Role.RESIDENT))


def test_me_without_login_is_401_json(client, db):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "unauthenticated" and body["message"] and body["field"] is None


def test_me_with_a_token(client, county):
    _token, raw = token_create(actor=None, user=county.users[Role.VILLAGE_DOCTOR])
    body = Client().get("/api/me", headers=_bearer(raw)).json()
    assert body["username"] == "t_village_doctor"
    assert body["membership"]["institution_code"] == county.village.code


@pytest.mark.parametrize("header", ["Bearer ygt_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "ygt_no_scheme"])
def test_bad_tokens_are_401_json(county, header):
    response = Client().get("/api/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_bad_token_on_a_write_is_401_not_a_csrf_error(county):
    response = Client(enforce_csrf_checks=True).post(
        "/api/id-numbers/check",
        {"id_number": "11010519491231002X"},
        content_type="application/json",
        headers=_bearer("ygt_wrong"),
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_revoked_token_is_401(county):
    token, raw = token_create(actor=None, user=county.users[Role.NURSE])
    token_revoke(actor=None, token=token)
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 401


def test_token_of_a_user_whose_roles_ended_sees_nothing(county):
    user = county.users[Role.TOWNSHIP_DOCTOR]
    _token, raw = token_create(actor=None, user=user)
    Membership.objects.filter(user=user).update(is_active=False)
    body = Client().get("/api/me", headers=_bearer(raw)).json()
    assert body["membership"] is None and body["can_write"] is False
    response = Client().get(f"/api/institutions/{county.township.code}", headers=_bearer(raw))
    assert response.status_code == 404


def test_inactive_user_session_is_anonymous(login_client, county):
    c = login_client(Role.NURSE)
    User.objects.filter(username="t_nurse").update(is_active=False)
    assert c.get("/api/me").status_code == 401


def test_memberships_lists_only_the_callers_own(login_client, county):
    user = county.users[Role.TOWNSHIP_DOCTOR]
    second = membership_grant(actor=None, user=user, institution=county.lead, role=Role.COUNTY_DOCTOR)
    Membership.objects.filter(pk=second.pk).update(is_active=False)
    body = login_client(Role.TOWNSHIP_DOCTOR).get("/api/memberships").json()
    assert body["count"] == 2
    by_role = {m["role"]: m for m in body["items"]}
    assert set(by_role) == {Role.TOWNSHIP_DOCTOR, Role.COUNTY_DOCTOR}
    assert by_role[Role.TOWNSHIP_DOCTOR]["is_current"] is True
    assert by_role[Role.TOWNSHIP_DOCTOR]["institution_code"] == county.township.code
    assert by_role[Role.COUNTY_DOCTOR]["is_active"] is False
    assert by_role[Role.COUNTY_DOCTOR]["is_current"] is False


def test_memberships_pagination(login_client, county):
    user = county.users[Role.NURSE]
    membership_grant(actor=None, user=user, institution=county.lead, role=Role.NURSE)
    membership_grant(actor=None, user=user, institution=county.village, role=Role.NURSE)
    c = login_client(Role.NURSE)
    body = c.get("/api/memberships?limit=2&offset=1").json()
    assert (body["count"], body["limit"], body["offset"], len(body["items"])) == (3, 2, 1, 2)
    assert c.get("/api/memberships?limit=0").json()["field"] == "limit"


def test_memberships_requires_login(client, db):
    assert client.get("/api/memberships").status_code == 401
