"""One home page per role, each showing real data from the user's scope."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .access import Scope


def render_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(request, "core/home.html", {"scope": scope})
