"""Who am I: the API's view of the caller, their active membership and all their roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from yigongti.core.access import request_scope
from yigongti.core.api import ERRORS, PageIn, PageOut, paginate

from .models import Membership
from .selectors import membership_list_for

router = Router(tags=["accounts"])


class MembershipOut(Schema):
    id: int
    role: str
    role_display: str
    institution_code: str
    institution_name: str


class MeOut(Schema):
    username: str
    full_name: str
    membership: MembershipOut | None
    can_write: bool


def _membership_out(m: Membership) -> MembershipOut:
    return MembershipOut(
        id=m.pk,
        role=m.role,
        role_display=str(m.get_role_display()),
        institution_code=m.institution.code,
        institution_name=m.institution.name,
    )


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The caller and their active role")
def me(request: HttpRequest) -> MeOut:
    m = getattr(request, "membership", None)
    scope = request_scope(request)
    return MeOut(
        username=request.user.get_username(),
        full_name=getattr(request.user, "full_name", ""),
        membership=_membership_out(m) if m else None,
        can_write=scope.can_write,
    )


class MembershipListOut(MembershipOut):
    is_active: bool
    is_current: bool


class MembershipPage(PageOut[MembershipListOut]):
    pass


@router.get(
    "/memberships",
    response={200: MembershipPage, **ERRORS},
    summary="The caller's own memberships (institution × role), the active one marked",
)
def memberships(request: HttpRequest, page: Query[PageIn]) -> dict[str, Any]:
    current = getattr(request, "membership", None)
    rows, meta = paginate(membership_list_for(user=request.user), page)
    items = [
        MembershipListOut(
            **_membership_out(m).model_dump(),
            is_active=m.is_active,
            is_current=current is not None and current.pk == m.pk,
        )
        for m in rows
    ]
    return {**meta, "items": items}
