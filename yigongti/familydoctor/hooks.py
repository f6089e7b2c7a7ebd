"""Extension points, so that other apps add knowledge without this app importing them.

``PRIORITY_RESOLVERS``: ``callable(patient, on: date) -> Iterable[str]`` of ``PriorityGroup``
codes. The chronic-disease app registers one from its ``AppConfig.ready()`` that answers
``{"hypertension"}`` / ``{"diabetes"}`` for residents on its registers; until then staff tick those
groups on the signing form. Age groups (65 or over, children 0–6) are computed from the birth
date here and cannot be ticked against it.

``priority_changed``: a signal the app behind a resolver sends, inside its writing transaction,
when its answer for some residents may have changed (the chronic app: a register entry opened or
closed). Keyword arguments: ``actor`` (the user who wrote, or None), ``patient_ids``, ``groups``
(the group codes that app answers for, e.g. ``{"hypertension"}``) and ``cause`` (the sender's
audit verb). This app connects ``receivers.follow_priority`` from its ``AppConfig.ready()``: the
open contract's groups among ``groups`` are answered again (``services.contract_groups_follow``),
audited and sent to the indicators in the same transaction, so the group coverage numerators move
with the registers' denominators. The sender imports only this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.dispatch import Signal

from .choices import PriorityGroup

PriorityResolver = Callable[[Any, dt.date], Iterable[str]]

PRIORITY_RESOLVERS: list[PriorityResolver] = []

#: kwargs: actor, patient_ids (iterable of int), groups (iterable of codes), cause (str)
priority_changed = Signal()

AGE_GROUPS = frozenset({PriorityGroup.ELDERLY, PriorityGroup.CHILD})


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_groups(birth: dt.date | None, on: dt.date) -> set[str]:
    if birth is None:
        return set()
    age = age_on(birth, on)
    groups: set[str] = set()
    if age >= 65:
        groups.add(PriorityGroup.ELDERLY.value)
    if 0 <= age <= 6:
        groups.add(PriorityGroup.CHILD.value)
    return groups


def resolved_groups(patient: Any, on: dt.date) -> set[str]:
    """What the registered resolvers answer for the resident on ``on`` (no age, nothing ticked)."""
    groups: set[str] = set()
    for resolver in PRIORITY_RESOLVERS:
        groups |= {str(g) for g in resolver(patient, on)}
    return groups


def send_priority_changed(
    *, actor: Any, patient_ids: Iterable[int], groups: Iterable[str], cause: str
) -> None:
    """For the app behind a resolver: call inside the transaction that changed its answer."""
    ids, codes = sorted(set(patient_ids)), sorted(set(groups))
    if ids and codes:
        priority_changed.send(sender=cause, actor=actor, patient_ids=ids, groups=codes, cause=cause)


def priority_groups(patient: Any, on: dt.date, ticked: Iterable[str] = ()) -> list[str]:
    """The resident's groups: by age, from the registered resolvers, and what staff ticked."""
    groups = age_groups(patient.birth_date, on)
    if patient.birth_date is None:
        groups |= {g for g in ticked if g in AGE_GROUPS}
    groups |= {g for g in ticked if g not in AGE_GROUPS}
    groups |= resolved_groups(patient, on)
    order = [g.value for g in PriorityGroup]
    return [g for g in order if g in groups]
