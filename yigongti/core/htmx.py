"""Helpers for pages that answer htmx requests with a partial and full requests with the page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def render_page_or_partial(
    request: HttpRequest, page: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The whole page on a normal load, only the partial when htmx swaps part of it."""
    return render(request, partial if is_htmx(request) else page, context, status=status)
