"""Residents in households, streamed in chunks so that a million of them take flat memory.

Rows are produced by a plain generator (``resident_chunks``) and written chunk by chunk through
``patients.services.residents_bulk_insert`` (COPY on PostgreSQL, households by ``bulk_create``
and residents by one ``executemany`` elsewhere). Only the current chunk, one counter per village
and one per birth date are ever held in memory.
Bulk-inserted residents are not audited one by one: the run writes one summary audit row.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import InvalidInput
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.services import HouseholdRow, ResidentRow, residents_bulk_insert

from . import data
from .people import HEAD, IdAllocator, PeopleFactory, Sampler, age_on

MAX_PER_VILLAGE = 99_999  # five digits of person sequence in the health-record number
RESIDENT_ID_BLOCK = (0, 250)
LOGIN_HEAD_AGE = 42  # the first household is the demo resident's: a middle-aged head


class VillageRef(NamedTuple):
    pk: int
    code: str
    address: str
    weight: float


@dataclass
class ResidentStats:
    households: int = 0
    residents: int = 0
    login_health_record_number: str | None = None


def village_refs(seed: int) -> list[VillageRef]:
    """The village clinics in code order with a settlement weight each (seeded, so repeatable)."""
    rng = random.Random(f"{seed}/villages")
    town_weight = {f"{data.COUNTY_CODE}{t.code}": t.weight / t.villages for t in data.TOWNSHIPS}
    refs = []
    for pk, code, address in (
        Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC, area_code=data.COUNTY_CODE)
        .order_by("code")
        .values_list("pk", "code", "address")
    ):
        weight = town_weight.get(code[:9], 1.0) * (0.5 + rng.random())
        refs.append(VillageRef(pk, code, address, weight))
    return refs


def check_capacity(villages: list[VillageRef], total: int) -> None:
    """Refuse a run whose busiest village would overflow the 5-digit person sequence."""
    if not villages:
        raise InvalidInput(_("There are no village clinics to register residents with."))
    share = max(v.weight for v in villages) / sum(v.weight for v in villages)
    if total * share * 1.1 > MAX_PER_VILLAGE:
        raise InvalidInput(
            _("Too many residents for five-digit person numbers per village."), field="residents"
        )


def resident_chunks(
    villages: list[VillageRef],
    *,
    total: int,
    seed: int,
    as_of: dt.date,
    chunk_size: int = 5000,
    stats: ResidentStats | None = None,
) -> Iterator[tuple[list[HouseholdRow], list[ResidentRow]]]:
    """Yield (households, residents) chunks of about ``chunk_size`` residents, ``total`` in all.

    The first household lives in the first village and its head (when they have an ID number
    and a phone) becomes the demo resident login, recorded in ``stats``.
    """
    check_capacity(villages, total)
    stats = stats if stats is not None else ResidentStats()
    rng = random.Random(f"{seed}/residents")
    factory = PeopleFactory(rng, as_of, IdAllocator(data.COUNTY_CODE, RESIDENT_ID_BLOCK))
    pick_village = Sampler(rng, [v.code for v in villages], [v.weight for v in villages]).index
    household_seq = [0] * len(villages)
    person_seq = [0] * len(villages)
    households: list[HouseholdRow] = []
    residents: list[ResidentRow] = []
    made = 0
    while made < total:
        first = made == 0
        index = 0 if first else pick_village()
        village = villages[index]
        people = factory.household(LOGIN_HEAD_AGE if first else None)[: total - made]
        household_seq[index] += 1
        address = f"{village.address}{1 + int(rng.random() * 12)}组{1 + int(rng.random() * 90)}号"
        households.append(HouseholdRow(f"{village.code}{household_seq[index]:05d}", village.pk, address))
        slot = len(households) - 1
        for person in people:
            person_seq[index] += 1
            if person_seq[index] > MAX_PER_VILLAGE:
                raise InvalidInput(_("Too many residents for five-digit person numbers per village."))
            hrn = f"{village.code}{person_seq[index]:05d}"
            if (
                index == 0
                and stats.login_health_record_number is None
                and person.relation == HEAD
                and person.id_number
                and person.phone
                and 30 <= age_on(person.birth_date, as_of) <= 65
            ):
                stats.login_health_record_number = hrn
            residents.append(
                ResidentRow(
                    slot,
                    hrn,
                    person.id_number,
                    person.name,
                    person.sex,
                    person.birth_date,
                    person.phone,
                    person.relation,
                    village.pk,
                    address,
                )
            )
        made += len(people)
        stats.households += 1
        stats.residents += len(people)
        if len(residents) >= chunk_size:
            yield households, residents
            households, residents = [], []
    if residents:
        yield households, residents


def insert_residents(
    villages: list[VillageRef],
    *,
    total: int,
    seed: int,
    as_of: dt.date,
    chunk_size: int = 5000,
    method: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> ResidentStats:
    """Generate and write ``total`` residents; ``progress`` is called with the count after each chunk."""
    stats = ResidentStats()
    written = 0
    for households, residents in resident_chunks(
        villages, total=total, seed=seed, as_of=as_of, chunk_size=chunk_size, stats=stats
    ):
        written += residents_bulk_insert(households=households, residents=residents, method=method)
        if progress is not None:
            progress(written)
    return stats
