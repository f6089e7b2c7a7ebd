"""Reference-data screens: officials add or correct an indicator, its targets and the permanent
population without code. A broken definition is refused by ``Indicator.clean()`` with the part
it is in; saving an indicator computes its new parts' cells in the same transaction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from yigongti.core.admin import AuditedModelAdmin

from . import definitions
from .models import Indicator, IndicatorTarget, PopulationReference


class TargetInline(admin.TabularInline):
    model = IndicatorTarget
    extra = 1


@admin.register(Indicator)
class IndicatorAdmin(AuditedModelAdmin):
    list_display = ["position", "code", "name_zh", "unit", "direction", "area", "is_active"]
    list_display_links = ["code"]
    list_filter = ["area", "unit", "is_active"]
    search_fields = ["code", "name_zh", "name_en"]
    inlines = [TargetInline]
    readonly_fields = ["sources_help"]

    @admin.display(description=_("Sources, fields and measures"))
    def sources_help(self, obj: Any = None) -> str:
        rows = [
            (
                name,
                ", ".join(f"{f} ({s.kind})" for f, s in sorted(spec.fields.items())),
                ", ".join(sorted(spec.sums)) or "—",
                ", ".join(spec.institutions),
            )
            for name, spec in definitions.SOURCES.items()
        ]
        return format_html_join("", "<p><b>{}</b>: {}<br>sum: {} · attribute_to: {}</p>", rows)


@admin.register(PopulationReference)
class PopulationReferenceAdmin(AuditedModelAdmin):
    list_display = ["year", "institution", "permanent_residents"]
    list_filter = ["year"]
    search_fields = ["institution__name", "institution__code"]
    autocomplete_fields = ["institution"]
