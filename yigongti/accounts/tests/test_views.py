"""Login, logout, session expiry, CSRF and the membership switch, through the real views."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import translation

from yigongti.accounts.middleware import HAD_SESSION_COOKIE, SESSION_LOGIN_AT
from yigongti.accounts.models import Membership
from yigongti.accounts.services import membership_grant
from yigongti.core.models import AuditEvent
from yigongti.core.testing import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_redirects_home_and_audits(client, county):
    response = _login(client, "t_village_doctor")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert HAD_SESSION_COOKIE in response.cookies
    event = AuditEvent.objects.filter(verb="auth.login").latest("seq")
    assert event.actor_username == "t_village_doctor"
    assert event.role == "village_doctor"
    assert event.institution_id == county.village.pk
    assert client.get("/").status_code == 200


def test_wrong_password_shows_translated_message_and_changes_nothing(client, county):
    before = Membership.objects.count()
    response = _login(client, "t_village_doctor", "wrong-password")
    assert response.status_code == 401
    with translation.override("zh-hans"):
        assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert Membership.objects.count() == before
    assert AuditEvent.objects.filter(verb="auth.login_failed").count() == 1


def test_wrong_password_in_english(client, county):
    client.cookies["django_language"] = "en"
    response = _login(client, "t_village_doctor", "wrong-password")
    assert "Wrong username or password." in response.content.decode()


def test_empty_form_is_a_bad_request_not_an_error(client, db):
    response = client.post("/accounts/login/", {})
    assert response.status_code == 400
    assert "<form" in response.content.decode()


def test_user_without_role_cannot_log_in(client, county):
    Membership.objects.filter(user=county.users["nurse"]).update(is_active=False)
    response = _login(client, "t_nurse")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_open_redirect_is_refused(client, county):
    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "t_nurse", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_safe_next_is_followed(client, county):
    response = client.post(
        "/accounts/login/", {"username": "t_nurse", "password": PASSWORD, "next": "/institutions/"}
    )
    assert response["Location"] == "/institutions/"


def test_forged_csrf_token_is_refused_with_a_translated_page(county):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {"username": "t_nurse", "password": PASSWORD, "csrfmiddlewaretoken": "forged" * 8},
    )
    assert response.status_code == 403
    assert "重新加载" in response.content.decode() or "Reload" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(verb="auth.login").exists()


def test_logout_requires_post_and_audits(client, county):
    _login(client, "t_nurse")
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(verb="auth.logout", actor_username="t_nurse").exists()
    assert client.get("/").status_code == 302


def test_expired_session_says_so_on_the_login_page(client, county):
    _login(client, "t_nurse")
    client.session.flush()  # what the server does when the idle time runs out
    client.cookies.pop("sessionid", None)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b'data-testid="expired"' in response.content
    # The message shows once: the marker cookie is cleared.
    assert client.get("/accounts/login/").content.count(b'data-testid="expired"') == 0


def test_session_older_than_the_absolute_limit_is_logged_out(client, county, settings):
    _login(client, "t_nurse")
    session = client.session
    session[SESSION_LOGIN_AT] = time.time() - settings.SESSION_ABSOLUTE_SECONDS - 5
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_switch_membership_to_own_and_refuse_foreign(client, county):
    user = county.users["county_doctor"]
    second = membership_grant(actor=None, user=user, institution=county.tcm, role="county_doctor")
    foreign = Membership.objects.get(user=county.users["nurse"])
    _login(client, "t_county_doctor")
    client.post("/accounts/switch/", {"membership": str(second.pk)})
    assert client.session["ygt_membership_id"] == second.pk
    client.post("/accounts/switch/", {"membership": str(foreign.pk)})
    assert client.session["ygt_membership_id"] == second.pk
    client.post("/accounts/switch/", {"membership": "not-a-number"})
    assert client.session["ygt_membership_id"] == second.pk


def test_security_headers(client, db):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]


def test_pages_are_chinese_even_for_an_english_browser_until_english_is_chosen(client, db):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="zh-hans">' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert '<html lang="en">' in page.content.decode()


def test_the_api_follows_accept_language(client, db):
    en = client.get("/api/me", HTTP_ACCEPT_LANGUAGE="en").json()["message"]
    zh = client.get("/api/me", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["message"]
    assert en != zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_admin_login_goes_through_our_throttled_audited_login(client, county):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.post(
        "/accounts/login/", {"username": "t_nurse", "password": PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"


def test_any_login_starts_the_session_clock(client, county):
    client.force_login(county.users["nurse"])  # not through our view: the signal still stamps it
    assert SESSION_LOGIN_AT in client.session
    assert client.get("/").status_code == 200
