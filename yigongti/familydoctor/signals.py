"""``familydoctor_changed``: sent inside the writing transaction with the (institution id, first
day of month or None) cells a write touched, for every source of ``indicator_sources`` (contracts,
tasks, home visits), so that the indicators app keeps its aggregate cells current without
importing ``familydoctor`` (it connects a receiver). A key names every institution a row is
attributed to: the resident's village clinic and the team's home institution."""

from __future__ import annotations

import datetime as dt

from django.dispatch import Signal

familydoctor_changed = Signal()


def send_changed(keys: set[tuple[int, dt.date | None]]) -> None:
    if keys:
        familydoctor_changed.send(sender="familydoctor", keys=keys)
