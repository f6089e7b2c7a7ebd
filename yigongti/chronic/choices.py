"""Programmes, classifications, task kinds and the task state machine."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Programme(models.TextChoices):
    HYPERTENSION = "hypertension", _("Hypertension")
    DIABETES = "diabetes", _("Type 2 diabetes")
    ELDERLY = "elderly", _("Elderly health service")
    SCREENING = "screening", _("Blood-pressure screening")


#: The two disease registries (the others are not registries but services).
REGISTRIES = (Programme.HYPERTENSION, Programme.DIABETES)


class Source(models.TextChoices):
    SCREENING = "screening", _("Screening")
    OUTPATIENT = "outpatient", _("Outpatient visit")
    HEALTH_CHECK = "health_check", _("Health check")
    HOSPITAL = "hospital", _("Hospital discharge")
    OTHER = "other", _("Other")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")
    VERY_HIGH = "very_high", _("Very high risk")


class Classification(models.TextChoices):
    """The national forms' 此次随访分类, with referral split out as the standard's actions differ."""

    CONTROLLED = "controlled", _("Controlled")
    UNCONTROLLED = "uncontrolled", _("Uncontrolled")
    REFER = "refer", _("Uncontrolled twice or new complications: refer")
    URGENT = "urgent", _("Urgent referral")


class VisitMode(models.TextChoices):
    CLINIC = "clinic", pgettext_lazy("chronic", "Clinic")
    HOME = "home", pgettext_lazy("chronic", "Home visit")
    PHONE = "phone", pgettext_lazy("chronic", "Phone")


class Adherence(models.TextChoices):
    REGULAR = "regular", pgettext_lazy("chronic", "Regular")
    INTERMITTENT = "intermittent", pgettext_lazy("chronic", "Intermittent")
    NONE = "none", pgettext_lazy("chronic", "Not taking medication")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    ROUTINE = "routine", _("Routine")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("chronic task", "Open")
    DONE = "done", pgettext_lazy("chronic task", "Done")
    CANCELLED = "cancelled", pgettext_lazy("chronic task", "Cancelled")


#: The task state machine: an open task is done by its record, or cancelled by a rebuild.
TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


def can_move(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


class SelfCareBand(models.TextChoices):
    """老年人生活自理能力评估: 0–3 / 4–8 / 9–18 / ≥ 19."""

    INDEPENDENT = "independent", _("Independent (0-3)")
    MILD = "mild", _("Mildly dependent (4-8)")
    MODERATE = "moderate", _("Moderately dependent (9-18)")
    SEVERE = "severe", _("Not self-caring (19 or more)")
