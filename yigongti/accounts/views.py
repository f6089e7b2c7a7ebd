"""Login, logout and switching the active membership."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yigongti.core.access import active_membership
from yigongti.core.errors import Throttled
from yigongti.core.middleware import client_ip

from . import services
from .forms import LoginForm
from .middleware import HAD_SESSION_COOKIE, SESSION_MEMBERSHIP


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect("core:home")
    form = LoginForm(request.POST or None)
    status = 200
    expired = request.method == "GET" and request.COOKIES.get(HAD_SESSION_COOKIE) == "1"
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        ip = client_ip(request)
        try:
            services.login_check(username, ip)
        except Throttled as exc:
            form.add_error(None, str(exc.message))
            status = 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                services.login_failed(username, ip)
                form.add_error(None, _("Wrong username or password."))
                status = 401
            elif active_membership(user) is None:
                form.add_error(None, _("This account has no active role at any institution."))
                status = 403
            else:
                login(request, user)  # user_logged_in starts the session clock
                membership = active_membership(user)
                request.session[SESSION_MEMBERSHIP] = membership.pk if membership else None
                services.login_succeeded(user, ip, membership)
                redirect_to = HttpResponseRedirect(_safe_next(request))
                redirect_to.set_cookie(HAD_SESSION_COOKIE, "1", httponly=True, samesite="Lax")
                return redirect_to
    elif request.method == "POST":
        status = 400
    response = render(
        request,
        "accounts/login.html",
        {"form": form, "expired": expired, "next": _safe_next(request)},
        status=status,
    )
    if expired:
        response.delete_cookie(HAD_SESSION_COOKIE)
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.logged_out(request.user, getattr(request, "membership", None))
    logout(request)
    messages.success(request, _("You have logged out."))
    response = redirect("accounts:login")
    response.delete_cookie(HAD_SESSION_COOKIE)
    return response


@login_required
@require_POST
def switch_membership(request: HttpRequest) -> HttpResponse:
    """Act in another of one's own memberships (e.g. a doctor who also works at the 120 centre)."""
    try:
        wanted = int(request.POST.get("membership", ""))
    except ValueError:
        wanted = -1
    chosen = active_membership(request.user, wanted)
    if chosen is None or chosen.pk != wanted:
        messages.error(request, _("That role is not yours."))
    else:
        request.session[SESSION_MEMBERSHIP] = chosen.pk
        messages.success(
            request,
            _("You now act as %(role)s at %(institution)s.")
            % {
                "role": chosen.get_role_display(),
                "institution": chosen.institution.name,
            },
        )
    return redirect("core:home")
