"""Kinds of institution, their level, departments, professions and titles."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Level(models.TextChoices):
    COUNTY = "county", pgettext_lazy("level", "County")
    TOWNSHIP = "township", pgettext_lazy("level", "Township")
    VILLAGE = "village", pgettext_lazy("level", "Village")
    EXTERNAL = "external", _("Outside the consortium")


class InstitutionKind(models.TextChoices):
    LEAD_HOSPITAL = "lead_hospital", _("Lead hospital")
    TCM_HOSPITAL = "tcm_hospital", _("TCM hospital")
    MATERNAL_CHILD = "maternal_child", _("Maternal and child hospital")
    CHRONIC_DISEASE = "chronic_disease", _("Chronic disease hospital")
    EMERGENCY_CENTRE = "emergency_centre", _("120 emergency centre")
    TOWNSHIP_CENTRE = "township_centre", _("Township health centre")
    VILLAGE_CLINIC = "village_clinic", _("Village clinic")
    HEALTH_BUREAU = "health_bureau", _("County health bureau")
    EXTERNAL_HOSPITAL = "external_hospital", _("External hospital")


COUNTY_KINDS = frozenset(
    {
        InstitutionKind.LEAD_HOSPITAL,
        InstitutionKind.TCM_HOSPITAL,
        InstitutionKind.MATERNAL_CHILD,
        InstitutionKind.CHRONIC_DISEASE,
        InstitutionKind.EMERGENCY_CENTRE,
        InstitutionKind.HEALTH_BUREAU,
    }
)

LEVEL_OF_KIND: dict[str, str] = {
    **dict.fromkeys(COUNTY_KINDS, Level.COUNTY),
    InstitutionKind.TOWNSHIP_CENTRE: Level.TOWNSHIP,
    InstitutionKind.VILLAGE_CLINIC: Level.VILLAGE,
    InstitutionKind.EXTERNAL_HOSPITAL: Level.EXTERNAL,
}

#: The kind a parent must have, per kind of child (None: a root of the tree).
PARENT_KIND: dict[str, frozenset[str] | None] = {
    InstitutionKind.LEAD_HOSPITAL: None,
    InstitutionKind.HEALTH_BUREAU: None,
    InstitutionKind.EXTERNAL_HOSPITAL: None,
    InstitutionKind.TCM_HOSPITAL: frozenset({InstitutionKind.LEAD_HOSPITAL}),
    InstitutionKind.MATERNAL_CHILD: frozenset({InstitutionKind.LEAD_HOSPITAL}),
    InstitutionKind.CHRONIC_DISEASE: frozenset({InstitutionKind.LEAD_HOSPITAL}),
    InstitutionKind.EMERGENCY_CENTRE: frozenset({InstitutionKind.LEAD_HOSPITAL}),
    InstitutionKind.TOWNSHIP_CENTRE: frozenset({InstitutionKind.LEAD_HOSPITAL}),
    InstitutionKind.VILLAGE_CLINIC: frozenset({InstitutionKind.TOWNSHIP_CENTRE}),
}


class ExternalLevel(models.TextChoices):
    PROVINCIAL = "provincial", _("Provincial")
    MUNICIPAL = "municipal", _("Municipal")
    OTHER_COUNTY = "other_county", _("Another county")


class DepartmentCategory(models.TextChoices):
    INTERNAL_MEDICINE = "internal_medicine", _("Internal medicine")
    SURGERY = "surgery", _("Surgery")
    OBSTETRICS = "obstetrics", _("Obstetrics and gynaecology")
    PAEDIATRICS = "paediatrics", _("Paediatrics")
    EMERGENCY = "emergency", _("Emergency")
    ICU = "icu", _("Intensive care")
    TCM = "tcm", _("Traditional Chinese medicine")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
    GENERAL_PRACTICE = "general_practice", _("General practice")
    PUBLIC_HEALTH = "public_health", _("Public health")
    IMAGING = "imaging", _("Imaging")
    LABORATORY = "laboratory", _("Laboratory")
    ECG = "ecg", _("Electrocardiography")
    PATHOLOGY = "pathology", _("Pathology")
    PHARMACY = "pharmacy", _("Pharmacy")
    INFECTIOUS = "infectious", _("Infectious diseases")
    ADMINISTRATION = "administration", _("Administration")


class Profession(models.TextChoices):
    PHYSICIAN = "physician", _("Physician")
    ASSISTANT_PHYSICIAN = "assistant_physician", _("Assistant physician")
    TCM_PHYSICIAN = "tcm_physician", _("TCM physician")
    VILLAGE_DOCTOR = "village_doctor", _("Village doctor")
    NURSE = "nurse", _("Nurse")
    PHARMACIST = "pharmacist", _("Pharmacist")
    TECHNICIAN = "technician", _("Medical technician")
    PUBLIC_HEALTH = "public_health", _("Public health worker")
    DISPATCHER = "dispatcher", _("Dispatcher")
    MANAGEMENT = "management", _("Manager")


class Title(models.TextChoices):
    NONE = "none", _("No title")
    JUNIOR = "junior", _("Junior")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ASSOCIATE_SENIOR = "associate_senior", _("Associate senior")
    SENIOR = "senior", _("Senior")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
