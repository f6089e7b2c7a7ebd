"""Statuses, kinds and roles of the family-doctor app, and the contract state machine."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TeamRole(models.TextChoices):
    FAMILY_DOCTOR = "family_doctor", _("Family doctor")
    NURSE = "nurse", _("Nurse")
    PUBLIC_HEALTH = "public_health", _("Public health worker")
    SPECIALIST = "specialist", _("County specialist")
    PHARMACIST = "pharmacist", _("Pharmacist")


class PackageKind(models.TextChoices):
    BASIC = "basic", _("Basic package")
    PERSONALISED = "personalised", _("Personalised package")


class PriorityGroup(models.TextChoices):
    ELDERLY = "elderly", _("Aged 65 or over")
    HYPERTENSION = "hypertension", _("Hypertension")
    DIABETES = "diabetes", _("Type 2 diabetes")
    PREGNANT = "pregnant", _("Pregnant woman")
    CHILD = "child", _("Child aged 0 to 6")
    DISABLED = "disabled", _("Disabled")
    POOR = "poor", _("Poor household")
    MENTAL = "mental", _("Severe mental illness")
    TUBERCULOSIS = "tuberculosis", _("Tuberculosis")


class Channel(models.TextChoices):
    CLINIC = "clinic", _("Signed at the clinic")
    ONLINE = "online", _("Applied online")


class ContractStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting confirmation")
    ACTIVE = "active", _("Active")
    RENEWED = "renewed", _("Renewed")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")
    CANCELLED = "cancelled", _("Cancelled")


#: A resident holds at most one contract in these statuses (the database enforces it too).
OPEN_STATUSES = (ContractStatus.PENDING, ContractStatus.ACTIVE)

_MOVES: dict[str, frozenset[str]] = {
    ContractStatus.PENDING: frozenset({ContractStatus.ACTIVE, ContractStatus.CANCELLED}),
    ContractStatus.ACTIVE: frozenset(
        {ContractStatus.RENEWED, ContractStatus.EXPIRED, ContractStatus.TERMINATED}
    ),
}


def can_move(current: str, new: str) -> bool:
    """The one place that says which contract transitions are legal."""
    return new in _MOVES.get(current, frozenset())


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Due")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")


class BedStatus(models.TextChoices):
    OPEN = "open", _("In bed")
    DISCHARGED = "discharged", _("Discharged")
