"""Kinds of encounter and where a row came from."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EncounterKind(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient")
    EMERGENCY = "emergency", _("Emergency visit")
    INPATIENT = "inpatient", _("Inpatient")
    HOME_VISIT = "home_visit", _("Home visit")
    ONLINE = "online", _("Online consultation")
    AI_CONSULTATION = "ai_consultation", _("AI pre-consultation")


#: Visits counted as outpatient and emergency visits (the grassroots-share indicator's denominator).
VISIT_KINDS = frozenset({EncounterKind.OUTPATIENT, EncounterKind.EMERGENCY})
#: Kinds that happen without the patient in the building: no department or bed.
REMOTE_KINDS = frozenset({EncounterKind.ONLINE, EncounterKind.AI_CONSULTATION})


class EncounterSource(models.TextChoices):
    DEMO = "demo", _("Demo data")
    MANUAL = "manual", _("Recorded by staff")
    CSV = "csv", _("CSV import")
    FHIR = "fhir", _("FHIR")
    HL7 = "hl7", _("HL7 v2")
    INSURANCE = "insurance", _("Insurance settlement")
