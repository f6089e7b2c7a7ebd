"""Statuses and kinds of the appointments domain, and the one table of legal booking moves."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SessionKind(models.TextChoices):
    REGULAR = "regular", _("Regular clinic")
    SPECIALIST = "specialist", _("Visiting county specialist")


class SessionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("session", "Open")
    CANCELLED = "cancelled", pgettext_lazy("session", "Cancelled")


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", pgettext_lazy("booking", "Cancelled")
    RESCHEDULED = "rescheduled", _("Rescheduled")


#: The statuses that hold a place in the slot.
HOLDS_PLACE = frozenset({BookingStatus.BOOKED, BookingStatus.CHECKED_IN})

#: Legal moves: a booking is booked until the patient arrives (checked in), fails to come (no-show),
#: or it is cancelled or moved to another slot (rescheduled). The four ends are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.BOOKED: frozenset(
        {BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW, BookingStatus.CANCELLED, BookingStatus.RESCHEDULED}
    ),
    BookingStatus.CHECKED_IN: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.RESCHEDULED: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
