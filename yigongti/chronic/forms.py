"""The national forms' fields as Django forms; the services do the rule checks and their errors
are placed beside the field they name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import Adherence, RiskLevel, Source, VisitMode

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FollowUpForm(forms.Form):
    visit_date = forms.DateField(label=_("follow-up date"), widget=DATE)
    mode = forms.ChoiceField(label=_("follow-up mode"), choices=VisitMode.choices)
    symptoms = forms.CharField(label=_("symptoms"), max_length=300, required=False)
    danger_signs = forms.BooleanField(
        label=_("danger signs"),
        required=False,
        help_text=_(
            "Severe headache, vomiting, chest pain, confusion, breathlessness, ketoacidosis signs ..."
        ),
    )
    sbp = forms.IntegerField(label=_("systolic blood pressure (mmHg)"))
    dbp = forms.IntegerField(label=_("diastolic blood pressure (mmHg)"))
    heart_rate = forms.IntegerField(label=_("heart rate (beats/min)"), required=False)
    weight_kg = forms.DecimalField(label=_("weight (kg)"), required=False, max_digits=6, decimal_places=1)
    height_cm = forms.DecimalField(label=_("height (cm)"), required=False, max_digits=6, decimal_places=1)
    fasting_glucose = forms.DecimalField(
        label=_("fasting glucose (mmol/L)"), required=False, max_digits=6, decimal_places=1
    )
    smoking_per_day = forms.IntegerField(label=_("cigarettes per day"), required=False, min_value=0)
    drinking_per_day = forms.IntegerField(label=_("alcohol per day (liang)"), required=False, min_value=0)
    exercise_per_week = forms.IntegerField(label=_("exercise sessions per week"), required=False, min_value=0)
    salt_intake = forms.ChoiceField(
        label=_("salt intake"),
        required=False,
        choices=[("", "—"), ("light", _("Light")), ("medium", _("Medium")), ("heavy", _("Heavy"))],
    )
    adherence = forms.ChoiceField(label=_("medication adherence"), choices=Adherence.choices)
    adverse_reaction = forms.CharField(label=_("adverse drug reactions"), max_length=200, required=False)
    new_complications = forms.BooleanField(label=_("new complications"), required=False)


class ElderlyForm(forms.Form):
    service_date = forms.DateField(label=_("service date"), widget=DATE)
    self_care_score = forms.IntegerField(
        label=_("self-care score"),
        help_text=_(
            "Self-care assessment: 0-3 independent, 4-8 mild, 9-18 moderate, 19 or more not self-caring."
        ),
    )
    lifestyle = forms.CharField(label=_("lifestyle assessment"), max_length=300, required=False)
    sbp = forms.IntegerField(label=_("systolic blood pressure (mmHg)"))
    dbp = forms.IntegerField(label=_("diastolic blood pressure (mmHg)"))
    weight_kg = forms.DecimalField(label=_("weight (kg)"), required=False, max_digits=6, decimal_places=1)
    fasting_glucose = forms.DecimalField(
        label=_("fasting glucose (mmol/L)"), required=False, max_digits=6, decimal_places=1
    )
    tests = forms.CharField(
        label=_("tests (blood, urine, liver, kidney, lipids, ECG, ultrasound)"),
        max_length=300,
        required=False,
    )
    guidance = forms.CharField(label=_("health guidance"), max_length=300, required=False)


class ScreeningForm(forms.Form):
    screened_on = forms.DateField(label=_("screening date"), widget=DATE)
    sbp = forms.IntegerField(label=_("systolic blood pressure (mmHg)"))
    dbp = forms.IntegerField(label=_("diastolic blood pressure (mmHg)"))
    high_risk = forms.BooleanField(
        label=_("high-risk factors present"),
        required=False,
        help_text=_(
            "Any of: BP 130-139/85-89, overweight or obese, family history, long-term heavy drinking, "
            "smoking, high-salt diet."
        ),
    )


class EnrollForm(forms.Form):
    programme = forms.ChoiceField(
        label=pgettext_lazy("chronic", "programme"),
        choices=[("hypertension", _("Hypertension")), ("diabetes", _("Type 2 diabetes"))],
    )
    diagnosed_on = forms.DateField(label=_("diagnosis date"), widget=DATE)
    source = forms.ChoiceField(label=_("source"), choices=Source.choices)
    risk_level = forms.ChoiceField(label=_("risk level"), choices=RiskLevel.choices)


class CloseForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for closing"),
        max_length=200,
        help_text=_("Moved away, died, the diagnosis revised ..."),
    )
