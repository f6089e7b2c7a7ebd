"""Forms of the appointment pages. They parse and offer choices; the services validate and write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient

from .choices import BookingStatus

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _time_widget() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class InstitutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.short_name or obj.name)


class DoctorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        where = obj.institution.short_name or obj.institution.name
        return f"{obj.name}（{obj.get_title_display()} · {where}）"


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class InstitutionPickForm(forms.Form):
    institution = InstitutionChoiceField(label=_("Institution"), queryset=Institution.objects.none())

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]
        self.fields["institution"].to_field_name = "code"  # type: ignore[attr-defined]


class _TemplateFields(forms.Form):
    department = DepartmentChoiceField(label=_("Department"), queryset=Department.objects.none())
    doctor = DoctorChoiceField(
        label=_("Doctor"),
        queryset=Staff.objects.none(),
        required=False,
        help_text=_("A doctor of a county hospital makes it a visiting specialist's clinic (专家坐诊)."),
    )
    start = forms.TimeField(label=_("Starts at"), widget=_time_widget(), initial=dt.time(8, 0))
    end = forms.TimeField(label=_("Ends at"), widget=_time_widget(), initial=dt.time(11, 30))
    slot_minutes = forms.IntegerField(label=_("Minutes per slot"), min_value=5, max_value=240, initial=15)
    capacity = forms.IntegerField(label=_("Places per slot"), min_value=1, max_value=50, initial=1)
    referral_share = forms.IntegerField(
        label=_("Reserved for referrals (%)"),
        min_value=0,
        max_value=100,
        initial=20,
        help_text=_("These slots open to the public a set time before the session (see the booking policy)."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(
        self, *args: Any, departments: QuerySet[Department], doctors: QuerySet[Staff], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]

    def template(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "department": d["department"],
            "doctor": d["doctor"],
            "start": d["start"],
            "end": d["end"],
            "slot_minutes": d["slot_minutes"],
            "capacity": d["capacity"],
            "referral_share": d["referral_share"],
            "note": d["note"] or "",
        }


class SessionForm(_TemplateFields):
    date = forms.DateField(label=_("Date"), widget=_date_widget())

    field_order = [
        "date",
        "department",
        "doctor",
        "start",
        "end",
        "slot_minutes",
        "capacity",
        "referral_share",
    ]


class GenerateForm(_TemplateFields):
    first_date = forms.DateField(label=_("From"), widget=_date_widget())
    last_date = forms.DateField(label=pgettext_lazy("date range", "To"), widget=_date_widget())
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        initial=[0, 1, 2, 3, 4],
    )

    field_order = ["first_date", "last_date", "weekdays", "department", "doctor", "start", "end"]


class SlotSearchForm(forms.Form):
    institution = InstitutionChoiceField(label=_("Hospital or centre"), queryset=Institution.objects.none())
    department = DepartmentChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False
    )
    start = forms.DateField(label=_("From"), widget=_date_widget(), required=False)
    for_referral = forms.BooleanField(label=_("For a referral (show reserved slots)"), required=False)

    def __init__(
        self,
        *args: Any,
        institutions: QuerySet[Institution],
        departments: QuerySet[Department],
        staff: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]
        self.fields["institution"].to_field_name = "code"  # type: ignore[attr-defined]
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        if not staff:
            del self.fields["for_referral"]


class FamilyBookingForm(forms.Form):
    """A resident chooses whom to book for: themself or a household member."""

    patient = forms.TypedChoiceField(label=_("Book for"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args: Any, family: list[Patient], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = []
        for i, p in enumerate(family):
            label = str(_("Myself (%(name)s)") % {"name": p.name}) if i == 0 else p.name
            if i and p.relation_to_head:
                label = f"{p.name}（{p.relation_to_head}）"
            choices.append((p.pk, label))
        self.fields["patient"].choices = choices  # type: ignore[attr-defined]
        if family:
            self.fields["patient"].initial = family[0].pk


class DeskBookingForm(forms.Form):
    """Staff book for a resident they know, by health record number."""

    health_record_number = forms.CharField(
        label=_("Health record number"),
        max_length=17,
        help_text=_("A resident of your villages or one registered at your institution."),
    )
    for_referral = forms.BooleanField(label=_("This booking is for a referral"), required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=200, required=False)


class BookingFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *list(BookingStatus.choices)], required=False
    )
