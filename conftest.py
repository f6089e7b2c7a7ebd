"""Fixtures shared by every app's tests: a small county built through the services."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from yigongti.core.testing import SmallCounty, build_small_county


@pytest.fixture
def county(db: None) -> SmallCounty:
    return build_small_county()


@pytest.fixture
def login_client(client, county):
    """``login_client(role)`` logs the Django test client in as that role's demo user."""

    def _login(role: str):
        client.force_login(county.users[role])  # the user_logged_in signal starts the session clock
        return client

    return _login
