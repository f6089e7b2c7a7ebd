"""Session lifetime and the active membership of each request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from yigongti.core.access import active_membership

SESSION_LOGIN_AT = "ygt_login_at"
SESSION_MEMBERSHIP = "ygt_membership_id"
#: Set at login and removed at logout, so the login page can tell "expired" from "never logged in".
HAD_SESSION_COOKIE = "ygt_had_session"


def stamp_login_time(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    """Start the absolute session clock at every login, whichever view logged the user in."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LOGIN_AT] = time.time()


class SessionLifetimeMiddleware:
    """Ends a session 12 hours after login even if it was used all along (idle expiry is the
    session cookie's own age, renewed on each request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SESSION_LOGIN_AT)
            if started is None or time.time() - float(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


class ActiveMembershipMiddleware:
    """Puts ``request.membership`` (the active one, or None) on every request; the scope is
    computed on first use by ``request_scope``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = None
        if request.user.is_authenticated:
            membership = active_membership(request.user, request.session.get(SESSION_MEMBERSHIP))
            request.user._ygt_membership = membership
        request.membership = membership  # type: ignore[attr-defined]
        return self.get_response(request)
