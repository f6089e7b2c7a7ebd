"""Reads of accounts: a user's own memberships."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Membership


def membership_list_for(*, user: Any, active_only: bool = False) -> QuerySet[Membership]:
    """The memberships of ``user`` themself (nobody reads another user's roles through here)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    qs = Membership.objects.filter(user_id=user.pk)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.select_related("institution").order_by("id")
