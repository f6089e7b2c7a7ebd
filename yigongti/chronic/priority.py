"""The family-doctor priority groups that the chronic registers answer.

Registered into ``familydoctor.hooks.PRIORITY_RESOLVERS`` from ``ChronicConfig.ready()``: a
resident on the active hypertension or type 2 diabetes register, diagnosed on or before the day
asked about, belongs to that priority group when a contract is signed or renewed.

``tell_family_doctors`` is connected to ``signals.registry_changed`` from the same ``ready()``:
when an entry opens or closes it sends ``familydoctor.hooks.priority_changed`` (inside the
writing transaction), and the resident's open contract follows the register. The import points
one way (chronic → familydoctor.hooks); familydoctor never imports chronic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from yigongti.familydoctor import hooks

from .choices import REGISTRIES
from .models import Enrollment


def registry_groups(patient: Any, on: dt.date) -> set[str]:
    """``{"hypertension"}``, ``{"diabetes"}``, both or neither (the group codes equal the
    programme codes)."""
    if getattr(patient, "pk", None) is None:
        return set()
    return set(
        Enrollment.objects.filter(
            patient_id=patient.pk, programme__in=REGISTRIES, is_active=True, diagnosed_on__lte=on
        ).values_list("programme", flat=True)
    )


def tell_family_doctors(
    sender: Any,
    *,
    actor: Any,
    patient_ids: Iterable[int],
    programmes: Iterable[str],
    cause: str,
    **kwargs: Any,
) -> None:
    """The group codes equal the programme codes (only the registers' programmes are passed on)."""
    groups = [p for p in programmes if p in REGISTRIES]
    hooks.send_priority_changed(actor=actor, patient_ids=patient_ids, groups=groups, cause=cause)
