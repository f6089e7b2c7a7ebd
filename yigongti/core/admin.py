"""Admin screens for reference data, audited like every other write."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .audit import audit, snapshot
from .models import AuditEvent


class AuditedModelAdmin(admin.ModelAdmin):
    """Writes through the admin leave the same audit row a service would."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        verb = f"{obj._meta.model_name}.admin_{'change' if change else 'add'}"
        audit(
            actor=request.user,
            verb=verb,
            subject=obj,
            before=before,
            after=snapshot(obj),
            membership=getattr(request, "membership", None),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = snapshot(obj)
        pk = obj.pk
        super().delete_model(request, obj)
        audit(
            actor=request.user,
            verb=f"{obj._meta.model_name}.admin_delete",
            object_type=obj._meta.label_lower,
            object_id=pk,
            before=before,
            membership=getattr(request, "membership", None),
        )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is appended by services, never edited."""

    list_display = ["seq", "occurred_at", "actor_username", "role", "verb", "object_type", "object_id"]
    list_filter = ["verb", "object_type"]
    search_fields = ["actor_username", "verb", "object_id", "request_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
