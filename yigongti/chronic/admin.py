"""Reference data: estimated prevalence, eligible residents and provincial quotas per year and
village (editable); registry entries and tasks are read-only here (they change through the
services, which keep the worklist and the audit trail)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from yigongti.core.admin import AuditedModelAdmin

from .models import Enrollment, ProgrammeReference, Task
from .signals import send_changed


def _reference_keys(row: ProgrammeReference | None) -> set[tuple[int, dt.date | None]]:
    return set() if row is None else {(row.institution_id, dt.date(int(row.year), 1, 1))}


class _ReadOnly(AuditedModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProgrammeReference)
class ProgrammeReferenceAdmin(AuditedModelAdmin):
    list_display = (
        "institution",
        "year",
        "programme",
        "prevalence",
        "residents_35",
        "estimated_patients",
        "quota",
    )
    list_filter = ("year", "programme")
    raw_id_fields = ("institution",)

    # the admin's change and delete views are atomic: the signal is sent inside their transaction
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        old = ProgrammeReference.objects.filter(pk=obj.pk).first() if change and obj.pk else None
        super().save_model(request, obj, form, change)
        send_changed(_reference_keys(old) | _reference_keys(obj))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        keys = _reference_keys(obj)
        super().delete_model(request, obj)
        send_changed(keys)


@admin.register(Enrollment)
class EnrollmentAdmin(_ReadOnly):
    list_display = ("patient", "programme", "village", "diagnosed_on", "risk_level", "is_active")
    list_filter = ("programme", "risk_level", "is_active")
    raw_id_fields = ("patient", "village", "enrolled_by")


@admin.register(Task)
class TaskAdmin(_ReadOnly):
    list_display = ("patient", "programme", "due_on", "priority", "status", "rule_version")
    list_filter = ("programme", "priority", "status")
    raw_id_fields = ("patient", "village")
