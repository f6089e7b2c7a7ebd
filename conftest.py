"""Fixtures shared by every app's tests: a small county built through the services."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread
from pytest_django import live_server_helper

from yigongti.core.testing import SmallCounty, build_small_county

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


class OneConnectionLiveServer(ThreadedWSGIServer):
    """The live server, with requests serialised when its threads share one database connection.

    On the in-memory SQLite test database Django hands every request thread the *same*
    connection (``connections_override``). Chromium fetches a page's stylesheet and scripts at
    once, and with ``SESSION_SAVE_EVERY_REQUEST`` each of them saves the session inside a
    savepoint; two threads interleaving savepoints on one connection fail with "no such
    savepoint", and the asset is answered with an error page. Connections stay threaded (so
    keep-alive works); only the application call takes a lock. On PostgreSQL each thread has its
    own connection and nothing is serialised.
    """

    def set_app(self, application: WSGIApplication | None) -> None:
        if application is None or not getattr(self, "connections_override", None):
            super().set_app(application)
            return
        lock = threading.Lock()

        def serialised(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            with lock:
                return application(environ, start_response)

        super().set_app(serialised)

    def _close_connections(self) -> None:
        # Each request thread "closes" its connections when done. The shared in-memory connection
        # is never really closed (SQLite keeps an in-memory database open), but the close first
        # checks thread sharing, which the fixture has already ended for a request finishing
        # after the server stopped: a traceback at the end of the run, and nothing else.
        if not getattr(self, "connections_override", None):
            super()._close_connections()  # type: ignore[misc]


LiveServerThread.server_class = OneConnectionLiveServer  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def live_server(
    request: pytest.FixtureRequest, django_db_setup: None
) -> Iterator[live_server_helper.LiveServer]:
    """pytest-django's ``live_server``, started only once the test database exists.

    The plugin's fixture does not depend on the database set-up, so when a live-server test runs
    first the server captures the real database's settings: it shares no connection and opens its
    own ones to the in-memory database, which then lock each other out ("database table is
    locked"). Depending on ``django_db_setup`` makes the server share the test connection.
    """
    addr = (
        request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    )
    server = live_server_helper.LiveServer(addr)
    yield server
    server.stop()


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
