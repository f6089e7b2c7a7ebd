"""Extension points, so that other apps add knowledge without this app importing them.

``PRIORITY_RESOLVERS``: ``callable(patient, on: date) -> Iterable[str]`` of ``PriorityGroup``
codes. The chronic-disease app registers one from its ``AppConfig.ready()`` that answers
``{"hypertension"}`` / ``{"diabetes"}`` for residents on its registers; until then staff tick those
groups on the signing form. Age groups (65 or over, children 0–6) are computed from the birth
date here and cannot be ticked against it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from .choices import PriorityGroup

PriorityResolver = Callable[[Any, dt.date], Iterable[str]]

PRIORITY_RESOLVERS: list[PriorityResolver] = []

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


def priority_groups(patient: Any, on: dt.date, ticked: Iterable[str] = ()) -> list[str]:
    """The resident's groups: by age, from the registered resolvers, and what staff ticked."""
    groups = age_groups(patient.birth_date, on)
    if patient.birth_date is None:
        groups |= {g for g in ticked if g in AGE_GROUPS}
    groups |= {g for g in ticked if g not in AGE_GROUPS}
    for resolver in PRIORITY_RESOLVERS:
        groups |= {str(g) for g in resolver(patient, on)}
    order = [g.value for g in PriorityGroup]
    return [g for g in order if g in groups]
