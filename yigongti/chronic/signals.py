"""``chronic_changed``: sent inside the writing transaction with the (institution id, first day
of month or None) cells a write touched, so that the indicators app can keep its aggregate cells
current without importing ``chronic`` (it connects a receiver; see docs/chronic.md).

``registry_changed``: sent inside the writing transaction when register entries open or close,
with ``actor``, ``patient_ids``, ``programmes`` and ``cause`` (the audit verb).
``ChronicConfig.ready()`` connects ``priority.tell_family_doctors``, which passes it on as
``familydoctor.hooks.priority_changed`` so the residents' open contracts follow the registers;
the services themselves import nothing of familydoctor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.dispatch import Signal

chronic_changed = Signal()

#: kwargs: actor, patient_ids (list of int), programmes (list of codes), cause (str)
registry_changed = Signal()


def send_changed(keys: set[tuple[int, dt.date | None]]) -> None:
    if keys:
        chronic_changed.send(sender="chronic", keys=keys)


def send_registry_changed(
    *, actor: Any, patient_ids: Iterable[int], programmes: Iterable[str], cause: str
) -> None:
    ids = sorted(set(patient_ids))
    if ids:
        registry_changed.send(
            sender="chronic", actor=actor, patient_ids=ids, programmes=sorted(set(programmes)), cause=cause
        )
