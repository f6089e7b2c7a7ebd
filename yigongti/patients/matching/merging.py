"""Review decisions, merge and unmerge: what a steward of the master index decides.

Merging moves registrations, never copies or deletes them: the merged resident keeps its row
(``merged_into``), and the ``Merge`` row records exactly what moved and both golden records
before, so that an unmerge puts everything back as it was. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import scope_for
from yigongti.core.audit import audit
from yigongti.core.errors import Conflict, InvalidInput, NotFound

from ..models import (
    REVIEW_TRANSITIONS,
    MatchReview,
    Merge,
    NonMatch,
    Patient,
    Registration,
    ReviewStatus,
)
from ..signals import send_changed
from .index import forget_resident_total
from .services import GOLDEN_FIELDS, golden_snapshot, ordered_pair


def _restore(patient: Patient, values: dict[str, Any]) -> None:
    for f in GOLDEN_FIELDS:
        value = values[f]
        if f == "birth_date" and value:
            value = dt.date.fromisoformat(value)
        setattr(patient, f, value)


def _require_steward(actor: Any) -> None:
    """Deciding who is who is the consortium office's job (its master-index stewards)."""
    if actor is None:
        return
    scope = scope_for(actor)
    scope.require(scope.manages_consortium, _("Only the consortium office decides possible duplicates."))


def _transition(review: MatchReview, target: str) -> None:
    if target not in REVIEW_TRANSITIONS[review.status]:
        raise Conflict(_("This review has already been decided."), field="status")


@transaction.atomic
def review_decide(*, actor: Any, review_id: int, same: bool) -> MatchReview:
    """ "Same person" merges the new resident into the candidate; "different people" records a
    non-match so that the pair is never proposed again."""
    _require_steward(actor)
    review = MatchReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None:
        raise NotFound(_("No such review."))
    target = ReviewStatus.SAME if same else ReviewStatus.DIFFERENT
    _transition(review, target)
    if same:
        merge = patients_merge(
            actor=actor, survivor_id=review.candidate_id, merged_id=review.patient_id, review=review
        )
        # the other reviews of the merged resident now concern the survivor, or are moot
        others = MatchReview.objects.filter(status=ReviewStatus.OPEN, patient_id=review.patient_id).exclude(
            pk=review.pk
        )
        others.update(status=ReviewStatus.WITHDRAWN, updated_at=timezone.now())
        audit_after: dict[str, Any] = {"merge_id": merge.pk}
    else:
        low, high = ordered_pair(review.patient_id, review.candidate_id)
        NonMatch.objects.get_or_create(low_id=low, high_id=high, defaults={"review": review})
        audit_after = {"non_match": [low, high]}
    review.status = target
    review.decided_by = actor if actor is not None else None
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    audit(
        actor=actor,
        verb="patient.review_decide",
        subject=review,
        before={"status": ReviewStatus.OPEN},
        after={"status": target, **audit_after},
    )
    return review


@transaction.atomic
def patients_merge(
    *, actor: Any, survivor_id: int, merged_id: int, review: MatchReview | None = None
) -> Merge:
    """Move every registration of ``merged`` to ``survivor`` and recompute nothing else: the
    survivor's golden fields only fill gaps from the merged one. Audited; undone by unmerge."""
    _require_steward(actor)
    if survivor_id == merged_id:
        raise InvalidInput(_("A resident cannot be merged into itself."))
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[survivor_id, merged_id])}
    survivor, merged = locked.get(survivor_id), locked.get(merged_id)
    if survivor is None or merged is None:
        raise NotFound(_("No such resident."))
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise Conflict(_("One of these residents has already been merged."))
    low, high = ordered_pair(survivor_id, merged_id)
    if NonMatch.objects.filter(low_id=low, high_id=high).exists():
        raise Conflict(_("These residents were declared different people."))
    if survivor.user_id and merged.user_id:
        raise Conflict(_("Both residents have a login; remove one before merging."))
    moved = list(Registration.objects.filter(patient=merged).order_by("pk").values_list("pk", flat=True))
    villages = {survivor.village_id, merged.village_id}
    survivor_before = golden_snapshot(survivor)
    merged_before = {**golden_snapshot(merged), "user_id": merged.user_id}
    for f in ("id_number", "birth_date", "sex", "phone", "address"):
        if not getattr(survivor, f) and getattr(merged, f):
            setattr(survivor, f, getattr(merged, f))
    if survivor.village_id is None and merged.village_id is not None:
        survivor.village_id = merged.village_id
    if survivor.health_record_number is None and merged.health_record_number:
        survivor.health_record_number = merged.health_record_number
    user = merged.user
    # unique columns move from the merged row to the survivor: free them first
    merged.id_number = None if survivor.id_number == merged.id_number else merged.id_number
    if survivor.health_record_number == merged.health_record_number:
        merged.health_record_number = None
    merged.user = None
    merged.merged_into = survivor
    merged.save()
    if user is not None and survivor.user_id is None:
        survivor.user = user
    survivor.save()
    Registration.objects.filter(pk__in=moved).update(patient=survivor, updated_at=timezone.now())
    # what is counted per resident elsewhere (a family-doctor contract counts while its resident
    # is not merged) follows the villages of both, through the bulk paths' signal
    send_changed(villages | {survivor.village_id})
    merge = Merge.objects.create(
        survivor=survivor,
        merged=merged,
        review=review,
        registration_ids=moved,
        survivor_before=survivor_before,
        survivor_after={**golden_snapshot(survivor), "user_id": survivor.user_id},
        merged_before=merged_before,
        created_by=actor,
    )
    forget_resident_total()
    audit(
        actor=actor,
        verb="patient.merge",
        subject=survivor,
        before={"survivor": survivor_before, "merged": merged_before},
        after={"merge_id": merge.pk, "merged_id": merged.pk, "registrations": moved},
    )
    return merge


@transaction.atomic
def patients_unmerge(*, actor: Any, merge_id: int) -> Patient:
    """Undo a merge exactly: the moved registrations go back, both golden records are restored,
    and the review (if any) is open again. Registrations added to the survivor since stay."""
    _require_steward(actor)
    merge = Merge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(_("No such merge."))
    if merge.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    later = Merge.objects.filter(
        merged_id=merge.survivor_id, undone_at__isnull=True, pk__gt=merge.pk
    ).exists()
    if later:
        raise Conflict(_("The surviving resident was merged again since; undo that merge first."))
    survivor = Patient.objects.select_for_update().get(pk=merge.survivor_id)
    merged = Patient.objects.select_for_update().get(pk=merge.merged_id)
    villages = {survivor.village_id, merged.village_id}
    current = golden_snapshot(survivor)
    after = merge.survivor_after
    # put back what the merge changed, unless someone changed it again since
    restored = {f: merge.survivor_before[f] for f in GOLDEN_FIELDS if current[f] == after[f]}
    kept = {f: current[f] for f in GOLDEN_FIELDS if current[f] != after[f]}
    _restore(survivor, {**current, **restored})
    user_id = merge.merged_before.get("user_id")
    if user_id is not None and survivor.user_id == user_id:
        survivor.user = None
    survivor.save()
    _restore(merged, merge.merged_before)
    merged.merged_into = None
    merged.user_id = user_id
    try:
        with transaction.atomic():
            merged.save()
    except IntegrityError:
        raise Conflict(
            _("The surviving resident now holds this resident's numbers; correct them first.")
        ) from None
    Registration.objects.filter(pk__in=merge.registration_ids).update(
        patient=merged, updated_at=timezone.now()
    )
    send_changed(villages | {survivor.village_id, merged.village_id})
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    if merge.review_id is not None:
        MatchReview.objects.filter(pk=merge.review_id).update(
            status=ReviewStatus.OPEN, decided_by=None, decided_at=None, updated_at=timezone.now()
        )
    forget_resident_total()
    audit(
        actor=actor,
        verb="patient.unmerge",
        subject=merged,
        before={"merge_id": merge.pk},
        after={"survivor_id": survivor.pk, "registrations": merge.registration_ids, "kept": kept},
    )
    return merged
