"""Reads of the master index: match previews, the review queue, merges.

Who may do what: staff of a member institution who may write register residents and see the
likely matches of what they type (masked: name, sex, birth date, ID and phone ends, village),
which is what a registration desk needs to pick the right person; the match itself writes
nothing. The consortium office, as the master index's steward, works the review queue: it sees
both records side by side, and opening a review is audited as ``patient.review_read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope
from yigongti.core.audit import audit
from yigongti.core.errors import NotFound

from ..models import MatchReview, Merge, Patient, Registration, ReviewStatus
from . import engine
from .index import MatchResult, match
from .services import Entry, clean_entry


def require_registrar(scope: Scope) -> None:
    """Staff who may write at a member institution (not the oversight roles, not residents)."""
    scope.require(
        scope.can_write and not scope.is_oversight and not scope.self_patient_only,
        _("Only staff of a member institution may register residents."),
    )


def require_steward(scope: Scope) -> None:
    scope.require(scope.manages_consortium, _("Only the consortium office decides possible duplicates."))


@dataclass(frozen=True)
class Preview:
    result: MatchResult
    patients: dict[int, Patient]


def match_preview_for(*, scope: Scope, entry: Entry) -> Preview:
    """Score an entry against the index without writing anything (validation errors raise)."""
    require_registrar(scope)
    clean = clean_entry(entry)
    result = match(clean.features)
    ids = [c.patient_id for c in result.candidates]
    patients = Patient.objects.select_related("village").in_bulk(ids)
    return Preview(result, patients)


def review_list_for(*, scope: Scope, status: str = ReviewStatus.OPEN) -> QuerySet[MatchReview]:
    require_steward(scope)
    qs = MatchReview.objects.select_related("patient", "candidate", "registration__institution")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-probability", "pk")


def review_counts_for(*, scope: Scope) -> dict[str, int]:
    require_steward(scope)
    from django.db.models import Count

    rows = MatchReview.objects.values("status").annotate(n=Count("pk")).order_by()
    return {r["status"]: r["n"] for r in rows}


@dataclass(frozen=True)
class Side:
    patient: Patient
    registrations: list[Registration]


@dataclass(frozen=True)
class ReviewView:
    review: MatchReview
    left: Side
    right: Side
    differences: dict[str, bool]
    fields: list[dict[str, Any]]
    merge: Merge | None


COMPARED = ("name", "sex", "birth_date", "id_number", "phone", "village_id", "address")


def _side(patient: Patient) -> Side:
    regs = list(
        Registration.objects.filter(patient=patient)
        .select_related("institution", "village")
        .order_by("created_at", "pk")
    )
    return Side(patient, regs)


@transaction.atomic
def review_get_for(*, scope: Scope, review_id: int, actor: Any) -> ReviewView:
    """One review with both residents and their registrations, audited as ``patient.review_read``."""
    require_steward(scope)
    review = (
        MatchReview.objects.select_related(
            "patient__village", "candidate__village", "registration__institution"
        )
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        raise NotFound(_("No such review."))
    left, right = _side(review.patient), _side(review.candidate)
    differences = {f: getattr(review.patient, f) != getattr(review.candidate, f) for f in COMPARED}
    merge = Merge.objects.filter(review=review, undone_at__isnull=True).first()
    audit(
        actor=actor,
        verb="patient.review_read",
        subject=review,
        membership=scope.membership,
        after={"patients": [review.patient_id, review.candidate_id]},
    )
    return ReviewView(review, left, right, differences, review.explanation.get("fields", []), merge)


def merge_list_for(*, scope: Scope) -> QuerySet[Merge]:
    require_steward(scope)
    return Merge.objects.select_related("survivor", "merged", "created_by").order_by("-created_at", "-pk")


__all__ = [
    "Preview",
    "ReviewView",
    "engine",
    "match_preview_for",
    "merge_list_for",
    "require_registrar",
    "review_counts_for",
    "review_get_for",
    "review_list_for",
]
