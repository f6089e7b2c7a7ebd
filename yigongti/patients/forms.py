"""The residents list's search form. Village choices come from the caller's scope."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.institutions.models import Institution


class VillageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.short_name or obj.name


class PatientFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or health record number"), required=False, max_length=40)
    village = VillageChoiceField(
        label=_("Village clinic"),
        required=False,
        queryset=Institution.objects.none(),
        to_field_name="code",
        empty_label=_("All my villages"),
    )

    def __init__(self, *args: Any, villages: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        """The valid filters; an invalid one is left out rather than failing the whole list."""
        if not self.is_bound:
            return {"q": "", "village": None}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {"q": cleaned.get("q") or "", "village": cleaned.get("village")}
