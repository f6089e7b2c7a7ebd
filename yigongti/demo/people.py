"""Synthetic people: names, ages, households and ID numbers, in plain Python (no database).

Kept apart from the writers so that the shape of the population (surnames, the age pyramid,
household make-up) can be checked quickly on tens of thousands of people in a unit test, and so
that the benchmark can pre-build exactly the rows the generator would write.

Everything draws from one ``random.Random``: the same seed gives the same people.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from itertools import accumulate
from typing import NamedTuple

from yigongti.core.idnumbers import CHECK_MAP, WEIGHTS

from . import data

# Relations to the head as the household register (户口簿, 与户主关系) writes them.
HEAD = "户主"
SPOUSE = "配偶"
SON = "子"
DAUGHTER = "女"
GRANDSON = "孙子"
GRANDDAUGHTER = "孙女"
FATHER = "父亲"
MOTHER = "母亲"

MAX_HOUSEHOLD = 6

# Heads of household by age band (20–24 ... 95–99); fitted by simulation so that whole households
# (heads with their spouses, children, parents and grandchildren) reproduce ``data.PYRAMID``
# within about one point per band (see tests/test_people.py). Young heads are few: young couples live with the
# husband's parents or work away.
_HEAD_BANDS = (20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95)
_HEAD_WEIGHTS = (0.7, 3.5, 7.8, 9.4, 10.6, 13.6, 15.1, 13.0, 9.5, 7.2, 5.1, 1.8, 1.1, 0.2, 1.0, 0.4)


class Member(NamedTuple):
    relation: str
    sex: str  # "M" or "F"
    age: int


class Person(NamedTuple):
    relation: str
    sex: str
    birth_date: dt.date
    name: str
    id_number: str | None
    phone: str


def _cumulative(weights: tuple[float, ...] | list[float]) -> tuple[list[float], float]:
    cum = list(accumulate(weights))
    return cum, cum[-1]


class Sampler:
    """Fast weighted choices from precomputed cumulative weights."""

    __slots__ = ("_cum", "_items", "_rnd", "_total")

    def __init__(self, rng: random.Random, items: list[str] | tuple[str, ...], weights: list[float]) -> None:
        self._items = tuple(items)
        self._cum, self._total = _cumulative(weights)
        self._rnd = rng.random

    def __call__(self) -> str:
        return self._items[bisect(self._cum, self._rnd() * self._total)]

    def index(self) -> int:
        return bisect(self._cum, self._rnd() * self._total)


class NameMaker:
    """Chinese names: a surname after the regional distribution, a given name after sex and era."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.surname = Sampler(rng, [s for s, _w in data.SURNAMES], [w for _s, w in data.SURNAMES])
        self._eras = [(start, male, female, single) for start, male, female, single in data.GIVEN_NAME_ERAS]

    def given(self, sex: str, birth_year: int) -> str:
        rng = self._rng
        pools = self._eras[0]
        for era in self._eras:
            if birth_year >= era[0]:
                pools = era
        pool = pools[1] if sex == "M" else pools[2]
        if rng.random() < pools[3]:
            return rng.choice(pool)
        first = rng.choice(pool)
        second = rng.choice(pool)
        while second == first:
            second = rng.choice(pool)
        return first + second


class IdAllocator:
    """Unique GB 11643 numbers for one area code: a counter per birth date and sex.

    The sequence's last digit carries the sex (odd = male), so each date holds 500 numbers per sex;
    ``block`` is the range of those 500 this allocator hands out, as if issued by one registration
    office, so that two allocators (staff, residents) never collide without sharing state.
    Counters start at a date-dependent offset so sequences do not all begin at 000. A full date
    moves the person to the day before (deterministically), which no realistic county reaches.
    Memory is bounded by the number of distinct birth dates, not by the population.
    """

    def __init__(self, area_code: str, block: tuple[int, int] = (0, 250)) -> None:
        self.area_code = area_code
        self._area_sum = sum(int(c) * w for c, w in zip(area_code, WEIGHTS[:6], strict=True))
        self._first, self._end = block
        self._spread = max(1, min(60, (self._end - self._first) // 4))
        self._next: dict[int, int] = {}

    def allocate(self, birth: dt.date, sex: str) -> tuple[str, dt.date]:
        """A fresh number for this birth date and sex, and the birth date it encodes."""
        male = sex == "M"
        while True:
            key = birth.toordinal() * 2 + male
            k = self._next.get(key)
            if k is None:
                k = self._first + (birth.toordinal() * 37) % self._spread  # varies by day
            if k < self._end:
                break
            birth -= dt.timedelta(days=1)
        self._next[key] = k + 1
        seq = 2 * k + 1 if male else 2 * k
        first17 = f"{self.area_code}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
        total = self._area_sum + sum(int(c) * w for c, w in zip(first17[6:], WEIGHTS[6:], strict=True))
        return first17 + CHECK_MAP[total % 11], birth


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class BirthDates:
    """Birth dates for exact ages on a reference day, from precomputed day ranges per age."""

    def __init__(self, rng: random.Random, as_of: dt.date) -> None:
        self._rng = rng
        self._ranges: list[tuple[int, int]] = []
        for age in range(data.MAX_AGE + 1):
            latest = years_before(as_of, age).toordinal()
            earliest = years_before(as_of, age + 1).toordinal() + 1
            self._ranges.append((earliest, latest - earliest))

    def draw(self, age: int) -> dt.date:
        start, span = self._ranges[age]
        return dt.date.fromordinal(start + int(self._rng.random() * (span + 1)))


def _spouse_probability(age: int) -> float:
    if age < 25:
        return 0.55
    if age < 65:
        return 0.88
    if age < 75:
        return 0.72
    if age < 85:
        return 0.48
    return 0.25


def _stays_home(age: int) -> float:
    """Chance that a child of this age lives in the parents' household (not married out or away)."""
    if age < 16:
        return 0.96
    if age < 20:
        return 0.8
    if age < 25:
        return 0.42
    if age < 30:
        return 0.26
    if age < 40:
        return 0.16
    return 0.08


def _children_born(mother_birth_year: int, rng: random.Random) -> int:
    if mother_birth_year < 1955:
        return rng.choice((2, 3, 3, 4, 4, 5))
    if mother_birth_year < 1975:
        return rng.choice((1, 2, 2, 3, 3))
    if mother_birth_year < 1990:
        return rng.choice((1, 2, 2, 2, 3))
    return rng.choice((0, 1, 1, 1, 2, 2))


class HouseholdComposer:
    """Households whose members' ages are consistent: spouses a few years apart, children born to
    a mother aged 20–38, the head's parents 22–34 years older, grandchildren left with
    grandparents while their parents work in the cities."""

    def __init__(self, rng: random.Random, as_of: dt.date) -> None:
        self._rng = rng
        self._as_of_year = as_of.year
        self._head_band = Sampler(rng, [str(b) for b in _HEAD_BANDS], list(_HEAD_WEIGHTS))

    def compose(self, head_age: int | None = None) -> list[Member]:
        rng = self._rng
        if head_age is None:
            head_age = _HEAD_BANDS[self._head_band.index()] + int(rng.random() * 5)
        head_age = min(head_age, data.MAX_AGE)
        head_sex = "M" if rng.random() < (0.86 if head_age < 65 else 0.66) else "F"
        members = [Member(HEAD, head_sex, head_age)]
        mother_age: int | None = head_age if head_sex == "F" else None
        if rng.random() < _spouse_probability(head_age):
            gap = int(rng.triangular(-2, 8, 2))
            spouse_age = head_age - gap if head_sex == "M" else head_age + gap
            spouse_age = max(19, min(data.MAX_AGE, spouse_age))
            spouse_sex = "F" if head_sex == "M" else "M"
            members.append(Member(SPOUSE, spouse_sex, spouse_age))
            if spouse_sex == "F":
                mother_age = spouse_age
        if mother_age is None:  # a widower or a husband whose wife works away
            mother_age = head_age - 2
        self._add_children(members, mother_age)
        if 46 <= head_age <= 80 and rng.random() < 0.24:
            self._add_grandchildren(members, head_age)
        if head_age <= 62:
            self._add_parents(members, head_age, head_sex)
        return members[:MAX_HOUSEHOLD]

    def _add_children(self, members: list[Member], mother_age: int) -> None:
        rng = self._rng
        born = _children_born(self._as_of_year - mother_age, rng)
        for _ in range(born):
            age = mother_age - 20 - int(rng.random() * 19)
            if age < 0 or rng.random() >= _stays_home(age):
                continue
            male = rng.random() < 0.53
            members.append(Member(SON if male else DAUGHTER, "M" if male else "F", age))

    def _add_grandchildren(self, members: list[Member], head_age: int) -> None:
        rng = self._rng
        oldest = min(15, head_age - 42)
        for _ in range(1 if rng.random() < 0.55 else 2):
            age = int(rng.random() * (oldest + 1))
            male = rng.random() < 0.54
            members.append(Member(GRANDSON if male else GRANDDAUGHTER, "M" if male else "F", age))

    def _add_parents(self, members: list[Member], head_age: int, head_sex: str) -> None:
        rng = self._rng
        if head_sex != "M" and rng.random() < 0.8:  # parents usually live with a son
            return
        father = head_age + 24 + int(rng.random() * 10)
        mother = father - int(rng.triangular(-2, 8, 2))
        for relation, sex, age in ((FATHER, "M", father), (MOTHER, "F", mother)):
            if age > data.MAX_AGE:
                continue
            alive_and_here = 0.5 if age < 70 else 0.42 if age < 80 else 0.3 if age < 90 else 0.12
            if rng.random() < alive_and_here:
                members.append(Member(relation, sex, age))


class PhoneMaker:
    """Mobile numbers for adults: most working-age adults have one, fewer of the very old."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def for_age(self, age: int) -> str:
        rng = self._rng
        chance = 0.0 if age < 16 else 0.55 if age < 18 else 0.93 if age < 70 else 0.62 if age < 80 else 0.3
        if rng.random() >= chance:
            return ""
        return self.number()

    def number(self) -> str:
        rng = self._rng
        prefix = data.MOBILE_PREFIXES[int(rng.random() * len(data.MOBILE_PREFIXES))]
        return f"{prefix}{int(rng.random() * 100_000_000):08d}"


class PeopleFactory:
    """Turns household plans into people: birth dates, family names, given names, ID numbers."""

    #: Share of residents without an ID number: infants not yet registered and a few others.
    NO_ID_INFANT = 0.4
    NO_ID_OTHER = 0.025

    def __init__(self, rng: random.Random, as_of: dt.date, ids: IdAllocator) -> None:
        self._rng = rng
        self.names = NameMaker(rng)
        self.births = BirthDates(rng, as_of)
        self.phones = PhoneMaker(rng)
        self.composer = HouseholdComposer(rng, as_of)
        self.ids = ids

    def household(self, head_age: int | None = None) -> list[Person]:
        rng = self._rng
        plan = self.composer.compose(head_age)
        names = self.names
        family = names.surname()
        head_male = plan[0].sex == "M"
        # The head's children take the father's surname: the head's if he is the father, else the
        # (absent or late) husband's.
        children_surname = family if head_male else names.surname()
        people: list[Person] = []
        for member in plan:
            relation = member.relation
            if relation in (SON, DAUGHTER):
                surname = children_surname
            elif relation in (GRANDSON, GRANDDAUGHTER):
                surname = children_surname if rng.random() < 0.85 else names.surname()
            elif relation in (FATHER, HEAD):
                surname = family
            else:
                surname = names.surname()
            birth = self.births.draw(member.age)
            id_number: str | None = None
            if rng.random() >= (self.NO_ID_INFANT if member.age == 0 else self.NO_ID_OTHER):
                id_number, birth = self.ids.allocate(birth, member.sex)
            name = surname + names.given(member.sex, birth.year)
            people.append(
                Person(relation, member.sex, birth, name, id_number, self.phones.for_age(member.age))
            )
        return people


def age_on(birth: dt.date, day: dt.date) -> int:
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years
