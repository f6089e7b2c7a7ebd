"""The residents list's search form and the registration desk's form. Village choices come
from the caller (its scope, or the consortium's village clinics for registration)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.institutions.models import Institution

from .matching.services import Entry


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


# --- master patient index: the registration desk ---------------------------------------------


class RegistrationForm(forms.Form):
    """A registration as the desk types it. The form only parses; ``registration_create``
    validates (name, dates, ID number, village) and its errors are shown beside these fields.

    The field names are the service's (``village_code`` included), so a domain error's field
    lands on the right control without a mapping.
    """

    name = forms.CharField(
        label=_("Name"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        required=False,
        choices=[("M", _("Male")), ("F", _("Female")), ("", _("Unknown"))],
        initial="",
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "18 characters, or 15 for an old number. A wrong check character is flagged, not refused."
        ),
    )
    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=20, widget=forms.TextInput(attrs={"type": "tel"})
    )
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=200,
        help_text=_("The village named in the address decides the village clinic when none is chosen."),
    )
    village_code = forms.ChoiceField(label=_("Village clinic of residence"), required=False, choices=())
    local_number = forms.CharField(
        label=_("Local record number"),
        required=False,
        max_length=40,
        help_text=_(
            "Your institution's own number (outpatient or filing number). Registering it again is safe."
        ),
    )
    health_card_number = forms.CharField(label=_("Health card number"), required=False, max_length=32)
    insurance_number = forms.CharField(label=_("Medical insurance number"), required=False, max_length=32)
    #: One key per rendered form: without a local number, a second click on "register" (or a
    #: resent POST) finds the first registration instead of filing the same person twice.
    submission = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, villages: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["submission"].initial = uuid.uuid4().hex
        self.fields["village_code"].choices = [("", _("Not chosen (from the address)")), *villages]  # type: ignore[attr-defined]

    def entry(self) -> Entry:
        """The service's ``Entry`` from the cleaned data (the form must be valid)."""
        data = self.cleaned_data
        return Entry(
            name=data["name"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            id_number=data["id_number"],
            phone=data["phone"],
            address=data["address"],
            village_code=data["village_code"],
            local_number=data["local_number"].strip()
            or (f"desk-{data['submission']}" if data["submission"] else ""),
            health_card_number=data["health_card_number"],
            insurance_number=data["insurance_number"],
        )


def village_choices(villages: QuerySet[Institution]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Village clinics grouped by their township centre, for a ``<select>`` with optgroups."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for v in villages.select_related("parent").order_by("parent__code", "code"):
        township = (v.parent.township_name or v.parent.name) if v.parent else ""
        groups.setdefault(township, []).append((v.code, v.short_name or v.name))
    return list(groups.items())
