"""Receivers of other apps' events, connected from ``FamilydoctorConfig.ready()``.

``follow_priority`` listens to ``hooks.priority_changed`` (defined here, sent by the app behind a
priority resolver, e.g. chronic when a register entry opens or closes) and hands it to the
service: a receiver never saves a model itself (house rule 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .services import contract_groups_follow


def follow_priority(
    sender: Any, *, actor: Any, patient_ids: Iterable[int], groups: Iterable[str], cause: str, **kwargs: Any
) -> None:
    contract_groups_follow(actor=actor, patient_ids=patient_ids, groups=groups, cause=cause)
