"""The encounters list's filters and the "record a visit" form. The forms only parse; the rules
are ``encounter_record``'s, shown beside the field they name."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import InvalidInput
from yigongti.institutions.models import Department, Institution

from .choices import EncounterKind
from .selectors import parse_month


class MonthField(forms.CharField):
    """``YYYY-MM`` (the browser's month input) as the month's first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        try:
            return parse_month(super().to_python(value))
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc.message), code="invalid") from None

    def validate(self, value: Any) -> None:
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value: Any) -> None:
        """The length was checked on the text; the value is a date."""


class InstitutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.short_name or obj.name


class EncounterFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *EncounterKind.choices]
    )
    month = MonthField(label=_("Month"), required=False, max_length=7)
    institution = InstitutionChoiceField(
        label=_("Institution"),
        required=False,
        queryset=Institution.objects.none(),
        empty_label=_("All my institutions"),
    )

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        """The valid filters; an invalid one is left out rather than failing the whole list."""
        empty = {"kind": "", "month": None, "institution": None}
        if not self.is_bound:
            return empty
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {key: cleaned.get(key) or default for key, default in empty.items()}


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


class RecordForm(forms.Form):
    """One visit or stay as a doctor types it at their own institution."""

    patient = forms.CharField(
        label=_("Patient"),
        max_length=20,
        help_text=_("Health record number or ID number of a resident you look after."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=EncounterKind.choices, initial=EncounterKind.OUTPATIENT)
    started_at = forms.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
    )
    department = DepartmentChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.none(), empty_label="—"
    )
    discharged_on = forms.DateField(
        label=_("Discharged on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Inpatients only; leave empty while the patient is still in hospital."),
    )
    diagnosis_code = forms.CharField(
        label=_("Diagnosis (ICD-10)"), required=False, max_length=20, help_text=_("For example J06.9 or I10.")
    )
    is_tcm = forms.BooleanField(label=_("TCM service"), required=False)
    total_cost = forms.DecimalField(
        label=_("Total cost (yuan)"), min_value=0, max_digits=12, decimal_places=2
    )
    insurance_paid = forms.DecimalField(
        label=_("Paid by insurance (yuan)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("Leave empty if the patient paid it all."),
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
