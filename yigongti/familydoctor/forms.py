"""Forms of the family-doctor pages. They parse and offer choices; the services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution, Staff

from .choices import ContractStatus, PackageKind, PriorityGroup
from .models import ServicePackage, Team


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InstitutionField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class VillagesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class StaffField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        where = obj.institution.short_name or obj.institution.name
        return f"{obj.name}（{obj.get_profession_display()} · {where}）"


class PackagesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.price} / {obj.resident_pays}）"


class TeamForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=60)
    institution = InstitutionField(label=_("Based at"), queryset=Institution.objects.none())
    villages = VillagesField(label=_("Villages served"), queryset=Institution.objects.none())
    doctor = StaffField(label=_("Family doctor"), queryset=Staff.objects.none())
    nurse = StaffField(label=_("Nurse"), queryset=Staff.objects.none())
    public_health = StaffField(label=_("Public health worker"), queryset=Staff.objects.none())
    specialist = StaffField(label=_("County specialist"), queryset=Staff.objects.none(), required=False)
    pharmacist = StaffField(label=_("Pharmacist"), queryset=Staff.objects.none(), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, consortium_id: int | None, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cid = consortium_id or 0
        members = (
            Institution.objects.filter(consortium_id=cid)
            | Institution.objects.filter(parent__consortium_id=cid)
            | Institution.objects.filter(parent__parent__consortium_id=cid)
        )
        grassroots = members.filter(
            kind__in=[InstitutionKind.TOWNSHIP_CENTRE, InstitutionKind.VILLAGE_CLINIC]
        )
        villages = grassroots.filter(kind=InstitutionKind.VILLAGE_CLINIC).order_by("code")
        self.fields["institution"].queryset = grassroots.order_by("code")  # type: ignore[attr-defined]
        self.fields["villages"].queryset = villages  # type: ignore[attr-defined]
        staff = Staff.objects.filter(institution__in=members, is_active=True).select_related("institution")
        for name in ("doctor", "nurse", "public_health", "specialist", "pharmacist"):
            self.fields[name].queryset = staff.order_by("institution__code", "name")  # type: ignore[attr-defined]
        if editing:
            del self.fields["code"]
            del self.fields["institution"]
        else:
            del self.fields["is_active"]


class PackageForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=PackageKind.choices)
    target_group = forms.ChoiceField(
        label=_("Target group"), choices=[("", "—"), *PriorityGroup.choices], required=False
    )
    price = forms.DecimalField(
        label=_("Price (yuan per year)"), min_value=0, max_value=100000, decimal_places=2
    )
    insurance_share = forms.DecimalField(
        label=_("Paid by insurance (yuan)"), min_value=0, max_value=100000, decimal_places=2, initial=0
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("code", "kind", "target_group"):
                del self.fields[name]
        else:
            del self.fields["is_active"]


class ItemForm(forms.Form):
    name = forms.CharField(label=_("Service"), max_length=80)
    times_per_year = forms.IntegerField(label=_("Times per year"), min_value=1, max_value=52)
    is_home_visit = forms.BooleanField(label=_("Done at home"), required=False)


class ContractFilterForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *ContractStatus.choices], required=False
    )
    group = forms.ChoiceField(
        label=_("Priority group"), choices=[("", _("All")), *PriorityGroup.choices], required=False
    )
    expiring = forms.BooleanField(label=_("Ending within 60 days"), required=False)
    q = forms.CharField(label=_("Name or contract number"), max_length=40, required=False)

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]


class GroupsForm(forms.Form):
    """The priority groups of an open contract, changed during the term."""

    groups = forms.MultipleChoiceField(
        label=_("Priority groups"),
        choices=PriorityGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Age groups are computed from the birth date; tick the others you know of."),
    )


class SignForm(forms.Form):
    patient = forms.CharField(
        label=_("Resident"),
        max_length=18,
        help_text=_("Health record number or ID number of a resident of your villages."),
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    packages = PackagesField(
        label=_("Service packages"),
        queryset=ServicePackage.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    groups = forms.MultipleChoiceField(
        label=_("Priority groups"),
        choices=PriorityGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Age groups are computed from the birth date; tick the others you know of."),
    )
    start_date = forms.DateField(label=_("Start date"), required=False, widget=_date())
    end_date = forms.DateField(
        label=_("End date"),
        required=False,
        widget=_date(),
        help_text=_("At least one year; empty: one year."),
    )

    def __init__(self, *args: Any, teams: QuerySet[Team], resident: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["packages"].queryset = ServicePackage.objects.filter(is_active=True)  # type: ignore[attr-defined]
        if resident:
            for name in ("patient", "start_date", "end_date"):
                del self.fields[name]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason for ending"), max_length=200)


class RenewForm(forms.Form):
    team = forms.ModelChoiceField(
        label=_("Team for the next term"), queryset=Team.objects.none(), required=False
    )
    end_date = forms.DateField(label=_("End date"), required=False, widget=_date())

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]


class VisitForm(forms.Form):
    scheduled_on = forms.DateField(label=_("Scheduled on"), widget=_date())
    purpose = forms.CharField(label=_("Purpose of the visit"), max_length=200)


class BedForm(forms.Form):
    admitted_on = forms.DateField(label=_("Admitted to the home bed on"), widget=_date())
    reason = forms.CharField(label=_("Reason for the home bed"), max_length=200)
