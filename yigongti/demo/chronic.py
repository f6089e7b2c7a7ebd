"""The demo county's chronic disease and the elderly: registries at realistic prevalence, a year
of follow-ups classified by the real rules, elderly services, screenings, and the worklist
rebuilt from the rules at the end (so the village doctor has tasks due this week, overdue and
urgent).

Prevalence among residents aged 35 or over, rising with age (about 15 % hypertension and 5 %
type 2 diabetes managed overall); each patient has a control propensity (about two in three
controlled at a visit); about 65 % of residents aged 65 or over had their annual service. All
rows are inserted set-based (``chronic.bulk``: COPY on PostgreSQL, executemany on SQLite; no
per-row audit); the rebuild writes the one audit row, and ``chronic_changed`` is sent with every
village written.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from yigongti.chronic import bulk, rules
from yigongti.chronic.choices import Adherence, Classification, Programme, VisitMode
from yigongti.chronic.models import ElderlyService, Enrollment, FollowUp, Screening
from yigongti.chronic.services import reference_compute, tasks_rebuild
from yigongti.chronic.signals import send_changed
from yigongti.patients.models import Patient

from .structure import County

#: (minimum age, hypertension, diabetes) managed prevalence by age band.
PREVALENCE = ((65, 0.24, 0.075), (50, 0.16, 0.055), (35, 0.07, 0.025))
ELDERLY_SERVED = 0.65
SCREENED = 0.3
#: The provincial quota as a share of the estimated patients (managed / quota near 110 %).
QUOTA_SHARE = Decimal("0.55")


#: Registry entries closed by the demo's day (moved away, died, the diagnosis revised).
CLOSED_SHARE = 0.04


def _age(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _band(age: int) -> tuple[float, float]:
    for low, ht, dm in PREVALENCE:
        if age >= low:
            return ht, dm
    return 0.0, 0.0


def _reading(rng: random.Random, programme: str, good: bool) -> dict[str, Any]:
    if good:
        sbp, dbp = rng.randint(112, 138), rng.randint(66, 88)
    else:
        sbp, dbp = rng.randint(141, 176), rng.randint(86, 104)
    if rng.random() < 0.015:
        sbp, dbp = rng.randint(180, 200), rng.randint(100, 118)
    data: dict[str, Any] = {"sbp": sbp, "dbp": dbp, "heart_rate": rng.randint(62, 92)}
    if programme == Programme.DIABETES:
        fpg = rng.uniform(5.0, 6.9) if good else rng.uniform(7.1, 12.5)
        if rng.random() < 0.01:
            fpg = rng.choice([rng.uniform(16.8, 20.0), rng.uniform(3.0, 3.8)])
        data["fasting_glucose"] = Decimal(str(round(fpg, 1)))
    return data


def _classify(programme: str, data: dict[str, Any], previous: str | None) -> tuple[str, bool]:
    if programme == Programme.HYPERTENSION:
        c = rules.classify_hypertension(sbp=data["sbp"], dbp=data["dbp"], previous=previous)
        return c, rules.bp_on_target(data["sbp"], data["dbp"])
    fpg = data["fasting_glucose"]
    c = rules.classify_diabetes(fpg=fpg, sbp=data["sbp"], dbp=data["dbp"], previous=previous)
    return c, rules.glucose_on_target(fpg)


def _visits(rng: random.Random, entry: dict[str, Any], as_of: dt.date) -> Iterator[dict[str, Any]]:
    """A year of visits: quarterly when controlled, two weeks after an uncontrolled one; some
    patients stop coming (their task becomes overdue)."""
    good_rate = rng.uniform(0.45, 0.9)
    day = max(entry["enrolled_on"] + dt.timedelta(days=rng.randint(3, 14)), as_of - dt.timedelta(days=365))
    programme = entry["programme"]
    previous: str | None = None
    lapses = rng.random() < 0.12
    weight = Decimal(str(round(rng.uniform(48, 85), 1)))
    height = Decimal(str(rng.randint(150, 178)))
    while day <= as_of:
        data = _reading(rng, programme, rng.random() < good_rate)
        classification, on_target = _classify(programme, data, previous)
        due, _priority = rules.next_task(programme, day, classification)
        yield dict(
            enrollment_id=entry["id"],
            patient_id=entry["patient_id"],
            village_id=entry["village_id"],
            programme=programme,
            visit_date=day,
            mode=rng.choice([VisitMode.CLINIC, VisitMode.CLINIC, VisitMode.HOME, VisitMode.PHONE]),
            weight_kg=weight,
            height_cm=height,
            bmi=(weight / (height / 100) ** 2).quantize(Decimal("0.1")),
            adherence=rng.choice([Adherence.REGULAR] * 4 + [Adherence.INTERMITTENT, Adherence.NONE]),
            smoking_per_day=rng.choice([0, 0, 0, 5, 10]),
            exercise_per_week=rng.randint(0, 7),
            classification=classification,
            on_target=on_target,
            next_due_on=due,
            **data,
        )
        previous = classification
        step = (due - day).days + rng.randint(-3, 10)
        if lapses and rng.random() < 0.35:
            break
        day += dt.timedelta(days=max(step, 7))


def _enrollments(
    rng: random.Random,
    people: list[tuple[int, int, dt.date]],
    as_of: dt.date,
    login: int | None,
    scale: float,
) -> list[dict[str, Any]]:
    rows = []
    for pk, village, born in people:
        age = _age(born, as_of)
        ht, dm = _band(age)
        for programme, p in ((Programme.HYPERTENSION, ht), (Programme.DIABETES, dm)):
            if rng.random() >= p * scale and not (pk == login and programme == Programme.HYPERTENSION):
                continue
            years = min(max(age - 30, 1), 12)
            diagnosed = as_of - dt.timedelta(days=rng.randint(40, 365 * years))
            rows.append(
                {
                    "patient_id": pk,
                    "village_id": village,
                    "programme": programme,
                    "diagnosed_on": diagnosed,
                    "enrolled_on": min(
                        diagnosed + dt.timedelta(days=rng.randint(0, 60)), as_of - dt.timedelta(days=20)
                    ),
                    "source": rng.choice(
                        ["screening", "outpatient", "outpatient", "health_check", "hospital"]
                    ),
                    "risk_level": rng.choice(["low", "medium", "medium", "high", "very_high"]),
                }
            )
    return rows


def generate(
    county: County, *, seed: int, as_of: dt.date, residents: int, scale: float = 1.0
) -> dict[str, int]:
    """``scale`` multiplies the registry prevalence (the benchmark's county has more patients)."""
    rng = random.Random(f"{seed}/chronic")
    cutoff35 = rules.birthday(as_of, -35)
    people: list[tuple[int, int, dt.date]] = [
        (pk, village, born)
        for pk, village, born in Patient.objects.filter(
            birth_date__lte=cutoff35, village__isnull=False, merged_into__isnull=True
        )
        .order_by("pk")
        .values_list("pk", "village_id", "birth_date")
        if born is not None and village is not None
    ]
    # the demo ``resident`` login is linked later to the head of the demo village's first household
    login = (
        Patient.objects.filter(health_record_number=f"{county.demo_village.code}00001")
        .values_list("pk", flat=True)
        .first()
    )
    entries = _enrollments(rng, people, as_of, login, scale)
    for pk, entry in zip(bulk.next_ids(Enrollment, len(entries)), entries, strict=True):
        entry["id"] = pk  # the follow-ups point at their entry
    demo_village = county.demo_village.pk
    urgent_left = 3
    follow_ups: list[dict[str, Any]] = []
    for entry in entries:
        visits = list(_visits(rng, entry, as_of))
        if rng.random() < CLOSED_SHARE and entry["patient_id"] != login:  # moved away, died, …
            first = entry["enrolled_on"] + dt.timedelta(days=30)
            if first < as_of:
                entry["closed_on"] = first + dt.timedelta(days=rng.randint(0, (as_of - first).days))
                entry["is_active"] = False
                visits = [v for v in visits if v["visit_date"] < entry["closed_on"]]
        if visits and entry["village_id"] == demo_village and urgent_left > 0:
            last = visits[-1]
            recent = last["visit_date"] >= as_of - dt.timedelta(days=12)
            if recent and entry["programme"] == Programme.HYPERTENSION:
                # a few urgent findings in the demo village's last fortnight, for the worklist
                last.update(sbp=186, dbp=108, on_target=False, symptoms="头痛、头晕")
                last["classification"] = Classification.URGENT
                last["next_due_on"] = rules.next_task(
                    entry["programme"], last["visit_date"], Classification.URGENT
                )[0]
                urgent_left -= 1
        in_year: dict[int, int] = {}
        for v in visits:
            year = v["visit_date"].year
            in_year[year] = v["visit_in_year"] = in_year.get(year, 0) + 1
        for earlier, later in itertools.pairwise(visits):  # as bulk.link_follow_ups would
            earlier["until"] = later["visit_date"]
        if visits:
            entry["last_visit_date"], entry["last_on_target"] = (
                visits[-1]["visit_date"],
                visits[-1]["on_target"],
            )
        follow_ups.extend(visits)
    bulk.insert(Enrollment, entries, with_id=True)
    bulk.reset_sequence(Enrollment)
    bulk.insert(FollowUp, follow_ups)
    registered = {e["patient_id"] for e in entries if e["programme"] == Programme.HYPERTENSION}
    services: list[dict[str, Any]] = []
    screenings: list[dict[str, Any]] = []
    for pk, village, born in people:
        age = _age(born, as_of)
        if age >= 65 and rng.random() < ELDERLY_SERVED:
            score = rng.choice([0, 0, 0, 1, 2, 3, 5, 7, 10, 20])
            services.append(
                {
                    "patient_id": pk,
                    "village_id": village,
                    "service_date": as_of - dt.timedelta(days=rng.randint(1, 364)),
                    "first_in_year": True,  # one service per resident: the first of its year
                    "self_care_score": score,
                    "self_care_band": rules.self_care_band(score),
                    "lifestyle": rng.choice(["", "吸烟", "少运动", "饮食偏咸"]),
                    "sbp": rng.randint(112, 165),
                    "dbp": rng.randint(66, 96),
                    "tests": "血常规、尿常规、肝功能、肾功能、血脂、心电图、腹部B超",
                    "guidance": rng.choice(["健康指导", "防跌倒指导", "饮食运动指导"]),
                }
            )
        if pk not in registered and rng.random() < SCREENED:
            screenings.append(
                {
                    "patient_id": pk,
                    "village_id": village,
                    "screened_on": as_of - dt.timedelta(days=rng.randint(1, 360)),
                    "sbp": rng.randint(108, 139),
                    "dbp": rng.randint(64, 89),
                    "high_risk": rng.random() < 0.25,
                }
            )
    bulk.insert(ElderlyService, services)
    bulk.insert(Screening, screenings)
    # the indicators' cells of every village written (every month: a year of history)
    send_changed({(v, None) for v in {r["village_id"] for r in (*entries, *services)}})
    open_tasks = tasks_rebuild(today=as_of)
    for year in (as_of.year - 1, as_of.year):
        reference_compute(actor=None, year=year, quota_share=QUOTA_SHARE)
    return {
        "chronic_enrollments": len(entries),
        "chronic_follow_ups": len(follow_ups),
        "elderly_services": len(services),
        "screenings": len(screenings),
        "chronic_open_tasks": open_tasks,
    }
