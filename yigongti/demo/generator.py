"""Builds the whole demo county in one transaction: all of it is there, or none of it.

Institutions, departments, staff, secondments and logins go through the services and are audited
row by row; the residents are bulk-inserted without per-row audit (see ``residents``), and the run
ends with ONE summary audit row, verb ``demo.generate``, holding the counts, the seed and the
reference date. The same seed and reference date give the same county, row for row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.db import transaction

from yigongti.accounts.choices import Role
from yigongti.accounts.services import membership_grant, user_create
from yigongti.core.audit import audit
from yigongti.patients.matching.configs import MIN_RECORDS, config_train
from yigongti.patients.models import Patient
from yigongti.patients.services import patient_link_user

from .duplicates import SHARE, register_duplicates
from .logins import DEMO_PASSWORD
from .residents import ResidentStats, insert_residents, village_refs
from .structure import County, StructureBuilder

#: Each domain's share of the demo, in dependency order. Every module has
#: ``generate(county, *, seed, as_of, residents) -> dict[str, int]`` (the counts it made).
DOMAIN_STEPS = (
    "yigongti.demo.scheduling",
    "yigongti.demo.referrals",
    "yigongti.demo.chronic",  # before family doctors: the registers answer the priority groups
    "yigongti.demo.familydoctor",
    "yigongti.demo.encounters",
    "yigongti.demo.indicators",
)


@dataclass
class GenerationReport:
    seed: int
    as_of: dt.date
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _link_resident_login(county: County, stats: ResidentStats) -> bool:
    """Give the chosen generated resident the ``resident`` login at their village clinic."""
    if stats.login_health_record_number is None:
        return False
    patient = Patient.objects.get(health_record_number=stats.login_health_record_number)
    user = user_create(
        actor=None, username="resident", password=DEMO_PASSWORD, full_name=patient.name, phone=patient.phone
    )
    membership_grant(actor=None, user=user, institution=county.demo_village, role=Role.RESIDENT)
    patient_link_user(actor=None, patient=patient, user=user)
    return True


@transaction.atomic
def generate_county(
    *,
    residents: int,
    seed: int,
    as_of: dt.date,
    chunk_size: int = 5000,
    method: str = "auto",
    progress: Callable[[int], None] | None = None,
    duplicate_share: float = SHARE,
    train: bool = True,
) -> GenerationReport:
    """Build the county into an empty database (the caller checks that it is empty)."""
    report = GenerationReport(seed=seed, as_of=as_of)
    started = time.perf_counter()
    county = StructureBuilder(seed=seed, as_of=as_of).build()
    report.seconds["structure"] = time.perf_counter() - started

    started = time.perf_counter()
    stats = insert_residents(
        village_refs(seed),
        total=residents,
        seed=seed,
        as_of=as_of,
        chunk_size=chunk_size,
        method=method,
        progress=progress,
    )
    report.seconds["residents"] = time.perf_counter() - started

    started = time.perf_counter()
    duplicates = register_duplicates(seed=seed) if duplicate_share else Counter()
    if duplicates and train and residents >= MIN_RECORDS:
        config_train(actor=None)
    report.seconds["registrations"] = time.perf_counter() - started
    counts: dict[str, Any] = dict(county.counts)
    # Before the domains, so that each can give the demo resident something to see.
    if _link_resident_login(county, stats):
        counts["logins"] = counts.get("logins", 0) + 1
    for module in DOMAIN_STEPS:
        started = time.perf_counter()
        counts.update(import_module(module).generate(county, seed=seed, as_of=as_of, residents=residents))
        report.seconds[module.rsplit(".", 1)[1]] = time.perf_counter() - started
    counts["registrations_linked"] = duplicates.get("linked", 0)
    counts["registrations_review"] = duplicates.get("review", 0)
    counts["registrations_new"] = duplicates.get("new", 0)
    counts["households"] = stats.households
    counts["residents"] = stats.residents
    counts["villages"] = len(county.villages)
    counts["townships"] = len(county.townships)
    report.counts = counts
    audit(
        actor=None,
        verb="demo.generate",
        subject=county.consortium,
        after={**counts, "seed": seed, "as_of": as_of.isoformat()},
    )
    return report
