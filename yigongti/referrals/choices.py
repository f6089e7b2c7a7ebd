"""Directions, statuses, urgencies and the legal transitions of a referral."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Direction(models.TextChoices):
    UPWARD = "upward", _("Upward")
    DOWNWARD = "downward", _("Downward")
    LATERAL = "lateral", _("Lateral")
    OUT_OF_COUNTY = "out_of_county", _("Out of county")


class ReasonDirection(models.TextChoices):
    """Which referrals a coded reason (criterion) may be given for."""

    UPWARD = "upward", _("Upward, lateral and out of county")
    DOWNWARD = "downward", _("Downward")


class Status(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("referral", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("referral", "Submitted")
    ACCEPTED = "accepted", pgettext_lazy("referral", "Accepted")
    REJECTED = "rejected", pgettext_lazy("referral", "Rejected")
    REDIRECTED = "redirected", pgettext_lazy("referral", "Redirected")
    ARRIVED = "arrived", pgettext_lazy("referral", "Arrived")
    IN_CARE = "in_care", pgettext_lazy("referral", "In care")
    COMPLETED = "completed", pgettext_lazy("referral", "Completed")
    FOLLOWED_UP = "followed_up", pgettext_lazy("referral", "Followed up")
    CANCELLED = "cancelled", pgettext_lazy("referral", "Cancelled")


#: The state machine: every legal move. Anything else answers 409.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.CANCELLED}),
    Status.SUBMITTED: frozenset({Status.ACCEPTED, Status.REJECTED, Status.REDIRECTED, Status.CANCELLED}),
    Status.REDIRECTED: frozenset({Status.ACCEPTED, Status.REJECTED, Status.REDIRECTED, Status.CANCELLED}),
    Status.ACCEPTED: frozenset({Status.ARRIVED, Status.CANCELLED}),
    Status.ARRIVED: frozenset({Status.IN_CARE, Status.CANCELLED}),
    Status.IN_CARE: frozenset({Status.COMPLETED, Status.CANCELLED}),
    Status.COMPLETED: frozenset({Status.FOLLOWED_UP, Status.CANCELLED}),
    Status.REJECTED: frozenset(),
    Status.FOLLOWED_UP: frozenset(),
    Status.CANCELLED: frozenset(),
}

FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
#: Waiting for the receiver's answer: these count against the acceptance deadline.
AWAITING = frozenset({Status.SUBMITTED, Status.REDIRECTED})
#: The patient has been received: arrived, in care or beyond.
RECEIVED = frozenset({Status.ARRIVED, Status.IN_CARE, Status.COMPLETED, Status.FOLLOWED_UP})

#: Where the department and doctor may still be (re)assigned.
ASSIGNABLE = frozenset({Status.SUBMITTED, Status.REDIRECTED, Status.ACCEPTED, Status.ARRIVED, Status.IN_CARE})


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", pgettext_lazy("urgency", "Emergency")
    URGENT = "urgent", _("Urgent")
    ROUTINE = "routine", _("Routine")


class CareMode(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient")
    ADMITTED = "admitted", _("Admitted")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task", "Open")
    DONE = "done", pgettext_lazy("task", "Done")
    CANCELLED = "cancelled", pgettext_lazy("task", "Cancelled")


class AlertKind(models.TextChoices):
    GREEN_CHANNEL = "green_channel", _("Green channel")
    URGENT = "urgent", _("Urgent referral")
    REDIRECTED = "redirected", _("Redirected to you")
