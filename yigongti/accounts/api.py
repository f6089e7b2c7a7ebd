"""Who am I: the API's view of the caller and their active membership."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from yigongti.core.access import request_scope

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


@router.get("/me", response=MeOut, summary="The caller and their active role")
def me(request: HttpRequest) -> MeOut:
    m = getattr(request, "membership", None)
    scope = request_scope(request)
    return MeOut(
        username=request.user.username,
        full_name=getattr(request.user, "full_name", ""),
        membership=MembershipOut(
            id=m.pk,
            role=m.role,
            role_display=str(m.get_role_display()),
            institution_code=m.institution.code,
            institution_name=m.institution.name,
        )
        if m
        else None,
        can_write=scope.can_write,
    )
