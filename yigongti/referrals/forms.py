"""The referral form and the small forms of each move. Choices are codes and ids; the views turn
them into rows through ``lookups`` so that errors name the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import CareMode, Direction, ReasonDirection, Status, Urgency
from .models import GreenChannelKind, ReferralReason

BLANK = [("", "—")]


def _reason_choices() -> list[Any]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for reason in ReferralReason.objects.filter(is_active=True):
        groups.setdefault(reason.direction, []).append((reason.code, f"{reason.code} {reason.name}"))
    labels = dict(ReasonDirection.choices)
    return BLANK + [(str(labels[d]), rows) for d, rows in groups.items()]


def _choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)  # noqa: S101 - a programming error, not input
    field.choices = choices


class ReferralForm(forms.Form):
    patient = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={"required": _("Find and choose the patient first.")},
    )
    to_institution = forms.ChoiceField(label=_("Referred to"))
    to_department = forms.TypedChoiceField(
        label=_("Receiving department"), required=False, coerce=int, empty_value=None
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE)
    green_channel = forms.ChoiceField(
        label=_("Green channel"),
        required=False,
        help_text=_(
            "Chest pain, stroke, trauma, critical maternal or neonatal: no appointment, "
            "a bed is held and the department is alerted at once."
        ),
    )
    diagnosis_code = forms.CharField(
        label=_("ICD-10 code"),
        max_length=10,
        widget=forms.TextInput(attrs={"list": "icd10-list", "autocomplete": "off"}),
    )
    diagnosis_name = forms.CharField(
        label=_("Preliminary diagnosis"),
        max_length=120,
        required=False,
        help_text=_("Filled from the ICD-10 catalogue when left empty."),
    )
    history = forms.CharField(
        label=_("History"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    treatment = forms.CharField(
        label=_("Treatment so far"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    reason = forms.ChoiceField(label=_("Reason"))
    reason_note = forms.CharField(label=_("Reason, in words"), max_length=300, required=False)
    slot = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, receivers: list[tuple[str, str]], departments: list[tuple[Any, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "to_institution", BLANK + receivers)
        _choices(self, "to_department", BLANK + departments)
        greens = [(g.code, g.name) for g in GreenChannelKind.objects.filter(is_active=True)]
        _choices(self, "green_channel", [("", _("No")), *greens])
        _choices(self, "reason", _reason_choices())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Follow-up note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class EmptyForm(forms.Form):
    pass


class AssignForm(forms.Form):
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)
    doctor = forms.TypedChoiceField(label=_("Doctor"), required=False, coerce=int, empty_value=None)

    def __init__(
        self, *args: Any, departments: list[tuple[Any, str]], doctors: list[tuple[Any, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "department", BLANK + departments)
        _choices(self, "doctor", BLANK + doctors)


class RedirectForm(forms.Form):
    to_institution = forms.ChoiceField(label=_("Redirect to"))
    to_department = forms.TypedChoiceField(
        label=_("Receiving department"), required=False, coerce=int, empty_value=None
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(
        self, *args: Any, receivers: list[tuple[str, str]], departments: list[tuple[Any, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "to_institution", BLANK + receivers)
        _choices(self, "to_department", BLANK + departments)


class CareForm(forms.Form):
    mode = forms.ChoiceField(label=_("Care"), choices=CareMode.choices)


class CompleteForm(forms.Form):
    diagnosis_code = forms.CharField(
        label=_("ICD-10 code"),
        max_length=10,
        widget=forms.TextInput(attrs={"list": "icd10-list", "autocomplete": "off"}),
    )
    diagnosis_name = forms.CharField(label=_("Diagnosis"), max_length=120, required=False)
    results = forms.CharField(
        label=_("Key results"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    treatment = forms.CharField(
        label=_("Treatment given"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    advice = forms.CharField(
        label=_("Advice for continued care"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class AttachForm(forms.Form):
    file = forms.FileField(label=_("File"))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class OccupancyForm(forms.Form):
    occupied = forms.IntegerField(label=_("Occupied beds"), min_value=0, max_value=100000)


class FilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=BLANK + list(Status.choices))
    direction = forms.ChoiceField(
        label=_("Direction"), required=False, choices=BLANK + list(Direction.choices)
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    green = forms.BooleanField(label=_("Green channel only"), required=False)
    q = forms.CharField(label=_("Number or name"), required=False, max_length=40)


class LookupForm(forms.Form):
    q = forms.CharField(label=_("Your residents"), required=False, max_length=40)
    name = forms.CharField(label=_("Name"), required=False, max_length=40)
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=18)
