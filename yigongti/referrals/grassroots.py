"""Who is the patient's grassroots doctor, and who else may see a patient's referrals.

Family-doctor contracts do not exist yet. Other apps plug in without referrals importing them:
in their ``AppConfig.ready()`` they append to

- ``GRASSROOTS_RESOLVERS``: ``callable(patient) -> (Institution, Staff | None) | None``; the first
  answer wins (the family-doctor app will answer with the contracted team's clinic and doctor);
- ``VISIBILITY_EXTENSIONS``: ``callable(scope) -> Q | None`` over ``Referral`` rows, e.g. "the
  referrals of the patients whose family doctor I am".

Today the fallback is the village clinic of residence, with no named doctor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q

from yigongti.core.access import Scope
from yigongti.institutions.models import Institution, Staff

Resolver = Callable[[Any], "tuple[Institution, Staff | None] | None"]
Visibility = Callable[[Scope], "Q | None"]

GRASSROOTS_RESOLVERS: list[Resolver] = []
VISIBILITY_EXTENSIONS: list[Visibility] = []


def responsible_grassroots(patient: Any) -> tuple[Institution | None, Staff | None]:
    """The patient's grassroots doctor: a registered resolver's answer, else the clinic of residence."""
    for resolver in GRASSROOTS_RESOLVERS:
        found = resolver(patient)
        if found is not None:
            return found
    return (patient.village, None) if patient.village_id else (None, None)


def extra_visibility(scope: Scope) -> Q | None:
    """The union of what the registered extensions let ``scope`` see (None: nothing more)."""
    combined: Q | None = None
    for extension in VISIBILITY_EXTENSIONS:
        condition = extension(scope)
        if condition is not None:
            combined = condition if combined is None else combined | condition
    return combined
