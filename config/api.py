"""The JSON API under /api/: one NinjaAPI that mounts every domain router.

Browsers authenticate with the session (CSRF checked on writes); systems send
``Authorization: Bearer <token>`` (see ``manage.py create_token``). Every error is JSON
``{"code", "message", "field"}`` in the request's language (``Accept-Language``), never an
HTML page: a 500 is logged and answered in the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from yigongti.core.api import authorized
from yigongti.core.errors import DomainError

logger = logging.getLogger("yigongti.api")

#: Where ninja puts a parameter; not part of the field name a client sent.
_LOCATIONS = frozenset({"body", "query", "path", "payload", "form", "filters", "header", "cookie"})


class Api(NinjaAPI):
    """The schema is built once per path prefix and language: every router is mounted when this
    module is imported, so it cannot change while the process runs, and building it walked every
    operation's models (about 0.4 s per request of /api/openapi.json and of the docs page)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[tuple[str | None, str | None, str], OpenAPISchema] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        key = (path_prefix, get_language(), repr(sorted((path_params or {}).items())))
        if key not in self._schemas:
            self._schemas[key] = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return self._schemas[key]


api = Api(
    title="Yigongti API",
    version="1",
    description="医共体平台 JSON API. Errors are `{code, message, field}`; lists take `limit` (≤ 200) "
    "and `offset` and answer `count`.",
    urls_namespace="api",
    auth=authorized(),
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "field": field}, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, str(exc.message), exc.field)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in _LOCATIONS]
    field = ".".join(loc) or None
    if first.get("type") in ("missing", "missing_argument"):
        message = _("%(field)s is required.") % {"field": field or _("The request body")}
    else:
        message = _("The value of %(field)s is not valid: %(detail)s") % {
            "field": field or _("the request"),
            "detail": first.get("msg", ""),
        }
    return _error(request, 422, "invalid", message, field)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("Please log in or send a valid API token."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", _("Your role may not do this."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's own refusals: an unreadable body (400), a failed CSRF check (403), throttling."""
    if exc.status_code == 400:
        return _error(request, 400, "bad_request", _("The request body is not valid JSON."))
    if exc.status_code == 403:
        return _error(
            request,
            403,
            "csrf_failed",
            _("The security token of this page is missing or expired. Reload the page and try again."),
        )
    if exc.status_code == 429:
        return _error(request, 429, "throttled", _("Too many requests. Please wait and try again."))
    return _error(request, exc.status_code, "error", _("The request could not be handled."))


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug. Logged with its traceback; the client still gets JSON, never an HTML page."""
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return _error(
        request, 500, "server_error", _("Something went wrong on our side. The error has been recorded.")
    )


def unknown_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything under /api/ that no router claims: a JSON 404, not the HTML page."""
    return _error(request, 404, "not_found", _("There is no API endpoint at this address."))


def _mount() -> None:
    from yigongti.accounts.api import router as accounts_router
    from yigongti.chronic.api import router as chronic_router
    from yigongti.core.api import router as core_router
    from yigongti.encounters.api import router as encounters_router
    from yigongti.familydoctor.api import router as familydoctor_router
    from yigongti.indicators.api import router as indicators_router
    from yigongti.institutions.api import router as institutions_router
    from yigongti.interop.api import router as interop_router
    from yigongti.patients.api import router as patients_router
    from yigongti.patients.matching.api import router as mpi_router
    from yigongti.referrals.api import router as referrals_router
    from yigongti.scheduling.api import router as scheduling_router

    api.add_router("/", core_router)
    api.add_router("/", accounts_router)
    api.add_router("/", institutions_router)
    api.add_router("/", mpi_router)  # before patients: /patients/match is not a record number
    api.add_router("/", patients_router)
    api.add_router("/", scheduling_router)
    api.add_router("/", referrals_router)
    api.add_router("/", familydoctor_router)
    api.add_router("/", chronic_router)
    api.add_router("/", encounters_router)
    api.add_router("/", indicators_router)
    api.add_router("/", interop_router)


_mount()
