"""HTTP plumbing of the facade: Bearer authentication, the request body with its limits, the
language of diagnostics, and one wrapper that turns every error into an OperationOutcome.

Session cookies are ignored on purpose: the views are csrf-exempt, so accepting a browser
session here would let any web page write through a logged-in user. Only API tokens count.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from yigongti.core.access import scope_for
from yigongti.core.errors import DomainError

from .auth import bearer
from .base import Ctx
from .outcome import FhirError, Issue, from_domain, outcome

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
#: Largest request body we read (a 1,000-entry Bundle of Patients is about 1.5 MB).
MAX_BODY = 16 * 1024 * 1024


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(exc: FhirError) -> HttpResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="fhir"'} if exc.status == 401 else None
    return respond(outcome(exc.issues), exc.status, headers)


def authenticate(request: HttpRequest) -> Ctx:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    found = bearer(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if found is None:
        request.user = AnonymousUser()
        raise FhirError(401, "login", _("A valid API token is required (Authorization: Bearer ...)."))
    user, membership = found
    user._ygt_membership = membership
    request.user = user
    request.membership = membership  # type: ignore[attr-defined]
    request._ygt_scope = None  # type: ignore[attr-defined]
    scope = scope_for(user, membership)
    if scope.membership is None:
        raise FhirError(403, "forbidden", _("This account has no active membership."))
    base = request.build_absolute_uri("/fhir").rstrip("/")
    return Ctx(user=user, scope=scope, base=base)


def read_json(request: HttpRequest) -> Any:
    """The body as JSON; 415 for another content type, 413 past ``MAX_BODY``, 400 for bad JSON."""
    content_type = request.content_type or ""
    if content_type not in JSON_TYPES:
        raise FhirError(
            415,
            "not-supported",
            _("Send the body as application/fhir+json (got %(type)s).") % {"type": content_type[:60] or "-"},
        )
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise FhirError(
            413, "too-costly", _("The body is larger than %(mb)s MB.") % {"mb": MAX_BODY // 1048576}
        )
    raw = request.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise FhirError(
            413, "too-costly", _("The body is larger than %(mb)s MB.") % {"mb": MAX_BODY // 1048576}
        )
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FhirError(
            400, "invalid", _("The body is not valid JSON: %(reason)s") % {"reason": str(exc)[:200]}
        ) from None
    if not isinstance(data, dict):
        raise FhirError(400, "invalid", _("The body must be a JSON object (a FHIR resource)."))
    if "\x00" in text or "\\u0000" in text:  # PostgreSQL text cannot hold NUL
        raise FhirError(400, "invalid", _("The body contains a NUL character."))
    return data


def _language(request: HttpRequest) -> str:
    """Diagnostics follow Accept-Language (Chinese unless the client asks for English)."""
    return translation.get_language_from_request(request)


def fhir_view(func: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Authenticate, run, and answer every failure as an OperationOutcome (a 500 is a bug, but
    even then the client gets FHIR, and the log gets the traceback)."""

    @csrf_exempt
    @functools.wraps(func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with translation.override(_language(request)):
            try:
                fmt = request.GET.get("_format", "")
                if fmt and fmt not in ("json", *JSON_TYPES):
                    raise FhirError(415, "not-supported", _("Only JSON is supported (_format=json)."))
                ctx = authenticate(request)
                return func(request, ctx, *args, **kwargs)
            except FhirError as exc:
                return error_response(exc)
            except DomainError as exc:
                return error_response(from_domain(exc))
            except Exception:
                log.exception("FHIR request failed: %s %s", request.method, request.path)
                return respond(
                    outcome(
                        [Issue("fatal", "exception", _("An unexpected error occurred; it has been logged."))]
                    ),
                    500,
                )

    return wrapper
