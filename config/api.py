"""The JSON API under /api/: one NinjaAPI that mounts every domain router.

Browsers authenticate with the session (CSRF checked on writes); systems send
``Authorization: Bearer <token>`` (see ``manage.py create_token``). Every error is JSON
``{"code", "message", "field"}`` in the request's language.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from yigongti.accounts.services import token_authenticate
from yigongti.core.access import active_membership
from yigongti.core.errors import DomainError


class BearerToken(HttpBearer):
    """API tokens for systems; the user acts in their first active membership."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        membership = active_membership(user)
        user._ygt_membership = membership
        request.membership = membership  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """The browser's login session; ninja checks the CSRF token on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


api = NinjaAPI(
    title="Yigongti API",
    version="1",
    description="医共体平台 JSON API",
    urls_namespace="api",
    auth=[BearerToken(), SessionAuth(csrf=True)],
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
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "payload", "form")]
    field = ".".join(loc) or None
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
    return _error(request, exc.status_code, "error", str(exc))


def _mount() -> None:
    from yigongti.accounts.api import router as accounts_router
    from yigongti.institutions.api import router as institutions_router

    api.add_router("/", accounts_router)
    api.add_router("/", institutions_router)


_mount()
