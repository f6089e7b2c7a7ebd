"""The home page (one per role), the audit trail page, the error pages, and small helpers that
every app's pages share: domain errors to 403/404 pages or form errors, and page-or-partial."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from yigongti.accounts.choices import Role

from .access import Scope, request_scope
from .errors import DomainError, Forbidden, NotFound

PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50

View = Callable[..., HttpResponse]


def translate_domain_errors(view: View) -> View:
    """NotFound becomes the 404 page, Forbidden the 403 page, any other domain error a 4xx page.

    A domain error is the user's doing, never a 500; form views catch the errors they can show
    beside a field before this decorator sees them.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError as exc:
            return _error(request, exc.status, _("The request was refused"), str(exc.message))

    return wrapper


def apply_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's error beside the field it names, or above the form if no field fits."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def wants_partial(request: HttpRequest) -> bool:
    """An htmx swap wants the partial; an htmx history restore wants the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not getattr(htmx, "history_restore_request", False)


def page_or_partial(
    request: HttpRequest, page: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, partial if wants_partial(request) else page, context, status=status)


def paginate(request: HttpRequest, rows: Any, per_page: int = PAGE_SIZE, param: str = "page") -> Page:
    """One page of ``rows``; a missing, garbled or too large page number gives a valid page."""
    return Paginator(rows, per_page).get_page(request.GET.get(param))


def require_staff_scope(request: HttpRequest) -> Scope:
    """The scope of someone who works at an institution (not a resident, not role-less)."""
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only:
        raise PermissionDenied(_("Your role may not open this page."))
    return scope


def require_oversight_scope(request: HttpRequest) -> Scope:
    """The consortium office or the county health bureau."""
    scope = request_scope(request)
    if scope.membership is None or not scope.is_oversight:
        raise PermissionDenied(_("Only the consortium office and the health bureau may open this page."))
    return scope


@login_required
@require_GET
@translate_domain_errors
def home(request: HttpRequest) -> HttpResponse:
    from . import home_pages

    scope = request_scope(request)
    return home_pages.render_home(request, scope)


class AuditFilterForm(forms.Form):
    verb = forms.CharField(
        label=gettext_lazy("Action"),
        required=False,
        max_length=64,
        help_text=gettext_lazy(
            "An exact action such as patient.read, or a prefix ending in a dot such as staff."
        ),
    )
    actor = forms.CharField(label=gettext_lazy("User name"), required=False, max_length=150)


def _audit_context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    from yigongti.institutions.selectors import institution_list_for

    from .selectors import audit_list_for

    form = AuditFilterForm(request.GET or None)
    verb = actor = ""
    if form.is_bound and form.is_valid():
        verb = form.cleaned_data["verb"].strip()
        actor = form.cleaned_data["actor"].strip()
    page = paginate(request, audit_list_for(scope=scope, verb=verb, actor=actor), AUDIT_PAGE_SIZE)
    ids = {e.institution_id for e in page.object_list if e.institution_id}
    names: dict[int, str] = {}
    if ids:
        for pk, short, name in (
            institution_list_for(scope=scope).filter(pk__in=ids).values_list("pk", "short_name", "name")
        ):
            names[pk] = short or name
    roles = dict(Role.choices)
    rows = [
        {
            "event": e,
            "institution": names.get(e.institution_id or 0, ""),
            "role": roles.get(e.role, e.role),
        }
        for e in page.object_list
    ]
    return {"form": form, "page_obj": page, "rows": rows}


@login_required
@require_GET
@translate_domain_errors
def audit_list(request: HttpRequest) -> HttpResponse:
    """The newest audit rows of the scope; the chain is verified only when asked (it reads every row)."""
    scope = require_oversight_scope(request)
    context = _audit_context(request, scope)
    return page_or_partial(request, "core/audit.html", "core/_partials/audit_results.html", context)


@login_required
@require_POST
@translate_domain_errors
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Walk the whole hash chain now and say whether it holds (htmx swaps in the result)."""
    from .audit import verify_chain

    scope = require_oversight_scope(request)
    report = verify_chain()
    if wants_partial(request):
        return render(request, "core/_partials/chain_status.html", {"report": report})
    context = _audit_context(request, scope)
    context["report"] = report
    return render(request, "core/audit.html", context)


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return render(
        request, "error.html", {"status": status, "title": title, "message": message}, status=status
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, _("Bad request"), _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Says why when the code that refused gave a reason (always a translated message)."""
    reason = str(exception) if isinstance(exception, PermissionDenied) and exception.args else ""
    return _error(request, 403, _("Not allowed"), reason or _("Your role may not open this page."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 404, _("Not found"), _("The page or record does not exist, or it is not in your scope.")
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, _("Server error"), _("Something went wrong on our side. It has been logged."))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        403,
        _("Form expired"),
        _(
            "The form's security token is missing or wrong. "
            "Reload the page and submit again; nothing was saved."
        ),
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico; send them to the static icon (resolved per request, because
    with hashed static names the URL is only known after collectstatic)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


def admin_login(request: HttpRequest) -> HttpResponse:
    """Send the admin's own login form to ours (throttled and audited), keeping ``next``."""
    target = request.GET.get("next", "/admin/")
    return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode({'next': target})}")
