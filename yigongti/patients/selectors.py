"""Reads of residents' records, always through the user's scope.

Listing residents shows who exists (names, masked ID numbers) and is not audited row by row;
opening one resident's record is a read of personal data and writes a ``patient.read`` audit
row in the same transaction as the read, so that no record can be opened without a trace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_residents
from yigongti.core.audit import audit
from yigongti.core.errors import NotFound

from .models import Household, NameKeyKind, Patient, PatientNameKey
from .names import Query, normalise_query, simplified

#: Residents from this age on receive the annual elderly health service.
ELDERLY_AGE = 65


def patient_list_for(*, scope: Scope, q: str = "") -> QuerySet[Patient]:
    """Residents the scope may read: a village's own, a township's villages', or oneself.

    ``q`` (see ``names.normalise_query``) finds by characters anywhere in the simplified name
    (a traditional query or name alike), by the start of the full pinyin (``zhangw``) or of the
    initials (``zw``) of any reading of the name, or by the start of the health-record number,
    the ID number (x or X) or the phone. Characters, pinyin and initials are looked up by prefix
    in the indexed ``PatientNameKey`` table, never by scanning residents; it stays one query.
    """
    qs = filter_residents(Patient.objects.filter(merged_into__isnull=True), scope)
    query = normalise_query(q)
    if query.kind != "empty":
        qs = qs.filter(_matches(query, (q or "").strip()))
    return qs.select_related("village", "household").order_by("health_record_number")


def _prefix(field: str, value: str) -> Q:
    """``field`` starts with ``value``, in a form the database can answer from a b-tree index.

    PostgreSQL uses the ``varchar_pattern_ops`` index for ``LIKE 'v%'``; SQLite's LIKE ignores
    case and so no index, but its binary (UTF-8) order puts every ``v...`` key in
    [v, v + U+10FFFF), the largest character.
    """
    condition = Q(**{f"{field}__startswith": value})
    if connection.vendor == "sqlite":
        condition &= Q(**{f"{field}__gte": value, f"{field}__lt": value + "\U0010ffff"})
    return condition


def keyed_names(kinds: list[str], value: str) -> Q:
    """Residents with a name key of ``kinds`` starting with ``value`` (an index range)."""
    keys = PatientNameKey.objects.filter(_prefix("key", value), kind__in=kinds)
    return Q(pk__in=keys.values("patient_id"))


def names_containing(text: str) -> Q:
    """Residents whose simplified name contains ``text`` (simplified here): a suffix key starts
    with it (``names.suffix_keys``), an index range instead of reading every name."""
    return keyed_names([NameKeyKind.SUFFIX], simplified(text))


def names_ending(text: str) -> Q:
    """Residents whose simplified name ends with ``text`` (a given name): a suffix key equals it."""
    keys = PatientNameKey.objects.filter(kind=NameKeyKind.SUFFIX, key=simplified(text))
    return Q(pk__in=keys.values("patient_id"))


def _matches(query: Query, raw: str) -> Q:
    value = query.value
    if query.kind == "digits":
        return (
            Q(health_record_number__startswith=value)
            | Q(id_number__startswith=value)
            | Q(phone__startswith=value)
        )
    if query.kind == "initials":
        return keyed_names([NameKeyKind.INITIALS], value)
    if query.kind == "pinyin":
        return keyed_names([NameKeyKind.PINYIN, NameKeyKind.INITIALS], value)
    if query.kind == "characters":
        return names_containing(value)
    return Q(name__icontains=raw)


@transaction.atomic
def patient_get_for(*, scope: Scope, health_record_number: str, actor: Any, membership: Any) -> Patient:
    """One resident's record, audited as ``patient.read``; NotFound when absent or out of scope."""
    patient = patient_list_for(scope=scope).filter(health_record_number=health_record_number).first()
    if patient is None:
        raise NotFound(_("No resident with this health record number."), field="health_record_number")
    return _read(patient, actor=actor, membership=membership)


def _read(patient: Patient, *, actor: Any, membership: Any) -> Patient:
    audit(actor=actor, verb="patient.read", subject=patient, membership=membership)
    return patient


def my_record_for(*, scope: Scope, actor: Any) -> Patient | None:
    """A resident's own record (None when no record is linked to the login), audited as a read."""
    if not scope.self_patient_only:
        return None
    with transaction.atomic():
        own = patient_list_for(scope=scope).first()
        return None if own is None else _read(own, actor=actor, membership=scope.membership)


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
