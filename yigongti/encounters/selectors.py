"""Scoped reads of encounters.

An encounter is personal data (who was ill with what), so rows are read like residents' records:

- staff see the encounters *at* the institutions of their scope (their own work), and those of
  the residents they look after wherever they happened (a township sees its villagers' county
  admissions);
- a resident sees their own;
- the consortium office and the health bureau see no rows, only counts (``encounter_summary_for``).

Lists are not audited row by row; opening one encounter writes ``encounter.read``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core.access import Scope
from yigongti.core.audit import audit
from yigongti.core.errors import Forbidden, InvalidInput, NotFound

from .models import Encounter

MAX_PK = 2**63 - 1


def parse_month(value: str | None) -> dt.date | None:
    """``YYYY-MM`` (years 1900–2999) as the month's first day; empty is None; else a 422 on ``month``."""
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        month = dt.date(int(text[:4]), int(text[5:7]), 1)
    except ValueError:
        raise InvalidInput(_("A month is written YYYY-MM."), field="month") from None
    if not 1900 <= month.year <= 2999:
        raise InvalidInput(_("A month is written YYYY-MM."), field="month")
    return month


def month_range(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's first instant and the next month's, in the county's local time."""
    first = month.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(first, dt.time()), tz),
        timezone.make_aware(dt.datetime.combine(after, dt.time()), tz),
    )


def _visible(scope: Scope) -> Q | None:
    """Which rows the scope may read one by one (None: no personal rows at all)."""
    if scope.self_patient_only:
        return Q(patient__user_id=scope.user_id) if scope.user_id else None
    if scope.membership is None or scope.is_oversight:
        return None
    condition = Q(institution_id__in=scope.institution_ids)
    if scope.resident_village_ids:
        condition |= Q(patient__village_id__in=scope.resident_village_ids)
    return condition


def sees_rows(scope: Scope) -> bool:
    return _visible(scope) is not None


def encounter_list_for(
    *,
    scope: Scope,
    institution_id: int | None = None,
    kind: str = "",
    month: dt.date | None = None,
    patient_id: int | None = None,
) -> QuerySet[Encounter]:
    """Encounters the scope may read, newest first; the oversight roles get ``Forbidden``."""
    condition = _visible(scope)
    if condition is None:
        raise Forbidden(_("Your role sees encounters only as counts."))
    qs = Encounter.objects.filter(condition)
    if institution_id is not None:
        qs = qs.filter(institution_id=institution_id)
    if kind:
        qs = qs.filter(kind=kind)
    if month is not None:
        start, end = month_range(month)
        qs = qs.filter(started_at__gte=start, started_at__lt=end)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    return qs.select_related("patient", "institution", "department").order_by("-started_at", "-id")


def encounter_get_for(*, scope: Scope, pk: int, actor: Any) -> Encounter:
    """One encounter in scope, its reading audited (``encounter.read``); else NotFound."""
    condition = _visible(scope)
    if condition is None:
        raise Forbidden(_("Your role sees encounters only as counts."))
    if not 1 <= pk <= MAX_PK:
        raise NotFound(_("No such encounter in your scope."))
    row = (
        Encounter.objects.filter(condition, pk=pk)
        .select_related("patient", "patient__village", "institution", "department")
        .first()
    )
    if row is None:
        raise NotFound(_("No such encounter in your scope."))
    audit(
        actor=actor,
        verb="encounter.read",
        subject=row,
        after={"patient_id": row.patient_id},
        membership=scope.membership,
    )
    return row


def encounter_summary_for(
    *, scope: Scope, month: dt.date | None = None, institution_id: int | None = None, kind: str = ""
) -> list[dict[str, Any]]:
    """Counts by institution and kind (no personal data): every role with a membership.

    The oversight roles also get the out-of-county encounters of their county's residents
    whose hospital is not one of ours (``institution_id`` None).
    """
    if scope.membership is None or scope.self_patient_only:
        raise Forbidden(_("Your role may not open this page."))
    condition = Q(institution_id__in=scope.institution_ids)
    if scope.is_oversight:
        county = scope.membership.institution.area_code
        condition |= Q(institution__isnull=True, residence_county_code=county)
    qs = Encounter.objects.filter(condition)
    if month is not None:
        start, end = month_range(month)
        qs = qs.filter(started_at__gte=start, started_at__lt=end)
    if institution_id is not None:
        qs = qs.filter(institution_id=institution_id)
    if kind:
        qs = qs.filter(kind=kind)
    rows = (
        qs.values("institution_id", "institution__name", "institution__level", "kind")
        .annotate(
            encounters=Count("id"),
            tcm=Count("id", filter=Q(is_tcm=True)),
            bed_days=Sum("bed_days"),
            total_cost=Sum("total_cost"),
            out_of_pocket=Sum("out_of_pocket"),
        )
        .order_by("institution__level", "institution__name", "kind")
    )
    return [
        {
            "institution_id": r["institution_id"],
            "institution_name": r["institution__name"] or "",
            "level": r["institution__level"] or "",
            "kind": r["kind"],
            "encounters": r["encounters"],
            "tcm": r["tcm"],
            "bed_days": r["bed_days"] or 0,
            "total_cost": Decimal(r["total_cost"] or 0).quantize(Decimal("0.01")),
            "out_of_pocket": Decimal(r["out_of_pocket"] or 0).quantize(Decimal("0.01")),
        }
        for r in rows
    ]
