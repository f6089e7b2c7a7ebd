"""Reads of residents' records, always through the user's scope.

Listing residents shows who exists (names, masked ID numbers) and is not audited row by row;
opening one resident's record is a read of personal data and writes a ``patient.read`` audit
row in the same transaction as the read, so that no record can be opened without a trace.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_residents
from yigongti.core.audit import audit
from yigongti.core.errors import NotFound

from .models import Patient


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
