"""Institutions, departments, staff and secondments over JSON."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from yigongti.core.access import request_scope

from .selectors import institution_get_for

router = Router(tags=["institutions"])


class InstitutionOut(Schema):
    code: str
    name: str
    kind: str
    level: str
    parent_code: str | None


@router.get("/institutions/{code}", response=InstitutionOut, summary="One institution by its 12-digit code")
def institution_detail(request: HttpRequest, code: str) -> InstitutionOut:
    inst = institution_get_for(scope=request_scope(request), code=code)
    return InstitutionOut(
        code=inst.code,
        name=inst.name,
        kind=inst.kind,
        level=inst.level,
        parent_code=inst.parent.code if inst.parent else None,
    )
