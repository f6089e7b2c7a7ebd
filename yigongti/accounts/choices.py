"""Roles a user can hold at an institution."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    CONSORTIUM_OFFICE = "consortium_office", _("Consortium office")
    HEALTH_BUREAU = "health_bureau", _("County health bureau")
    COUNTY_DOCTOR = "county_doctor", _("County doctor")
    TOWNSHIP_DOCTOR = "township_doctor", _("Township doctor")
    VILLAGE_DOCTOR = "village_doctor", pgettext_lazy("role", "Village doctor")
    NURSE = "nurse", _("Nurse")
    PHARMACIST = "pharmacist", _("Pharmacist")
    DISPATCHER = "dispatcher", _("Dispatcher")
    RESIDENT = "resident", _("Resident")


#: Roles that only read: the bureau oversees, it does not run the consortium.
READ_ONLY_ROLES = frozenset({Role.HEALTH_BUREAU, Role.RESIDENT})


def _role_kinds() -> dict[str, frozenset[str]]:
    from yigongti.institutions.choices import InstitutionKind as K

    county_hospitals = frozenset({K.LEAD_HOSPITAL, K.TCM_HOSPITAL, K.MATERNAL_CHILD, K.CHRONIC_DISEASE})
    members = county_hospitals | {K.TOWNSHIP_CENTRE, K.VILLAGE_CLINIC, K.EMERGENCY_CENTRE}
    return {
        Role.CONSORTIUM_OFFICE: frozenset({K.LEAD_HOSPITAL}),
        Role.HEALTH_BUREAU: frozenset({K.HEALTH_BUREAU}),
        Role.COUNTY_DOCTOR: county_hospitals | {K.EMERGENCY_CENTRE},
        Role.TOWNSHIP_DOCTOR: frozenset({K.TOWNSHIP_CENTRE}),
        Role.VILLAGE_DOCTOR: frozenset({K.VILLAGE_CLINIC}),
        Role.NURSE: frozenset(members),
        Role.PHARMACIST: county_hospitals | {K.TOWNSHIP_CENTRE},
        Role.DISPATCHER: frozenset({K.EMERGENCY_CENTRE, K.LEAD_HOSPITAL}),
        Role.RESIDENT: frozenset({K.VILLAGE_CLINIC}),
    }


#: Which institution kinds each role may be held at (a village doctor only at a village clinic...).
ROLE_INSTITUTION_KINDS: dict[str, frozenset[str]] = _role_kinds()
