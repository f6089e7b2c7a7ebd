"""Reads of residents' records, always through the user's scope.

Listing residents shows who exists (names, masked ID numbers) and is not audited row by row;
opening one resident's record is a read of personal data and writes a ``patient.read`` audit
row in the same transaction as the read, so that no record can be opened without a trace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_residents
from yigongti.core.audit import audit
from yigongti.core.errors import NotFound

from .models import Household, Patient

#: Residents from this age on receive the annual elderly health service.
ELDERLY_AGE = 65


def patient_list_for(*, scope: Scope, q: str = "") -> QuerySet[Patient]:
    """Residents the scope may read: a village's own, a township's villages', or oneself.

    ``q`` matches the start of the health-record number, the ID number or the phone, or any
    part of the name.
    """
    qs = filter_residents(Patient.objects.all(), scope)
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(health_record_number__startswith=q)
            | Q(id_number__startswith=q.upper())
            | Q(phone__startswith=q)
        )
    return qs.select_related("village", "household").order_by("health_record_number")


@transaction.atomic
def patient_get_for(*, scope: Scope, health_record_number: str, actor: Any, membership: Any) -> Patient:
    """One resident's record, audited as ``patient.read``; NotFound when absent or out of scope."""
    patient = patient_list_for(scope=scope).filter(health_record_number=health_record_number).first()
    if patient is None:
        raise NotFound(_("No resident with this health record number."), field="health_record_number")
    audit(
        actor=actor,
        verb="patient.read",
        subject=patient,
        membership=membership,
    )
    return patient


def my_record_for(*, scope: Scope, actor: Any) -> Patient | None:
    """A resident's own record (None when no record is linked to the login), audited as a read."""
    if not scope.self_patient_only:
        return None
    own = patient_list_for(scope=scope).first()
    if own is None:
        return None
    return patient_get_for(
        scope=scope, health_record_number=own.health_record_number, actor=actor, membership=scope.membership
    )


def household_members_for(*, scope: Scope, patient: Patient) -> list[Patient]:
    """The other members of ``patient``'s household that the scope may know about.

    ``patient`` must come from ``patient_get_for``. A resident sees who is registered in their
    own household (as on the paper household record); staff see the members in their villages.
    """
    if patient.household_id is None:
        return []
    qs = Patient.objects.filter(household_id=patient.household_id).exclude(pk=patient.pk)
    if scope.self_patient_only:
        if patient.user_id is None or patient.user_id != scope.user_id:
            return []
    else:
        qs = filter_residents(qs, scope)
    return list(qs.order_by("birth_date", "pk"))


def born_on_or_before(today: dt.date, years: int) -> dt.date:
    """The latest birth date of someone at least ``years`` old on ``today``.

    A 29 February birthday counts from 1 March in common years, as ``Patient.age_on`` does.
    """
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # today is 29 February and the target year is a common year
        return dt.date(today.year - years, 2, 28)


@dataclass(frozen=True)
class ResidentCounts:
    residents: int
    households: int
    elderly: int


def resident_counts_for(*, scope: Scope, today: dt.date) -> ResidentCounts:
    """Residents, households and residents aged 65 or more in the scope's villages (aggregates)."""
    if scope.self_patient_only or not scope.resident_village_ids:
        return ResidentCounts(0, 0, 0)
    cutoff = born_on_or_before(today, ELDERLY_AGE)
    totals = filter_residents(Patient.objects.all(), scope).aggregate(
        n=Count("pk"), elderly=Count("pk", filter=Q(birth_date__lte=cutoff))
    )
    households = Household.objects.filter(village_id__in=scope.resident_village_ids).count()
    return ResidentCounts(residents=totals["n"], households=households, elderly=totals["elderly"])


def resident_counts_by_village(*, scope: Scope) -> dict[int, int]:
    """Residents per village clinic in the scope (one grouped query)."""
    if scope.self_patient_only or not scope.resident_village_ids:
        return {}
    rows = (
        filter_residents(Patient.objects.all(), scope).order_by().values("village_id").annotate(n=Count("pk"))
    )
    return {r["village_id"]: r["n"] for r in rows}
