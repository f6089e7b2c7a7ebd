"""Shared pieces of the JSON API (authentication with role gates, pagination, the error shape)
and the kernel's own endpoints: the ID-number check that every registration form calls, and the
audit trail with its verifier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.security import APIKeyCookie, HttpBearer
from ninja.security.base import AuthBase
from pydantic import AfterValidator, field_validator
from pydantic_core import PydanticCustomError

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_authenticate

from . import icd10, idnumbers
from .access import active_membership, request_scope
from .areacodes import name_of, province_of
from .audit import verify_chain
from .errors import Forbidden, InvalidInput
from .selectors import audit_list_for

router = Router(tags=["core"])

# --- authentication and role gates ------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """Which active roles may call an operation, checked as part of authentication.

    Checking here, before ninja parses the body, means a role that may not write gets its 403
    whatever it sent, and learns nothing from validation messages.
    """

    roles: frozenset[str] = frozenset()  # empty: every role
    writes: bool = False
    message: Any = None

    def admit(self, request: HttpRequest, user: Any) -> Any:
        if user is None or (not self.roles and not self.writes):
            return user
        scope = request_scope(request)
        if self.writes and not scope.can_write:
            raise Forbidden(gettext_lazy("Your role may only read."))
        if self.roles:
            scope.require(scope.role in self.roles, self.message)
        return user


OPEN = Gate()


class BearerToken(HttpBearer):
    """API tokens for systems; the user acts in their first active membership."""

    def __init__(self, gate: Gate = OPEN) -> None:
        super().__init__()
        self.gate = gate

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        membership = active_membership(user)
        user._ygt_membership = membership
        request.membership = membership  # type: ignore[attr-defined]
        request._ygt_scope = None  # type: ignore[attr-defined]
        return self.gate.admit(request, user)


class SessionAuth(APIKeyCookie):
    """The browser's login session; the CSRF token is checked on unsafe methods.

    Without a logged-in session there is nothing to protect from cross-site requests, so the
    check is skipped and the caller gets a 401 (not a CSRF 403) for a missing or wrong token.
    """

    param_name = "sessionid"

    def __init__(self, csrf: bool = True, gate: Gate = OPEN) -> None:
        super().__init__(csrf=csrf)
        self.gate = gate

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if key is None or user is None or not user.is_authenticated:
            return None
        return self.gate.admit(request, user)


def authorized(*roles: str, writes: bool = False, message: Any = None) -> list[AuthBase]:
    """``auth=`` for an operation: a token or a session, of a user acting in one of ``roles``
    (any role when none are named); ``writes`` refuses the read-only roles first."""
    gate = Gate(frozenset(roles), writes, message)
    return [BearerToken(gate), SessionAuth(csrf=True, gate=gate)]


#: Writes that only the consortium office makes.
OFFICE_WRITES = authorized(
    Role.CONSORTIUM_OFFICE, writes=True, message=gettext_lazy("Only the consortium office may change this.")
)

#: No page is longer than this, whatever ``limit`` asks for.
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
#: Deeper than any list goes; keeps OFFSET inside the databases' 64-bit integers (a larger one was a 500).
MAX_OFFSET = 1_000_000_000

T = TypeVar("T")


class ErrorOut(Schema):
    """Every 4xx answer of the API: a stable machine code, a translated message, the field."""

    code: str
    message: str
    field: str | None


def _no_null_characters(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL (a 500 from the driver); refused as 422, like Django's forms."""
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("null_characters", str(ProhibitNullCharactersValidator.message))
    return value


#: A string path parameter (a code or a number): no NUL characters.
Text = Annotated[str, AfterValidator(_no_null_characters)]


#: The widest integer a database column holds (SQLite INTEGER, PostgreSQL bigint).
INT_LIMIT = 2**63 - 1


def _storable_integer(value: Any) -> Any:
    """An integer beyond 64 bits cannot be compared with a column: SQLite's driver raises
    OverflowError (a 500). Refused as 422 before any query is built."""
    if isinstance(value, int) and not isinstance(value, bool) and not -INT_LIMIT <= value <= INT_LIMIT:
        raise PydanticCustomError("int_range", str(_("The number is too large.")))
    return value


def _storable(value: Any) -> Any:
    """A field's value, and every item of a list or mapping in it, without NUL characters and
    without integers wider than a column (a NUL inside a list of codes was a 500 on PostgreSQL)."""
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return _storable_integer(_no_null_characters(value))


class InSchema(Schema):
    """Base of every query and body schema: no string carries a NUL character and no integer is
    wider than a database column, in a field or inside its lists and mappings."""

    @field_validator("*")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _storable(value)


class PageIn(InSchema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, description="Rows per page; values above 200 are capped.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip.")


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
#: ... and of an endpoint that reads a JSON body, whose body may not be JSON at all (400).
BODY_ERRORS: dict[int, type[Schema]] = {**ERRORS, 400: ErrorOut}


# --- ID numbers -------------------------------------------------------------------------------


class IdCheckIn(InSchema):
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
    response={200: IdCheckOut, **BODY_ERRORS},
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


# --- ICD-10 -----------------------------------------------------------------------------------


class Icd10Filter(InSchema):
    q: str = Field(..., min_length=1, max_length=40, description="code prefix or part of the name")
    limit: int = Field(20, ge=1, le=50)


class Icd10Out(Schema):
    code: str
    name: str


@router.get(
    "/icd10",
    response={200: list[Icd10Out], **ERRORS},
    summary="Look up ICD-10 diagnosis codes by code prefix or name (for diagnosis fields)",
)
def icd10_search(request: HttpRequest, filters: Query[Icd10Filter]) -> list[Icd10Out]:
    return [Icd10Out(code=code, name=name) for code, name in icd10.search(filters.q, filters.limit)]


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
    auth=authorized(Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU),
)
def audit_list(request: HttpRequest, filters: Query[AuditFilter]) -> dict[str, Any]:
    scope = request_scope(request)
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
    auth=authorized(Role.CONSORTIUM_OFFICE),
)
def audit_verify(request: HttpRequest) -> ChainReportOut:
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
