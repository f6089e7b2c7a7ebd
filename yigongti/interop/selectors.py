"""Reads of the interop tables, scoped like the audit trail: the oversight roles see the
messages and export jobs of institutions in their scope."""

from __future__ import annotations

from django.db.models import QuerySet

from yigongti.core.access import Scope

from .models import ExportJob, Hl7Message


def hl7_message_list_for(*, scope: Scope, outcome: str = "") -> QuerySet[Hl7Message]:
    """Messages received for institutions in scope (office and bureau only), newest first."""
    if not scope.is_oversight or not scope.institution_ids:
        return Hl7Message.objects.none()
    qs = Hl7Message.objects.filter(institution_id__in=scope.institution_ids)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.select_related("institution", "user").order_by("-received_at", "-pk")


def export_job_list_for(*, scope: Scope) -> QuerySet[ExportJob]:
    """Export jobs asked for by accounts acting at institutions in scope (office and bureau only)."""
    if not scope.is_oversight or not scope.institution_ids:
        return ExportJob.objects.none()
    return (
        ExportJob.objects.filter(membership__institution_id__in=scope.institution_ids)
        .select_related("user", "membership__institution")
        .order_by("-created_at")
    )
