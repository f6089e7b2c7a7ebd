"""The booking policy is reference data: the consortium's default and per-institution overrides."""

from django.contrib import admin

from yigongti.core.admin import AuditedModelAdmin

from .models import SchedulingPolicy


@admin.register(SchedulingPolicy)
class SchedulingPolicyAdmin(AuditedModelAdmin):
    list_display = [
        "consortium",
        "institution",
        "release_lead_hours",
        "no_show_limit",
        "no_show_window_days",
        "block_days",
    ]
    list_filter = ["consortium"]
    autocomplete_fields = ["institution"]
