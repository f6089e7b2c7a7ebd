"""Fellegi–Sunter record comparison: features, blocking keys, comparison levels and scores.

Pure Python with no database access, so that the real-time matcher (candidates from indexed
lookups) and the batch importer (candidates from in-memory dictionaries) score alike.

A record becomes ``Features``: the name in simplified characters and its pinyin readings, sex,
birth date, the normalised ID number (15 → 18 characters, ``x`` → ``X``), phone digits and the
village code. A missing birth date or sex is taken from a valid ID number. An ID number with a
wrong check character is not trusted: it is compared only for the ``near`` level (a typo of a
known number) and never counts as a conflict or as an exact match.

Each field of a pair gets the first level that holds (``LEVELS``; the same definitions as the
Splink settings in ``training``), ``null`` when either side is missing. The match weight is the
prior log-odds plus log2(m/u) per field level; an exact name match is adjusted for how common
the name is (term frequency): 张伟 agreeing says less than 覃翊珩 agreeing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA, JaroWinkler

from yigongti.core import idnumbers

from ..names import pinyin_readings, simplified

FIELDS = ("id_number", "name", "birth_date", "phone", "village", "sex")

LEVELS: dict[str, tuple[str, ...]] = {
    "id_number": ("exact", "near", "conflict"),
    "name": ("exact", "pinyin", "similar", "different"),
    "birth_date": ("exact", "swap", "near", "different"),
    "phone": ("exact", "different"),
    "village": ("exact", "different"),
    "sex": ("exact", "different"),
}

#: Starting m and u per level: the weights before the first training, and for a level Splink
#: could not estimate (``training``, listed in ``defaults_used``). m from the error
#: rates of county registration data, u from the spread of a county's values (a birth date is
#: shared by about 1 in 25,000 random pairs, a village by 1 in 100). The one commonly used is u
#: of ``id_number.near``: two different people's numbers one typo apart are so rare that the
#: 2 million sampled pairs often hold none; 1e-6 is below what such a sample could show.
DEFAULT_FIELDS: dict[str, dict[str, dict[str, float]]] = {
    "id_number": {
        "exact": {"m": 0.80, "u": 1e-6},
        "near": {"m": 0.03, "u": 1e-6},
        "conflict": {"m": 0.005, "u": 0.999},
    },
    "name": {
        "exact": {"m": 0.85, "u": 0.002},
        "pinyin": {"m": 0.08, "u": 0.001},
        "similar": {"m": 0.04, "u": 0.01},
        "different": {"m": 0.03, "u": 0.987},
    },
    "birth_date": {
        "exact": {"m": 0.93, "u": 4e-5},
        "swap": {"m": 0.02, "u": 4e-5},
        "near": {"m": 0.02, "u": 8e-5},
        "different": {"m": 0.03, "u": 0.9999},
    },
    "phone": {"exact": {"m": 0.7, "u": 1e-4}, "different": {"m": 0.3, "u": 0.9999}},
    "village": {"exact": {"m": 0.85, "u": 0.01}, "different": {"m": 0.15, "u": 0.99}},
    "sex": {"exact": {"m": 0.995, "u": 0.5}, "different": {"m": 0.005, "u": 0.5}},
}


#: Jaro–Winkler similarity of the main pinyin readings from which names count as similar.
SIMILAR_NAME = 0.90

#: Pseudo-residents with an average name mixed into every name frequency (see ``Model.name_share``).
TF_PSEUDO_COUNT = 2000

#: Pinyin readings of a name used for blocking keys (all of them are compared).
BLOCK_READINGS = 4

_PHONE_DIGITS = re.compile(r"\D+")
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")


@dataclass(frozen=True, slots=True)
class Features:
    """What the matcher compares of one record ('' or None when missing)."""

    name: str
    pinyin: tuple[str, ...]
    sex: str
    birth_date: dt.date | None
    id_number: str
    id_valid: bool
    phone: str
    village: str


def normalise_id(raw: str) -> tuple[str, str]:
    """(18-character number or '', problem) for an ID number as entered.

    problem is '' (valid or absent), 'check' (right shape, wrong check character: the number is
    returned for near comparison but must not be trusted) or 'format' (not an ID number at all).
    """
    value = idnumbers.normalize(raw or "")
    if not value:
        return "", ""
    if len(value) == 15 and value.isascii() and value.isdigit():
        value = idnumbers.upgrade_15(value)
    if not _ID_SHAPE.match(value):
        return "", "format"
    if idnumbers.check_character(value[:17]) != value[17]:
        return value, "check"
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return value, "check"
    return value, ""


def normalise_phone(raw: str) -> str:
    digits = _PHONE_DIGITS.sub("", idnumbers.normalize(raw or ""))
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) >= 7 else ""


def features(
    *,
    name: str,
    sex: str = "",
    birth_date: dt.date | None = None,
    id_number: str = "",
    phone: str = "",
    village: str = "",
    id_checked: tuple[str, str] | None = None,
) -> Features:
    """Features of a record as entered (see the module docstring for the normalisation).

    ``id_checked`` is ``normalise_id(id_number)`` when the caller has it already."""
    number, problem = id_checked if id_checked is not None else normalise_id(id_number)
    valid = bool(number) and not problem
    if valid:
        if birth_date is None:
            birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        if not sex:
            sex = "M" if int(number[16]) % 2 == 1 else "F"
    simple = simplified(name).replace(" ", "")
    return Features(
        name=simple,
        pinyin=pinyin_readings(simple) if simple else (),
        sex=sex if sex in ("M", "F") else "",
        birth_date=birth_date,
        id_number=number,
        id_valid=valid,
        phone=normalise_phone(phone),
        village=village or "",
    )


# --- blocking -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredKeys:
    """The indexed blocking columns of one stored registration."""

    id_number: str
    id_tail: str
    phone: str
    name_key: str
    birth_key: str


def _name_key(reading: str, birth: dt.date | None) -> str:
    return f"{reading}|{birth.year if birth else ''}"[:80]


def _birth_key(birth: dt.date, sex: str, initial: str) -> str:
    return birth.isoformat() + sex + initial  # "1968-04-09Mz": 12 characters


def stored_keys(f: Features) -> StoredKeys:
    """Blocking keys written with a registration: the ID number and its tail (birth month and day,
    sequence, check: selective, and intact when the typo is in the area code or year), the
    phone, the main pinyin with the birth year, and birth date + sex + surname initial. A typo
    in the tail is found through the birth-date and name keys instead (an ID head of area and
    year would put a whole birth cohort in one block)."""
    number = f.id_number if f.id_valid else ""
    main = f.pinyin[0] if f.pinyin else ""
    return StoredKeys(
        id_number=number,
        id_tail=number[10:],
        phone=f.phone,
        name_key=_name_key(main, f.birth_date) if main else "",
        birth_key=_birth_key(f.birth_date, f.sex, main[:1]) if f.birth_date and f.sex and main else "",
    )


@dataclass(frozen=True, slots=True)
class ProbeKeys:
    """Values to look up in each blocking column to find a record's candidates."""

    id_number: tuple[str, ...]
    id_tail: tuple[str, ...]
    phone: tuple[str, ...]
    name_key: tuple[str, ...]
    birth_key: tuple[str, ...]


def _swapped(day: dt.date) -> dt.date | None:
    if day.month == day.day or day.day > 12:
        return None
    return dt.date(day.year, day.day, day.month)


def probe_keys(f: Features) -> ProbeKeys:
    """Keys to probe: a typo'd ID finds the right one by its tail, every pinyin reading is
    tried with the birth year, and the birth date also in its day–month swapped form."""
    number = f.id_number
    readings = f.pinyin[:BLOCK_READINGS]
    births: list[dt.date] = []
    if f.birth_date is not None:
        births.append(f.birth_date)
        swapped = _swapped(f.birth_date)
        if swapped is not None:
            births.append(swapped)
    sexes = (f.sex,) if f.sex else ("M", "F")
    initials = tuple(dict.fromkeys(r[:1] for r in readings))
    return ProbeKeys(
        id_number=(number,) if number and f.id_valid else (),
        id_tail=(number[10:],) if number else (),
        phone=(f.phone,) if f.phone else (),
        name_key=tuple(_name_key(r, f.birth_date) for r in readings),
        birth_key=tuple(_birth_key(b, s, i) for b in births for s in sexes for i in initials),
    )


# --- comparison -----------------------------------------------------------------------------


def _id_level(a: Features, b: Features) -> str:
    if not a.id_number or not b.id_number:
        return "null"
    trusted = a.id_valid and b.id_valid
    if a.id_number == b.id_number:
        return "exact" if trusted else "near"
    if OSA.distance(a.id_number, b.id_number, score_cutoff=1) <= 1:
        return "near"
    return "conflict" if trusted else "null"


def _name_level(a: Features, b: Features) -> str:
    if not a.name or not b.name:
        return "null"
    if a.name == b.name:
        return "exact"
    if a.pinyin and b.pinyin:
        if not set(a.pinyin).isdisjoint(b.pinyin):
            return "pinyin"
        if JaroWinkler.similarity(a.pinyin[0], b.pinyin[0]) >= SIMILAR_NAME:
            return "similar"
    return "different"


def _birth_level(a: Features, b: Features) -> str:
    x, y = a.birth_date, b.birth_date
    if x is None or y is None:
        return "null"
    if x == y:
        return "exact"
    if x.year == y.year and x.month == y.day and x.day == y.month:
        return "swap"
    if abs((x - y).days) == 1:
        return "near"
    return "different"


def _equal_level(x: str, y: str) -> str:
    if not x or not y:
        return "null"
    return "exact" if x == y else "different"


def levels(a: Features, b: Features) -> tuple[str, str, str, str, str, str]:
    """The comparison level of each field of ``FIELDS`` for the pair."""
    return (
        _id_level(a, b),
        _name_level(a, b),
        _birth_level(a, b),
        _equal_level(a.phone, b.phone),
        _equal_level(a.village, b.village),
        _equal_level(a.sex, b.sex),
    )


# --- scoring --------------------------------------------------------------------------------


def probability(weight: float) -> float:
    """Match probability of a match weight (log2 odds)."""
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    return 1.0 / (1.0 + 2.0 ** (-weight))


def _clamp(value: float) -> float:
    return min(max(float(value), 1e-6), 1 - 1e-6)


#: Levels that forbid an automatic link whatever the weights say: a person decides. Household
#: members share a phone, an address and often a birth date (twins), so those agreements are
#: not independent evidence; two valid ID numbers that differ, different names or birth dates
#: far apart (a father and son of one name) mean "probably two people" even when everything else
#: agrees. A different sex alone is not a guard (only its weight counts): at 200k labelled rows,
#: as a guard it held back 189 true pairs and 5 look-alike pairs (which other guards catch).
GUARDS: dict[tuple[str, str], str] = {
    ("id_number", "conflict"): "id_conflict",
    ("name", "similar"): "name_different",
    ("name", "different"): "name_different",
    ("birth_date", "different"): "birth_different",
}

#: Guards that the same valid ID number lifts: twins never share one, so with it a similar-sounding
#: character (程/陈, 琳/玲) or a mistyped birth date is a typo. A wholly
#: different name still stops the link: a child is sometimes registered under a parent's number.
LIFTED_BY_ID: frozenset[str] = frozenset({"similar_name", "birth_different"})


@dataclass(frozen=True, slots=True)
class Scored:
    """One compared pair: its match weight, probability and per-field explanation.

    ``guards`` name the reasons (``GUARDS``) why this pair may not be linked automatically.
    """

    weight: float
    probability: float
    levels: tuple[str, ...]
    weights: tuple[float, ...]
    tf_adjustment: float
    guards: tuple[str, ...] = ()

    def explanation(self) -> dict[str, Any]:
        """What a reviewer sees: each field's level and weight, the name-frequency adjustment."""
        return {
            "weight": round(self.weight, 2),
            "probability": self.probability,
            "fields": [
                {"field": f, "level": lv, "weight": round(w, 2)}
                for f, lv, w in zip(FIELDS, self.levels, self.weights, strict=True)
            ],
            "name_frequency_adjustment": round(self.tf_adjustment, 2),
            "guards": list(self.guards),
        }


def _guards(lv: tuple[str, ...]) -> tuple[str, ...]:
    """The guards of one combination of levels (``FIELDS`` order), after ``LIFTED_BY_ID``."""
    id_exact = lv[0] == "exact"
    found: list[str] = []
    for field, level in zip(FIELDS, lv, strict=True):
        guard = GUARDS.get((field, level))
        if guard is None:
            continue
        lifted = "similar_name" if (field, level) == ("name", "similar") else guard
        if id_exact and lifted in LIFTED_BY_ID:
            continue
        if guard not in found:
            found.append(guard)
    if lv[4] == "different" and lv[0] != "exact" and lv[3] != "exact":
        found.append("moved_unconfirmed")  # namesakes born the same day live in different villages
    return tuple(found)


class Model:
    """Fellegi–Sunter weights from a stored configuration (``MatchConfig.parameters``).

    ``parameters`` = {"prior": λ, "fields": {field: {level: {"m": .., "u": ..}}}, ...}; every
    level of ``LEVELS`` must be present. ``population`` is the number of residents the name
    frequencies are counted over.
    """

    def __init__(self, parameters: dict[str, Any], *, link: float, review: float) -> None:
        fields = parameters["fields"]
        self.prior = _clamp(parameters["prior"])
        self.prior_weight = math.log2(self.prior / (1 - self.prior))
        self.link = link
        self.review = review
        self.weights: dict[str, dict[str, float]] = {}
        for name in FIELDS:
            table = {"null": 0.0}
            for level in LEVELS[name]:
                mu = fields[name][level]
                table[level] = math.log2(_clamp(mu["m"]) / _clamp(mu["u"]))
            self.weights[name] = table
        name_exact = fields["name"]["exact"]
        self.name_exact_m = _clamp(name_exact["m"])
        self.name_exact_u = _clamp(name_exact["u"])
        self._tables = tuple(self.weights[f] for f in FIELDS)
        self._combinations: dict[tuple[str, ...], tuple[float, tuple[float, ...], tuple[str, ...]]] = {}

    def name_share(self, count: int, total: int) -> float:
        """Share of residents named so, smoothed towards u(name exact) by ``TF_PSEUDO_COUNT``
        pseudo-residents, so that a small index (a new county, a test) gives no wild adjustment."""
        return (count + self.name_exact_u * TF_PSEUDO_COUNT) / (total + TF_PSEUDO_COUNT)

    def tf_adjustment(self, name_share: float | None) -> float:
        """Extra weight for an exact name match given the name's share of residents.

        Splink's term-frequency adjustment: u for "names equal" becomes the share of this name
        (at least 1 in 100,000, so that one odd spelling cannot outweigh a conflicting ID).
        """
        if name_share is None:
            return 0.0
        share = min(max(name_share, 1e-5), 1.0)
        return math.log2(self.name_exact_u / share)

    def _combination(self, lv: tuple[str, ...]) -> tuple[float, tuple[float, ...], tuple[str, ...]]:
        """(prior + weights, weights, guards) of one combination of levels, memoised: a few
        thousand combinations exist, millions of pairs share them."""
        found = self._combinations.get(lv)
        if found is None:
            ws = tuple(table[level] for table, level in zip(self._tables, lv, strict=True))
            guards = _guards(lv)
            found = (self.prior_weight + sum(ws), ws, guards)
            self._combinations[lv] = found
        return found

    def score(self, a: Features, b: Features, name_share: Callable[[str], float | None]) -> Scored:
        lv = levels(a, b)
        total, ws, guards = self._combination(lv)
        tf = 0.0
        if lv[1] == "exact":
            tf = self.tf_adjustment(name_share(a.name))
            total += tf
            ws = (ws[0], ws[1] + tf, *ws[2:])
        return Scored(total, probability(total), lv, ws, tf, guards)

    def decide(self, best: Scored | None) -> str:
        if best is None or best.probability < self.review:
            return "new"
        if best.probability >= self.link and not best.guards:
            return "linked"
        return "review"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One resident compared: the best of its registrations."""

    patient_id: int
    scored: Scored


def best_per_patient(
    model: Model,
    probe: Features,
    stored: Iterable[tuple[int, Features]],
    name_share: Callable[[str], float | None],
) -> list[Candidate]:
    """Score ``probe`` against (patient_id, features) rows; keep each patient's best, best first."""
    best: dict[int, Scored] = {}
    for patient_id, other in stored:
        scored = model.score(probe, other, name_share)
        current = best.get(patient_id)
        if current is None or scored.weight > current.weight:
            best[patient_id] = scored
    ranked = sorted(best.items(), key=lambda item: (-item[1].weight, item[0]))
    return [Candidate(pid, s) for pid, s in ranked]


def decision_for(model: Model, ranked: Sequence[Candidate]) -> str:
    return model.decide(ranked[0].scored if ranked else None)
