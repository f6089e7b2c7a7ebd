"""``residents_changed``: sent inside the writing transaction by the bulk paths that write
residents without model saves (``services.residents_bulk_insert``, the import writer), and by a
merge and its undo (what other apps count per resident, such as a family-doctor contract, stops
or starts counting with the merged record), with the (village clinic id, None) cells they touched,
so that the indicators app can keep its counts current without this app importing it. Other
single-resident writes go through ``save()`` and are followed by the model signals instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.dispatch import Signal

residents_changed = Signal()


def send_changed(villages: Iterable[int | None]) -> None:
    keys: set[tuple[int | None, dt.date | None]] = {(v, None) for v in villages}
    if keys:
        residents_changed.send(sender="patients", keys=keys)
