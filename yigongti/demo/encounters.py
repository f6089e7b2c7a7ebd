"""The demo county's encounters: the twelve months before the reference date, all kinds, and the
twelve months before those with inpatient stays only (the year-on-year cost per inpatient).

Volumes are per resident, so the shares land near the seed reports' figures at any size
(about 6.2 encounters per resident a year: 20 k residents give ~125 k rows, 400 k give ~2.5 M):

- grassroots (township + village) share of outpatient and emergency visits ≈ 65–68 %
  (Yangshan 67.1 %, target 65 %); about 5.5 % of visits and 8.2 % of admissions are outside the
  county (in-county admissions ≈ 91.8 %, Zixing 91.78 %);
- TCM in ≈ 47 % of grassroots visits (Yangshan; the national target is 24.4 %);
- online consultations and AI pre-consultations ≈ 3.7 % of encounters;
- out-of-pocket ≈ 30 % of spending; cost per inpatient ≈ −2.5 % on the year before (Zixing −2.48 %);
- bed use: admissions are ~0.165 per resident a year with realistic stays, so the beds of the
  structure (sized for a county of ~400 k, like Yangshan) are used ~85 % at the lead hospital and
  ~40–60 % at township centres only at about 400 k residents; at 20 k the same beds are ~5 % used.

The fast path: rows are plain tuples written by ``encounters.bulk.insert_rows`` in chunks (COPY
on PostgreSQL), without per-row validation (they are valid by construction) and without per-row
audit (the run's ``demo.generate`` row carries the counts). ``encounters_changed`` is sent once,
at the end, with every (institution, month) written, inside the demo's transaction.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from yigongti.encounters.bulk import insert_rows
from yigongti.encounters.choices import EncounterKind as EK
from yigongti.encounters.choices import EncounterSource
from yigongti.encounters.signals import Key, send_changed
from yigongti.institutions.choices import InstitutionKind as IK
from yigongti.institutions.models import Department, Institution
from yigongti.patients.models import Patient

from .structure import County

CHUNK = 20_000
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

#: Encounters per resident per year, by kind (outpatient includes emergency; see EMERGENCY_SHARE).
RATES: dict[str, float] = {
    EK.OUTPATIENT: 5.72,
    EK.INPATIENT: 0.165,
    EK.HOME_VISIT: 0.12,
    EK.ONLINE: 0.13,
    EK.AI_CONSULTATION: 0.10,
}
EMERGENCY_SHARE = 0.06
#: Where outpatient visits happen: outside the county, then grassroots among those inside.
VISIT_OUTSIDE = 0.055
VISIT_GRASSROOTS = 0.69
VISIT_VILLAGE_OF_GRASSROOTS = 0.55
#: Where admissions happen.
STAY_OUTSIDE = 0.082
STAY_TOWNSHIP = 0.36
#: County hospitals' shares of county-level visits and stays.
COUNTY_SHARES = {IK.LEAD_HOSPITAL: 58, IK.TCM_HOSPITAL: 22, IK.MATERNAL_CHILD: 12, IK.CHRONIC_DISEASE: 8}
#: ... and of county-level admissions (the lead hospital has most of the beds and the serious cases).
COUNTY_STAY_SHARES = {IK.LEAD_HOSPITAL: 67, IK.TCM_HOSPITAL: 17, IK.MATERNAL_CHILD: 10, IK.CHRONIC_DISEASE: 6}
#: Share of visits with TCM (diagnosis, acupuncture, herbal prescription) by where they happen.
TCM_SHARE = {
    IK.VILLAGE_CLINIC: 0.44,
    IK.TOWNSHIP_CENTRE: 0.50,
    IK.LEAD_HOSPITAL: 0.07,
    IK.TCM_HOSPITAL: 0.90,
    IK.MATERNAL_CHILD: 0.05,
    IK.CHRONIC_DISEASE: 0.10,
    "outside": 0.04,
}
#: (mean cost in yuan, sigma of the log, insurance share) by (kind, place).
COSTS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("visit", IK.VILLAGE_CLINIC): (42, 0.55, 0.74),
    ("visit", IK.TOWNSHIP_CENTRE): (88, 0.6, 0.70),
    ("visit", "county"): (235, 0.75, 0.60),
    ("visit", "outside"): (460, 0.8, 0.48),
    ("emergency", IK.TOWNSHIP_CENTRE): (160, 0.6, 0.62),
    ("emergency", "county"): (420, 0.8, 0.60),
    ("emergency", "outside"): (800, 0.8, 0.48),
    ("stay", IK.TOWNSHIP_CENTRE): (2900, 0.45, 0.88),
    ("stay", "county"): (7400, 0.6, 0.79),
    ("stay", "outside"): (23000, 0.7, 0.64),
    ("home", "any"): (35, 0.4, 0.75),
    ("online", "any"): (25, 0.5, 0.2),
}
#: Mean length of stay (days) by where.
STAY_DAYS = {
    IK.TOWNSHIP_CENTRE: 5.5,
    IK.LEAD_HOSPITAL: 7.8,
    IK.TCM_HOSPITAL: 9.0,
    IK.MATERNAL_CHILD: 4.0,
    IK.CHRONIC_DISEASE: 12.0,
    "outside": 10.5,
}
#: Inpatient costs of the year before were this much higher (cost per inpatient ≈ −2.5 %).
PREVIOUS_YEAR_COST = 1 / 0.975

# ICD-10 codes with weights ("code:weight", an empty code is a visit without a coded diagnosis):
# common diagnoses of a rural South-China county.


def _table(text: str) -> tuple[tuple[str, int], ...]:
    return tuple((code, int(weight)) for code, weight in (item.rsplit(":", 1) for item in text.split()))


DX_VISIT_GRASSROOTS = _table(
    "J06.9:22 I10:18 E11.9:8 K29.7:7 M54.5:8 J20.9:6 A09:4 M79.1:4 R51:3 L30.9:3 K02.9:2 "
    "H10.9:2 N39.0:2 Z00.0:5 M17.9:4 J30.4:2"
)
DX_VISIT_COUNTY = _table(
    "I10:10 E11.9:7 J06.9:8 K29.7:6 I25.1:5 J44.9:4 N18.9:2 M51.2:4 K80.2:3 O26.9:5 N95.1:2 "
    "Z34.9:4 J18.9:3 S52.5:2 C34.9:1 M54.5:5 R10.4:3"
)
DX_EMERGENCY = _table(
    "R10.4:10 S06.0:5 T14.0:10 J18.9:6 I21.9:3 I63.9:4 R50.9:10 A09:8 T65.9:2 S82.2:3 R55:3"
)
DX_STAY = _table(
    "J18.9:14 I63.9:9 J44.1:8 I50.9:5 I20.0:5 K80.2:4 K35.8:4 O80:6 O82:3 S72.0:3 E11.9:4 "
    "N20.0:3 I10:4 M51.2:3 K56.7:2 C34.9:2 C22.0:1 A09:3"
)
DX_STAY_OUTSIDE = _table(
    "C34.9:10 C22.0:6 C16.9:5 C50.9:5 I21.9:8 I61.9:6 S06.5:4 Q21.1:2 N18.5:5 I25.1:6 M17.1:4 J18.9:4"
)
DX_HOME = _table("I10:30 E11.9:15 I69.3:12 J44.9:8 Z74.0:10 M17.9:5")
DX_ONLINE = _table("I10:20 E11.9:12 J06.9:20 K29.7:8 L30.9:6 R51:6 :10")

#: Hospitals outside the county that are not in the institution table (insurance names them).
OTHER_HOSPITALS = (
    ("中山大学附属第一医院", "440104"),
    ("广州医科大学附属第一医院", "440104"),
    ("粤北人民医院", "440203"),
    ("连州市人民医院", "441882"),
    ("英德市人民医院", "441881"),
)
INSURANCE_SYSTEM = "医保结算平台"


def _age_weight(age: int, kind: str) -> float:
    """How much more often a person of this age uses this kind of care (relative)."""
    if kind == EK.HOME_VISIT:
        return 0.0 if age < 60 else (1.0 if age < 75 else 3.0)
    if kind in (EK.ONLINE, EK.AI_CONSULTATION):
        return 0.2 if age < 16 else (1.5 if age < 50 else (0.8 if age < 70 else 0.2))
    if kind == EK.INPATIENT:
        return 0.9 if age < 5 else (0.3 if age < 18 else (0.8 if age < 45 else (1.4 if age < 65 else 3.2)))
    return 1.6 if age < 7 else (0.6 if age < 18 else (0.7 if age < 45 else (1.2 if age < 65 else 2.0)))


class _Pick:
    """Weighted choice by cumulative weights (bisect), reused millions of times."""

    def __init__(self, rng: random.Random, items: list[Any], weights: list[float]) -> None:
        self.rng = rng
        self.items = items
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self) -> Any:
        return self.items[bisect.bisect(self.cum, self.rng.random() * self.total)]


@dataclass
class _Places:
    """The county's institutions as plain ids, and who lives where."""

    village_township: dict[int, int]
    villages_of: dict[int, list[int]]
    townships: list[int]
    county: dict[str, int]
    kind_of: dict[int, str]
    externals: list[int]
    external_area: dict[int, str]
    visit_depts: dict[int, list[int]]
    tcm_depts: dict[int, list[int]]
    stay_depts: dict[int, list[tuple[int, int]]]
    emergency_dept: dict[int, int]


def _places(county: County) -> _Places:
    village_township = {v.pk: v.parent_id for v in county.villages if v.parent_id}
    villages_of: dict[int, list[int]] = {}
    for village, town in village_township.items():
        villages_of.setdefault(town, []).append(village)
    insts = list(Institution.objects.values_list("pk", "kind", "area_code"))
    kind_of = {pk: kind for pk, kind, _area in insts}
    county_ids = {kind: pk for pk, kind, _area in sorted(insts) if kind in COUNTY_SHARES}
    externals = [pk for pk, kind, _area in sorted(insts) if kind == IK.EXTERNAL_HOSPITAL]
    visit: dict[int, list[int]] = {}
    tcm: dict[int, list[int]] = {}
    stay: dict[int, list[tuple[int, int]]] = {}
    emergency: dict[int, int] = {}
    skip = {"administration", "imaging", "laboratory", "ecg", "pathology", "pharmacy"}
    for pk, inst, category, beds in Department.objects.order_by("pk").values_list(
        "pk", "institution_id", "category", "beds"
    ):
        if category in skip:
            continue
        visit.setdefault(inst, []).append(pk)
        if category == "tcm":
            tcm.setdefault(inst, []).append(pk)
        if category == "emergency":
            emergency.setdefault(inst, pk)
        if beds:
            stay.setdefault(inst, []).append((pk, beds))
    return _Places(
        village_township=village_township,
        villages_of=villages_of,
        townships=[t.pk for t in county.townships],
        county=county_ids,
        kind_of=kind_of,
        externals=externals,
        external_area={pk: area for pk, kind, area in insts if kind == IK.EXTERNAL_HOSPITAL},
        visit_depts=visit,
        tcm_depts=tcm,
        stay_depts=stay,
        emergency_dept=emergency,
    )


@dataclass
class _Person:
    pk: int
    village: int
    age: int
    female: bool


@dataclass
class _Run:
    """One generation: the random source, the places, the people and what has been written."""

    rng: random.Random
    places: _Places
    start: dt.date
    end: dt.date  # exclusive: the reference date (nothing is dated on or after it)
    keys: set[Key] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    external_seq: int = 0


def _people(as_of: dt.date) -> list[_Person]:
    people = []
    for pk, village, birth, sex in (
        Patient.objects.filter(merged_into__isnull=True, village__isnull=False)
        .order_by("pk")
        .values_list("pk", "village_id", "birth_date", "sex")
    ):
        age = (
            (as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))) if birth else 40
        )
        people.append(_Person(pk, village, max(age, 0), sex == "F"))
    return people


def _day_picker(rng: random.Random, start: dt.date, end: dt.date) -> Callable[[], dt.date]:
    """Days with fewer visits at weekends and more in winter (respiratory season)."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    weights = [
        (0.65 if d.weekday() >= 5 else 1.0)
        * (1.0 + 0.18 * math.cos((d.timetuple().tm_yday - 15) / 365 * 2 * math.pi))
        for d in days
    ]
    return _Pick(rng, days, weights)


def _money(rng: random.Random, spec: tuple[float, float, float], factor: float = 1.0) -> tuple[str, str, str]:
    """Total, insurance and out-of-pocket as strings of yuan (log-normal total, jittered share)."""
    mean, sigma, share = spec
    total = round(mean * factor * math.exp(rng.gauss(-sigma * sigma / 2, sigma)) * 100)
    if total <= 0:
        return "0.00", "0.00", "0.00"
    paid = int(total * min(0.95, max(0.0, rng.gauss(share, 0.08))))
    own = total - paid
    return f"{total / 100:.2f}", f"{paid / 100:.2f}", f"{own / 100:.2f}"


class _Rows:
    """Builds the row tuples (in ``encounters.rules.COLUMNS`` order) of each kind of encounter."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        rng = run.rng
        self.rng = rng
        self.day = _day_picker(rng, run.start, run.end)
        self.dx = {
            name: _Pick(rng, [c for c, _w in table], [w for _c, w in table])
            for name, table in {
                "grassroots": DX_VISIT_GRASSROOTS,
                "county": DX_VISIT_COUNTY,
                "emergency": DX_EMERGENCY,
                "stay": DX_STAY,
                "stay_outside": DX_STAY_OUTSIDE,
                "home": DX_HOME,
                "online": DX_ONLINE,
            }.items()
        }
        p = run.places
        kinds = list(COUNTY_SHARES)
        here = [k for k in kinds if k in p.county]
        self.county_pick = _Pick(rng, [p.county[k] for k in here], [COUNTY_SHARES[k] for k in here])
        self.county_stay_pick = _Pick(rng, [p.county[k] for k in here], [COUNTY_STAY_SHARES[k] for k in here])

    # --- helpers ------------------------------------------------------------------------------

    def _at(self, day: dt.date, first_hour: int, hours: int) -> dt.datetime:
        seconds = first_hour * 3600 + int(self.rng.random() * hours * 3600)
        return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + dt.timedelta(seconds=seconds)

    def _dept(self, choices: list[int] | None) -> int | None:
        return choices[int(self.rng.random() * len(choices))] if choices else None

    def _row(
        self,
        person: _Person,
        inst: int | None,
        dept: int | None,
        kind: str,
        at: dt.datetime,
        tcm: bool,
        money: tuple[str, str, str],
        dx: str,
        **extra: Any,
    ) -> tuple[Any, ...]:
        self.run.keys.add((inst, at.date().replace(day=1)))
        return (
            person.pk,
            inst,
            dept,
            kind,
            at,
            extra.get("admitted_on"),
            extra.get("discharged_on"),
            extra.get("bed_days"),
            tcm,
            *money,
            dx,
            "441823",
            extra.get("in_county", True),
            extra.get("facility_name", ""),
            extra.get("facility_area_code", ""),
            extra.get("source", EncounterSource.DEMO),
            extra.get("source_system", ""),
            extra.get("external_id", ""),
        )

    def _outside(self) -> dict[str, Any]:
        """Where an out-of-county encounter happened, as insurance settlement reports it."""
        run = self.run
        run.external_seq += 1
        base = {
            "in_county": False,
            "source": EncounterSource.INSURANCE,
            "source_system": INSURANCE_SYSTEM,
            "external_id": f"JS{run.external_seq:09d}",
        }
        if run.places.externals and self.rng.random() < 0.6:
            inst = run.places.externals[int(self.rng.random() * len(run.places.externals))]
            return {**base, "institution": inst, "facility_area_code": run.places.external_area.get(inst, "")}
        name, area = OTHER_HOSPITALS[int(self.rng.random() * len(OTHER_HOSPITALS))]
        return {**base, "institution": None, "facility_name": name, "facility_area_code": area}

    def _township_of(self, person: _Person, own: float) -> int:
        p = self.run.places
        if self.rng.random() < own:
            return p.village_township[person.village]
        return p.townships[int(self.rng.random() * len(p.townships))]

    # --- kinds --------------------------------------------------------------------------------

    def visit(self, person: _Person) -> tuple[Any, ...]:
        rng, p = self.rng, self.run.places
        emergency = rng.random() < EMERGENCY_SHARE
        kind = EK.EMERGENCY if emergency else EK.OUTPATIENT
        day = self.day()
        at = self._at(day, 0, 24) if emergency else self._at(day, 8, 9)
        if rng.random() < VISIT_OUTSIDE:
            where = self._outside()
            inst = where.pop("institution")
            cost = COSTS[("emergency" if emergency else "visit", "outside")]
            dx = self.dx["emergency" if emergency else "county"]()
            tcm = rng.random() < TCM_SHARE["outside"]
            return self._row(person, inst, None, kind, at, tcm, _money(rng, cost), dx, **where)
        if rng.random() < VISIT_GRASSROOTS:
            if not emergency and rng.random() < VISIT_VILLAGE_OF_GRASSROOTS:
                village = person.village
                if rng.random() >= 0.95:  # a neighbouring village's clinic
                    village = self._dept(p.villages_of.get(p.village_township[village])) or village
                tcm = rng.random() < TCM_SHARE[IK.VILLAGE_CLINIC]
                money = _money(rng, COSTS[("visit", IK.VILLAGE_CLINIC)])
                return self._row(person, village, None, kind, at, tcm, money, self.dx["grassroots"]())
            town = self._township_of(person, 0.92)
            tcm = rng.random() < TCM_SHARE[IK.TOWNSHIP_CENTRE]
            dept = self._dept(p.tcm_depts.get(town) if tcm else p.visit_depts.get(town))
            cost = COSTS[("emergency" if emergency else "visit", IK.TOWNSHIP_CENTRE)]
            dx = self.dx["emergency" if emergency else "grassroots"]()
            return self._row(person, town, dept, kind, at, tcm, _money(rng, cost), dx)
        inst = p.county[IK.LEAD_HOSPITAL] if emergency else self.county_pick()
        inst_kind = p.kind_of[inst]
        tcm = rng.random() < TCM_SHARE[inst_kind]
        if emergency:
            dept = p.emergency_dept.get(inst) or self._dept(p.visit_depts.get(inst))
        else:
            dept = self._dept((p.tcm_depts.get(inst) if tcm else None) or p.visit_depts.get(inst))
        cost = COSTS[("emergency" if emergency else "visit", "county")]
        dx = self.dx["emergency" if emergency else "county"]()
        return self._row(person, inst, dept, kind, at, tcm, _money(rng, cost), dx)

    def stay(self, person: _Person, *, factor: float = 1.0) -> tuple[Any, ...]:
        rng, p, run = self.rng, self.run.places, self.run
        day = self.day()
        at = self._at(day, 7, 14)
        extra: dict[str, Any] = {}
        r = rng.random()
        if r < STAY_OUTSIDE:
            extra = self._outside()
            inst, where, dept = extra.pop("institution"), "outside", None
            dx, cost_key, tcm_share = self.dx["stay_outside"](), ("stay", "outside"), TCM_SHARE["outside"]
        elif r < STAY_OUTSIDE + (1 - STAY_OUTSIDE) * STAY_TOWNSHIP:
            inst = self._township_of(person, 0.9)
            where = IK.TOWNSHIP_CENTRE
            beds = p.stay_depts.get(inst) or []
            dept = _Pick(rng, [d for d, _b in beds], [b for _d, b in beds])() if beds else None
            dx, cost_key, tcm_share = self.dx["stay"](), ("stay", IK.TOWNSHIP_CENTRE), 0.3
        else:
            inst = self.county_stay_pick()
            where = p.kind_of[inst]
            beds = p.stay_depts.get(inst) or []
            dept = _Pick(rng, [d for d, _b in beds], [b for _d, b in beds])() if beds else None
            dx, cost_key = self.dx["stay"](), ("stay", "county")
            tcm_share = 0.85 if where == IK.TCM_HOSPITAL else 0.03
        mean = STAY_DAYS.get(where, 7.0)
        days = max(1, round(mean * math.exp(rng.gauss(-0.125, 0.5))))
        discharged = day + dt.timedelta(days=days)
        if discharged >= run.end:  # still in hospital on the reference date
            extra.update(admitted_on=day)
            if extra.get("source") == EncounterSource.INSURANCE:
                return ()  # insurance settles only completed stays: not reported yet
        else:
            extra.update(admitted_on=day, discharged_on=discharged, bed_days=days)
        money = _money(rng, COSTS[cost_key], factor * (0.6 + 0.4 * days / mean))
        return self._row(person, inst, dept, EK.INPATIENT, at, rng.random() < tcm_share, money, dx, **extra)

    def home(self, person: _Person) -> tuple[Any, ...]:
        rng, p = self.rng, self.run.places
        inst = person.village if rng.random() < 0.7 else p.village_township[person.village]
        at = self._at(self.day(), 9, 8)
        return self._row(
            person,
            inst,
            None,
            EK.HOME_VISIT,
            at,
            rng.random() < 0.3,
            _money(rng, COSTS[("home", "any")]),
            self.dx["home"](),
        )

    def online(self, person: _Person, kind: str) -> tuple[Any, ...]:
        rng, p = self.rng, self.run.places
        lead = p.county[IK.LEAD_HOSPITAL]
        at = self._at(self.day(), 7, 16)
        if kind == EK.AI_CONSULTATION:
            return self._row(person, lead, None, kind, at, False, ("0.00", "0.00", "0.00"), "")
        inst = lead if rng.random() < 0.8 else p.village_township[person.village]
        money = _money(rng, COSTS[("online", "any")])
        return self._row(person, inst, None, kind, at, rng.random() < 0.1, money, self.dx["online"]())


def _encounters(
    run: _Run, people: list[_Person], kinds: dict[str, float], factor: float
) -> Iterator[tuple[Any, ...]]:
    """Every encounter of the period, kind by kind, people drawn by age-weighted frequency."""
    rows = _Rows(run)
    years = (run.end - run.start).days / 365
    for kind, rate in kinds.items():
        weights = [_age_weight(p.age, kind) for p in people]
        if not any(weights):
            continue
        pick = _Pick(run.rng, people, weights)
        count = round(rate * len(people) * years)
        made = 0
        for _ in range(count):
            person = pick()
            if kind == EK.OUTPATIENT:
                row = rows.visit(person)
            elif kind == EK.INPATIENT:
                row = rows.stay(person, factor=factor)
            elif kind == EK.HOME_VISIT:
                row = rows.home(person)
            else:
                row = rows.online(person, kind)
            if row:
                made += 1
                yield row
        run.counts[kind] = run.counts.get(kind, 0) + made


def _write(rows: Iterator[tuple[Any, ...]]) -> int:
    written = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            written += insert_rows(chunk)
            chunk = []
    return written + insert_rows(chunk)


def generate(county: County, *, seed: int, as_of: dt.date, residents: int) -> dict[str, int]:
    """A year of encounters before ``as_of`` (all kinds) and the year before it (stays only)."""
    rng = random.Random(f"{seed}/encounters")
    places = _places(county)
    people = [p for p in _people(as_of) if p.village in places.village_township]
    if not people or IK.LEAD_HOSPITAL not in places.county:
        return {"encounters": 0}
    year_ago = (
        as_of.replace(year=as_of.year - 1)
        if not (as_of.month == 2 and as_of.day == 29)
        else (as_of - dt.timedelta(days=365))
    )
    two_ago = year_ago - dt.timedelta(days=365)
    current = _Run(rng, places, year_ago, as_of)
    written = _write(_encounters(current, people, RATES, 1.0))
    previous = _Run(rng, places, two_ago, year_ago, external_seq=current.external_seq + 1_000_000)
    earlier = _write(_encounters(previous, people, {EK.INPATIENT: RATES[EK.INPATIENT]}, PREVIOUS_YEAR_COST))
    send_changed(current.keys | previous.keys)
    counts = {f"encounters_{kind}": n for kind, n in current.counts.items()}
    return {"encounters": written, "encounters_previous_year": earlier, **counts}
