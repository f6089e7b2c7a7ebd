"""Login throttling through the real login view: back-off per (username, address), the owner
unaffected from elsewhere, and every failure audited. Time is frozen by replacing
``timezone.now`` so that waits are exact and no test sleeps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from yigongti.accounts.models import LoginThrottle
from yigongti.core.models import AuditEvent
from yigongti.core.testing import PASSWORD

pytestmark = pytest.mark.django_db

USER = "t_village_doctor"
ATTACKER = "203.0.113.7"
OWNER_HOME = "198.51.100.20"
PAIR_KEY = f"user:{USER}|ip:{ATTACKER}"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def _attempt(password: str, ip: str = ATTACKER, username: str = USER):
    client = Client(REMOTE_ADDR=ip)
    client.cookies["django_language"] = "en"  # pages follow the language switch, not Accept-Language
    with translation.override("en"):
        response = client.post("/accounts/login/", {"username": username, "password": password})
    return client, response


def _fail(times: int, ip: str = ATTACKER, username: str = USER) -> None:
    for _ in range(times):
        _client, response = _attempt("wrong-password", ip, username)
        assert response.status_code == 401


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _wait_seconds(clock: Clock) -> float:
    row = LoginThrottle.objects.get(key=PAIR_KEY)
    return (row.blocked_until - clock.now).total_seconds() if row.blocked_until else 0.0


def test_four_failures_cost_nothing(county, clock):
    _fail(settings.LOGIN_FREE_FAILURES - 1)
    assert _wait_seconds(clock) == 0
    client, response = _attempt(PASSWORD)
    assert response.status_code == 302
    assert _logged_in(client)


def test_after_five_failures_the_right_password_must_wait(county, clock):
    _fail(5)
    client, response = _attempt(PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts. Please wait 1 second and try again." in response.content.decode()
    assert not _logged_in(client)
    assert not AuditEvent.objects.filter(verb="auth.login").exists()


def test_the_delay_grows_with_each_further_failure(county, clock):
    _fail(5)
    waits = [_wait_seconds(clock)]
    for _ in range(4):
        clock.advance(waits[-1] + 0.5)
        _fail(1)
        waits.append(_wait_seconds(clock))
    assert waits == [1, 2, 4, 8, 16]
    _client, response = _attempt(PASSWORD)
    assert "Please wait 16 seconds" in response.content.decode()


def test_the_delay_is_capped(county, clock, settings):
    settings.LOGIN_MAX_DELAY_SECONDS = 5
    _fail(5)
    for _ in range(5):
        clock.advance(_wait_seconds(clock) + 0.1)
        _fail(1)
    assert _wait_seconds(clock) == 5


def test_attempts_during_the_wait_are_not_counted_as_failures(county, clock):
    _fail(5)
    failures = LoginThrottle.objects.get(key=PAIR_KEY).failures
    _client, response = _attempt("wrong-password")
    assert response.status_code == 429
    assert LoginThrottle.objects.get(key=PAIR_KEY).failures == failures


def test_the_owner_logs_in_from_another_address_meanwhile(county, clock):
    _fail(5)
    client, response = _attempt(PASSWORD, ip=OWNER_HOME)
    assert response.status_code == 302
    assert _logged_in(client)


def test_login_works_once_the_delay_has_passed_and_success_clears_the_pair(county, clock):
    _fail(5)
    clock.advance(_wait_seconds(clock) + 0.01)
    client, response = _attempt(PASSWORD)
    assert response.status_code == 302
    assert _logged_in(client)
    assert not LoginThrottle.objects.filter(key=PAIR_KEY).exists()
    # Counting starts afresh: four more failures cost nothing again.
    _fail(4)
    assert _wait_seconds(clock) == 0


def test_failures_older_than_the_window_are_forgotten(county, clock):
    _fail(4)
    clock.advance(settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    _fail(1)
    assert LoginThrottle.objects.get(key=PAIR_KEY).failures == 1
    assert _wait_seconds(clock) == 0


def test_one_address_trying_many_names_is_throttled_as_an_address(county, clock):
    for n in range(settings.LOGIN_FREE_FAILURES_PER_ADDRESS):
        _fail(1, username=f"guess{n % 50}")
    client, response = _attempt(PASSWORD)
    assert response.status_code == 429
    assert not _logged_in(client)
    _client, response = _attempt(PASSWORD, ip=OWNER_HOME)
    assert response.status_code == 302


def test_a_busy_shared_address_is_not_slowed_by_ordinary_typos(county, clock):
    """Thirty staff behind one hospital NAT each mistype once: nobody there has to wait."""
    for n in range(30):
        _fail(1, username=f"colleague{n}")
    client, response = _attempt(PASSWORD)
    assert response.status_code == 302
    assert _logged_in(client)


def test_every_failure_is_audited(county, clock):
    _fail(3)
    _fail(1, username="nobody")
    rows = list(AuditEvent.objects.filter(verb="auth.login_failed").order_by("seq"))
    assert len(rows) == 4
    user = county.users["village_doctor"]
    assert [r.object_id for r in rows[:3]] == [str(user.pk)] * 3
    assert rows[0].after == {"username": USER}
    assert rows[0].ip == ATTACKER
    assert rows[3].object_id == "" and rows[3].after == {"username": "nobody"}
    assert all(r.actor_id is None for r in rows)
