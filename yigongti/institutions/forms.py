"""Forms for the institution pages. They parse and offer choices; the services validate and write.

Choice lists come from the caller's scoped querysets, so a form never offers (or accepts) an
institution, department or staff member the user could not see.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from .choices import InstitutionKind, Level, Profession, Sex, Title
from .models import Department, Institution, Staff


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


class FilterForm(forms.Form):
    """A GET form whose valid fields filter a list; an invalid field is simply not applied."""

    def values(self) -> dict[str, Any]:
        if not self.is_bound:
            return {name: f.initial for name, f in self.fields.items()}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) for name in self.fields}


class InstitutionFilterForm(FilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=50)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_blank(_("All kinds")) + list(InstitutionKind.choices)
    )
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=_blank(_("All levels")) + list(Level.choices)
    )


class InstitutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        inst = obj.institution.short_name or obj.institution.name
        return f"{obj.name} · {obj.employee_no} · {inst}"


class StaffFilterForm(FilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=40)
    institution = InstitutionChoiceField(
        label=_("Institution"),
        required=False,
        queryset=Institution.objects.none(),
        to_field_name="code",
        empty_label=_("All institutions"),
    )
    profession = forms.ChoiceField(
        label=_("Profession"),
        required=False,
        choices=_blank(_("All professions")) + list(Profession.choices),
    )

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]


class InstitutionPickForm(forms.Form):
    institution = InstitutionChoiceField(
        label=_("Institution"), queryset=Institution.objects.none(), to_field_name="code"
    )

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]


class StaffCreateForm(forms.Form):
    """New staff member at one institution. Sex may be left out when an ID number is given."""

    name = forms.CharField(label=_("Name"), max_length=40)
    sex = forms.ChoiceField(
        label=_("Sex"),
        required=False,
        choices=_blank(_("From the ID number")) + list(Sex.choices),
    )
    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=24,
        help_text=_("Optional. 18 characters, or 15 for an old number; birth date and sex are read from it."),
    )
    profession = forms.ChoiceField(label=_("Profession"), choices=Profession.choices)
    title = forms.ChoiceField(label=_("Professional title"), choices=Title.choices, initial=Title.NONE)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=20)
    employee_no = forms.CharField(label=_("Employee number"), max_length=20)
    department = forms.ModelChoiceField(
        label=_("Department"),
        required=False,
        queryset=Department.objects.none(),
        empty_label=_("No department"),
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]

    def service_fields(self) -> dict[str, Any]:
        """The keyword arguments of ``staff_create`` (``institution`` and ``actor`` aside)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "sex": data["sex"],
            "id_number": data["id_number"],
            "profession": data["profession"],
            "title": data["title"],
            "phone": data["phone"],
            "employee_no": data["employee_no"],
            "department": data["department"],
        }


class SecondmentCreateForm(forms.Form):
    staff = StaffChoiceField(label=_("Staff member"), queryset=Staff.objects.none())
    host = InstitutionChoiceField(
        label=_("Host institution"), queryset=Institution.objects.none(), to_field_name="code"
    )
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end_date = forms.DateField(
        label=_("End date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=200)

    def __init__(
        self, *args: Any, staff: QuerySet[Staff], hosts: QuerySet[Institution], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff  # type: ignore[attr-defined]
        self.fields["host"].queryset = hosts  # type: ignore[attr-defined]
