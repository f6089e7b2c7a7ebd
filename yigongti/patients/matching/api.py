"""The master patient index over JSON: match, register, the review queue, merges.

Mounted before the residents router, so that ``/patients/match`` and ``/patients/reviews`` are
not read as health-record numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import request_scope
from yigongti.core.api import BODY_ERRORS, ERRORS, ErrorOut, InSchema, PageIn, PageOut, authorized, paginate

from ..models import MatchReview, Patient, Registration, ReviewStatus
from .engine import Candidate
from .merging import patients_unmerge, review_decide
from .selectors import match_preview_for, merge_list_for, review_get_for, review_list_for
from .services import Entry

router = Router(tags=["master patient index"])

#: Endpoints with a body that may conflict with the stored state (already decided, duplicate number).
WRITE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}

STEWARD = authorized(
    Role.CONSORTIUM_OFFICE, message=_("Only the consortium office decides possible duplicates.")
)
STEWARD_WRITES = authorized(
    Role.CONSORTIUM_OFFICE, writes=True, message=_("Only the consortium office decides possible duplicates.")
)
REGISTRAR = authorized(writes=True)


class RegistrationIn(InSchema):
    name: str = Field(..., max_length=40, description="Name as written (Chinese characters, any script)")
    sex: str = Field("", max_length=6, description="M/F or 男/女; empty when unknown")
    birth_date: dt.date | None = None
    id_number: str = Field("", max_length=32, description="18 or 15 characters; x and X are equal")
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200, description="The village in it decides the village clinic")
    village_code: str = Field("", max_length=12, description="Village clinic code, if known")
    local_number: str = Field(
        "", max_length=40, description="The institution's own record number; repeating it is safe"
    )
    health_card_number: str = Field("", max_length=32)
    insurance_number: str = Field("", max_length=32)

    def entry(self) -> Entry:
        return Entry(
            name=self.name,
            sex=self.sex,
            birth_date=self.birth_date,
            id_number=self.id_number,
            phone=self.phone,
            address=self.address,
            village_code=self.village_code,
            local_number=self.local_number.strip(),
            health_card_number=self.health_card_number,
            insurance_number=self.insurance_number,
        )


class FieldOut(Schema):
    field: str
    level: str
    weight: float


class CandidateOut(Schema):
    patient_id: int
    score: float = Field(..., description="Match weight (log2 odds)")
    probability: float
    fields: list[FieldOut]
    guards: list[str] = Field(
        ..., description="Why this pair is never linked without a person (may be empty)"
    )
    name: str
    sex: str
    birth_date: dt.date | None
    id_number_masked: str | None
    village_name: str | None


class MatchOut(Schema):
    decision: str = Field(..., description="linked, review or new")
    config_version: int
    candidates: list[CandidateOut]


class RegisteredOut(Schema):
    decision: str
    patient_id: int
    registration_id: int
    created: bool = Field(..., description="False when this local record number was already on file")
    probability: float | None
    health_record_number: str | None
    id_number_problem: str = Field(..., description="'' or 'check' (wrong check character) or 'format'")


def _candidate_out(c: Candidate, patients: dict[int, Patient]) -> CandidateOut:
    p = patients[c.patient_id]
    explained = c.scored.explanation()
    return CandidateOut(
        patient_id=c.patient_id,
        score=explained["weight"],
        probability=c.scored.probability,
        fields=[FieldOut(**f) for f in explained["fields"]],
        guards=explained["guards"],
        name=p.name,
        sex=p.sex,
        birth_date=p.birth_date,
        id_number_masked=idnumbers.mask(p.id_number) if p.id_number else None,
        village_name=p.village.name if p.village else None,
    )


@router.post(
    "/patients/match",
    auth=REGISTRAR,
    response={200: MatchOut, **BODY_ERRORS},
    summary="Score a registration against the index without writing anything",
)
def patient_match(request: HttpRequest, body: RegistrationIn) -> MatchOut:
    preview = match_preview_for(scope=request_scope(request), entry=body.entry())
    result = preview.result
    return MatchOut(
        decision=result.decision,
        config_version=result.config.version,
        candidates=[_candidate_out(c, preview.patients) for c in result.candidates],
    )


class ReviewSideOut(Schema):
    patient_id: int
    name: str
    sex: str
    birth_date: dt.date | None
    id_number: str | None
    phone: str
    address: str
    village_name: str | None
    registrations: int


class ReviewOut(Schema):
    review_id: int
    status: str
    probability: float
    created_at: dt.datetime
    new: ReviewSideOut
    candidate: ReviewSideOut
    fields: list[FieldOut]
    guards: list[str]


class ReviewPage(PageOut[ReviewOut]):
    pass


class ReviewFilter(PageIn):
    status: ReviewStatus | None = Field(
        ReviewStatus.OPEN, description="open (default), same, different, withdrawn"
    )


def _side_out(p: Patient, registrations: int) -> ReviewSideOut:
    return ReviewSideOut(
        patient_id=p.pk,
        name=p.name,
        sex=p.sex,
        birth_date=p.birth_date,
        id_number=p.id_number,
        phone=p.phone,
        address=p.address,
        village_name=p.village.name if p.village else None,
        registrations=registrations,
    )


def _review_out(r: MatchReview, counts: tuple[int, int] = (0, 0)) -> ReviewOut:
    return ReviewOut(
        review_id=r.pk,
        status=r.status,
        probability=r.probability,
        created_at=r.created_at,
        new=_side_out(r.patient, counts[0]),
        candidate=_side_out(r.candidate, counts[1]),
        fields=[FieldOut(**f) for f in r.explanation.get("fields", [])],
        guards=list(r.explanation.get("guards", [])),
    )


@router.get(
    "/patients/reviews",
    auth=STEWARD,
    response={200: ReviewPage, **ERRORS},
    summary="Possible duplicates waiting for a person (consortium office)",
)
def review_list(request: HttpRequest, filters: Query[ReviewFilter]) -> dict[str, Any]:
    qs = review_list_for(scope=request_scope(request), status=filters.status or "")
    qs = qs.select_related("patient__village", "candidate__village")
    rows, meta = paginate(qs, filters)
    ids = {pid for r in rows for pid in (r.patient_id, r.candidate_id)}
    counts = dict(
        Registration.objects.filter(patient_id__in=ids)
        .values("patient_id")
        .annotate(n=Count("pk"))
        .values_list("patient_id", "n")
        .order_by()
    )
    return {
        **meta,
        "items": [_review_out(r, (counts.get(r.patient_id, 0), counts.get(r.candidate_id, 0))) for r in rows],
    }


@router.get(
    "/patients/reviews/{review_id}",
    auth=STEWARD,
    response={200: ReviewOut, **ERRORS},
    summary="One possible duplicate, both records (audited read)",
)
def review_detail(request: HttpRequest, review_id: int) -> ReviewOut:
    view = review_get_for(scope=request_scope(request), review_id=review_id, actor=request.user)
    return _review_out(view.review, (len(view.left.registrations), len(view.right.registrations)))


class DecisionIn(InSchema):
    same: bool = Field(..., description="true: same person (merge); false: different people (never again)")


@router.post(
    "/patients/reviews/{review_id}/decision",
    auth=STEWARD_WRITES,
    response={200: ReviewOut, **WRITE_ERRORS},
    summary="Decide a possible duplicate: same person merges, different people is remembered",
)
def review_decision(request: HttpRequest, review_id: int, body: DecisionIn) -> ReviewOut:
    review = review_decide(actor=request.user, review_id=review_id, same=body.same)
    review = review_list_for(scope=request_scope(request), status="").get(pk=review.pk)
    return _review_out(review)


class MergeOut(Schema):
    merge_id: int
    survivor_id: int
    merged_id: int
    registrations: list[int]
    created_at: dt.datetime
    undone_at: dt.datetime | None


class MergePage(PageOut[MergeOut]):
    pass


def _merge_out(m: Any) -> MergeOut:
    return MergeOut(
        merge_id=m.pk,
        survivor_id=m.survivor_id,
        merged_id=m.merged_id,
        registrations=list(m.registration_ids),
        created_at=m.created_at,
        undone_at=m.undone_at,
    )


@router.get(
    "/patients/merges",
    auth=STEWARD,
    response={200: MergePage, **ERRORS},
    summary="Merges, newest first (consortium office)",
)
def merge_list(request: HttpRequest, page: Query[PageIn]) -> dict[str, Any]:
    rows, meta = paginate(merge_list_for(scope=request_scope(request)), page)
    return {**meta, "items": [_merge_out(m) for m in rows]}


@router.post(
    "/patients/merges/{merge_id}/undo",
    auth=STEWARD_WRITES,
    response={200: MergeOut, **ERRORS, 409: ErrorOut},
    summary="Unmerge: put back exactly what the merge moved",
)
def merge_undo(request: HttpRequest, merge_id: int) -> MergeOut:
    patients_unmerge(actor=request.user, merge_id=merge_id)
    return _merge_out(merge_list_for(scope=request_scope(request)).get(pk=merge_id))
