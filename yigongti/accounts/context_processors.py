"""Template context: the active membership and the user's other memberships (for the switcher)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def membership(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"membership": None, "memberships": [], "role": ""}
    active = getattr(request, "membership", None)
    return {
        "membership": active,
        "memberships": lambda: list(user.memberships.filter(is_active=True).select_related("institution")),
        "role": getattr(active, "role", "") if active else "",
    }
