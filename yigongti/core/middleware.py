"""Request id, client address, security headers, the page language and NUL refusal."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation

from .context import RequestInfo, reset_current_request, set_current_request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; a reverse proxy that sets X-Forwarded-For must be configured to overwrite it."""
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives each request an id (or keeps a well-formed X-Request-ID) for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = set_current_request(RequestInfo(request_id=request_id, ip=client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            reset_current_request(token)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    """A Content-Security-Policy that allows our own origin only, and a strict Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        else:
            # The Django admin uses inline styles and scripts of its own; still no external origin.
            response.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; frame-ancestors 'none'; object-src 'none'",
            )
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        return response


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are in Chinese unless the user chose another language with the switch (a cookie).

    A county PC's browser may well be an English build; its Accept-Language should not turn the
    product into English. The API still honours Accept-Language, because systems ask for it.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/") or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
            super().process_request(request)
            return
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()


class NullCharacterMiddleware:
    """Refuse a NUL character in a page's path or query string with a 400.

    PostgreSQL cannot store or compare text containing NUL, so such a value reaching a query is a
    500. Forms already refuse it field by field; this covers URLs and query parameters of every
    page at once. The API refuses it in its input schemas (a 422 naming the field).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.get_response(request)
        query_values = (v for _key, values in request.GET.lists() for v in values)
        if "\x00" in request.path or any("\x00" in v for v in query_values):
            context = {
                "status": 400,
                "title": translation.gettext("Bad request"),
                "message": translation.gettext("Null characters are not allowed."),
            }
            return render(request, "error.html", context, status=400)
        return self.get_response(request)
