"""Reference data the consortium office keeps: reasons, green-channel kinds, deadlines."""

from django.contrib import admin

from yigongti.core.admin import AuditedModelAdmin

from .models import AcceptanceDeadline, GreenChannelKind, ReferralReason


@admin.register(ReferralReason)
class ReferralReasonAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "direction", "sort_order", "is_active"]
    list_filter = ["direction", "is_active"]
    search_fields = ["code", "name"]


@admin.register(GreenChannelKind)
class GreenChannelKindAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "department_category", "sort_order", "is_active"]
    list_filter = ["is_active"]


@admin.register(AcceptanceDeadline)
class AcceptanceDeadlineAdmin(AuditedModelAdmin):
    list_display = ["urgency", "minutes"]
