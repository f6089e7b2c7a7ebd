"""Institution pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yigongti.core.access import request_scope

from .selectors import institution_list_for


@login_required
def institution_list(request: HttpRequest) -> HttpResponse:
    qs = institution_list_for(scope=request_scope(request), q=request.GET.get("q", "")[:50])
    return render(request, "institutions/list.html", {"institutions": qs[:50]})
