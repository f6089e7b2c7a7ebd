"""Shared pieces of the JSON API (pagination, the error shape) and the kernel's own endpoints:
the ID-number check that every registration form calls, and the audit trail with its verifier."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from yigongti.accounts.choices import Role

from . import idnumbers
from .access import Scope, request_scope
from .areacodes import name_of, province_of
from .audit import verify_chain
from .errors import InvalidInput
from .selectors import audit_list_for

router = Router(tags=["core"])

#: No page is longer than this, whatever ``limit`` asks for.
MAX_LIMIT = 200
DEFAULT_LIMIT = 50

T = TypeVar("T")


class ErrorOut(Schema):
    """Every 4xx answer of the API: a stable machine code, a translated message, the field."""

    code: str
    message: str
    field: str | None


class PageIn(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, description="Rows per page; values above 200 are capped.")
    offset: int = Field(0, ge=0, description="Rows to skip.")


class PageOut(Schema, Generic[T]):
    count: int
    limit: int
    offset: int
    items: list[T]


def paginate(qs: QuerySet[Any], page: PageIn) -> tuple[list[Any], dict[str, int]]:
    """One page of ``qs`` and the ``count``/``limit``/``offset`` to answer with."""
    limit = min(page.limit, MAX_LIMIT)
    rows = list(qs[page.offset : page.offset + limit])
    return rows, {"count": qs.count(), "limit": limit, "offset": page.offset}


#: Answers every endpoint may give besides its success; listed in the OpenAPI document.
ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def require_roles(scope: Scope, *roles: str) -> None:
    """Forbidden unless the caller acts in one of ``roles``."""
    scope.require(scope.role in roles)


# --- ID numbers -------------------------------------------------------------------------------


class IdCheckIn(Schema):
    id_number: str = Field(..., max_length=40)


class IdCheckOut(Schema):
    valid: bool
    normalized: str
    birth_date: dt.date | None
    sex: str | None
    area_code: str | None
    area_name: str | None
    message: str


@router.post(
    "/id-numbers/check",
    response={200: IdCheckOut, **ERRORS},
    summary="Check a resident ID number (GB 11643); 15-digit numbers are converted",
)
def id_number_check(request: HttpRequest, payload: IdCheckIn) -> IdCheckOut:
    """A check, not a write: an invalid number is a 200 with ``valid: false`` and the reason."""
    try:
        parsed = idnumbers.parse(payload.id_number)
    except InvalidInput as exc:
        return IdCheckOut(
            valid=False,
            normalized=idnumbers.normalize(payload.id_number),
            birth_date=None,
            sex=None,
            area_code=None,
            area_name=None,
            message=str(exc.message),
        )
    return IdCheckOut(
        valid=True,
        normalized=parsed.value,
        birth_date=parsed.birth_date,
        sex=parsed.sex,
        area_code=parsed.area_code,
        area_name=name_of(parsed.area_code) or province_of(parsed.area_code),
        message=_("The ID number is valid."),
    )


# --- audit trail ------------------------------------------------------------------------------


class AuditFilter(PageIn):
    verb: str = Field("", max_length=64, description="Exact verb, or a prefix ending in '.'")
    actor: str = Field("", max_length=150, description="Username of the actor")


class AuditEventOut(Schema):
    seq: int
    occurred_at: dt.datetime
    actor_username: str
    role: str
    institution_id: int | None
    verb: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    request_id: str
    ip: str | None
    hash: str


class AuditPage(PageOut[AuditEventOut]):
    pass


@router.get(
    "/audit",
    response={200: AuditPage, **ERRORS},
    summary="Audit events of the institutions in the caller's scope (office and bureau)",
)
def audit_list(request: HttpRequest, filters: Query[AuditFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    require_roles(scope, Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU)
    rows, meta = paginate(audit_list_for(scope=scope, verb=filters.verb, actor=filters.actor), filters)
    return {**meta, "items": rows}


class ChainProblemOut(Schema):
    seq: int
    kind: str
    detail: str


class ChainReportOut(Schema):
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    problem: ChainProblemOut | None


@router.get(
    "/audit/verify",
    response={200: ChainReportOut, **ERRORS},
    summary="Walk the audit hash chain and report the first changed, removed or inserted row",
)
def audit_verify(request: HttpRequest) -> ChainReportOut:
    require_roles(request_scope(request), Role.CONSORTIUM_OFFICE)
    report = verify_chain()
    problem = report.problem
    return ChainReportOut(
        ok=problem is None,
        rows=report.rows,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        problem=ChainProblemOut(seq=problem.seq, kind=problem.kind, detail=problem.detail)
        if problem
        else None,
    )
