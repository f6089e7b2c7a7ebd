"""``registrations_create_many`` decides and writes exactly what ``registration_create`` called for
each entry in turn would: random batches (the same people again, traditional characters, shared
names and birthdays, mistyped and 15-digit ID numbers, shared phones, villages from addresses,
repeated local numbers) are registered both ways, each inside a transaction rolled back after
its snapshot, and every decision, resident, registration, review and audit row is compared with
the residents' ids put in order of first appearance."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import transaction

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.core.testing import build_small_county
from yigongti.patients.matching.many import EntryRejected, registrations_create_many
from yigongti.patients.matching.services import Entry, registration_create
from yigongti.patients.models import MatchReview, Patient, PatientNameKey, Registration

pytestmark = pytest.mark.django_db

SURNAMES = "王李张刘陈"
GIVEN = ["伟", "芳", "秀英", "志强", "桂兰"]


class _Rollback(Exception):
    pass


def _people(rng: random.Random, n: int) -> list[dict[str, Any]]:
    people = []
    for i in range(n):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 3 * 365))  # shared birthdays
        people.append(
            {
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "sex": rng.choice("MF"),
                "birth": birth,
                "id": idnumbers.build("441823", birth, 2 * i + 1),
                "phone": f"1380000{rng.randrange(0, 40):04d}",
            }
        )
    return people


def _entry(rng: random.Random, person: dict[str, Any], local: str, village: Any) -> Entry:
    name, number = person["name"], person["id"]
    roll = rng.random()
    if roll < 0.15:
        number = ""
    elif roll < 0.25:
        number = number[:6] + number[8:17]  # the 15-digit form
    elif roll < 0.32:
        number = number[:17] + ("0" if number[17] != "0" else "1")  # a wrong check character
    if rng.random() < 0.1:
        name = name.replace("刘", "劉").replace("陈", "陳").replace("张", "張")
    return Entry(
        name=name,
        sex=person["sex"] if rng.random() > 0.1 else "",
        birth_date=person["birth"] if rng.random() > 0.1 else None,
        id_number=number,
        phone=person["phone"] if rng.random() > 0.3 else "",
        address=village.address if village is not None and rng.random() < 0.4 else "",
        local_number=local,
    )


def _batch(county: Any, seed: int, n: int = 60) -> tuple[list[Entry], list[Entry]]:
    """Entries already on file, then the batch: some people come again (also within the batch),
    some local numbers are sent again with the same details."""
    rng = random.Random(seed)
    people = _people(rng, 25)
    villages = [county.village, county.other_village, None]
    before = [_entry(rng, p, f"OLD{i}", rng.choice(villages)) for i, p in enumerate(people[:10])]
    batch: list[Entry] = []
    for i in range(n):
        if batch and rng.random() < 0.08:
            batch.append(rng.choice(batch))  # the same registration again: unchanged
            continue
        if rng.random() < 0.05:
            batch.append(before[rng.randrange(len(before))])
            continue
        batch.append(_entry(rng, rng.choice(people), f"NEW{i}", rng.choice(villages)))
    return before, batch


def _snapshot(results: list[Any], since: int) -> dict[str, Any]:
    order: dict[int, int] = {}

    def canon(pid: int | None) -> int | None:
        if pid is None:
            return None
        return order.setdefault(pid, len(order))

    outcome = [(r.decision, r.created, canon(r.patient.pk)) for r in results]
    patients = {
        canon(p.pk): (p.name, p.sex, p.birth_date, p.id_number, p.phone, p.village_id, p.address,
                      p.health_record_number, canon(p.merged_into_id))
        for p in Patient.objects.order_by("pk")
    }  # fmt: skip
    registrations = sorted(
        (
            r.local_number, canon(r.patient_id), r.name, r.sex, r.birth_date, r.id_number,
            r.id_number_entered, r.id_problem, r.phone, r.address, r.village_id, r.decision, r.probability,
            r.id_tail, r.name_key, r.birth_key, r.config_id,
            [(canon(c["patient_id"]), c["weight"], c["probability"]) for c in r.explanation["candidates"]],
        )
        for r in Registration.objects.all()
    )  # fmt: skip
    reviews = sorted(
        (canon(m.patient_id), canon(m.candidate_id), m.probability, m.registration.local_number)
        for m in MatchReview.objects.select_related("registration")
    )
    keys = sorted((canon(k.patient_id), k.kind, k.key) for k in PatientNameKey.objects.all())
    audits = [
        (
            a.verb,
            canon(int(a.object_id)),
            {k: v for k, v in (a.after or {}).items() if k != "registration_id"},
        )
        for a in AuditEvent.objects.filter(seq__gt=since, verb="patient.register").order_by("seq")
    ]
    return {"outcome": outcome, "patients": patients, "registrations": registrations, "reviews": reviews,
            "keys": keys, "audits": audits}  # fmt: skip


def _both_ways(county: Any, before: list[Entry], batch: list[Entry]) -> tuple[dict[str, Any], dict[str, Any]]:
    actor, lead = county.users[Role.COUNTY_DOCTOR], county.lead
    for entry in before:
        registration_create(
            actor=county.users[Role.TOWNSHIP_DOCTOR], institution=county.township, entry=entry
        )
    since = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    snapshots = []
    for one_by_one in (True, False):
        try:
            with transaction.atomic():
                if one_by_one:
                    results = [registration_create(actor=actor, institution=lead, entry=e) for e in batch]
                else:
                    results = registrations_create_many(actor=actor, institution=lead, entries=batch)
                snapshots.append(_snapshot(results, since))
                raise _Rollback
        except _Rollback:
            pass
    return snapshots[0], snapshots[1]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_batch_is_registered_exactly_as_one_entry_after_another(seed: int) -> None:
    county = build_small_county()
    before, batch = _batch(county, seed)
    one_by_one, at_once = _both_ways(county, before, batch)
    for part in one_by_one:
        assert at_once[part] == one_by_one[part], part
    decisions = {d for d, _c, _p in one_by_one["outcome"]}
    assert {"new", "linked"} <= decisions  # the batch went through both ways of deciding
    assert any(not created for _d, created, _p in one_by_one["outcome"])


def test_a_refused_entry_names_its_place_and_nothing_is_written() -> None:
    county = build_small_county()
    actor = county.users[Role.COUNTY_DOCTOR]
    good = Entry(name="王伟", sex="M", birth_date=dt.date(1960, 1, 1), local_number="A1")
    patients = Patient.objects.count()
    with pytest.raises(EntryRejected) as refused:
        registrations_create_many(
            actor=actor, institution=county.lead, entries=[good, Entry(name="   ", local_number="A2")]
        )
    assert refused.value.index == 1 and isinstance(refused.value.error, InvalidInput)
    clash = Entry(name="王伟", sex="F", birth_date=dt.date(1961, 1, 1), local_number="A1")
    with pytest.raises(EntryRejected) as conflict:
        registrations_create_many(actor=actor, institution=county.lead, entries=[good, clash])
    assert conflict.value.index == 1 and isinstance(conflict.value.error, Conflict)
    assert Patient.objects.count() == patients and not Registration.objects.filter(local_number="A1").exists()
