"""``chronic_changed``: sent inside the writing transaction with the (institution id, first day
of month or None) cells a write touched, so that the indicators app can keep its aggregate cells
current without importing ``chronic`` (it connects a receiver; see docs/chronic.md)."""

from __future__ import annotations

import datetime as dt

from django.dispatch import Signal

chronic_changed = Signal()


def send_changed(keys: set[tuple[int, dt.date | None]]) -> None:
    if keys:
        chronic_changed.send(sender="chronic", keys=keys)
