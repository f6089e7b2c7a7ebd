"""``encounters_changed``: sent by every write path of encounters, inside the writing transaction.

Receivers get ``keys``: a ``set`` of ``(institution_id or None, first day of the month of
started_at)`` for every row written (for an update, the old and the new key). The indicators app
keeps its monthly aggregates in step with it; because it runs inside the transaction, a receiver's
error rolls the write back and nothing is half-counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.dispatch import Signal

encounters_changed = Signal()

Key = tuple[int | None, dt.date]


def month_key(institution_id: int | None, started_at: dt.datetime | dt.date) -> Key:
    """The aggregate key of one encounter (the month in the county's local time)."""
    from django.utils import timezone

    if isinstance(started_at, dt.datetime):
        started_at = timezone.localtime(started_at).date()
    return (institution_id, started_at.replace(day=1))


def send_changed(keys: Iterable[Key]) -> None:
    """Send ``encounters_changed`` once for a write (nothing when nothing was written)."""
    from .models import Encounter

    keys = set(keys)
    if keys:
        encounters_changed.send(sender=Encounter, keys=keys)
