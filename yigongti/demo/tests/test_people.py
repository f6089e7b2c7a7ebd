"""The synthetic population's shape, checked on tens of thousands of people without a database."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from yigongti.core import idnumbers
from yigongti.demo import data
from yigongti.demo.people import (
    DAUGHTER,
    FATHER,
    HEAD,
    MOTHER,
    SON,
    SPOUSE,
    IdAllocator,
    PeopleFactory,
    Person,
    age_on,
)

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def households() -> list[list[Person]]:
    factory = PeopleFactory(random.Random(7), AS_OF, IdAllocator("441823"))
    out: list[list[Person]] = []
    made = 0
    while made < 40_000:
        household = factory.household()
        out.append(household)
        made += len(household)
    return out


def _people(households: list[list[Person]]) -> list[Person]:
    return [p for h in households for p in h]


def test_age_pyramid_is_an_ageing_rural_county(households):
    ages = [age_on(p.birth_date, AS_OF) for p in _people(households)]
    n = len(ages)
    elderly = sum(a >= 65 for a in ages) / n
    children = sum(a < 15 for a in ages) / n
    young_adults = sum(20 <= a < 40 for a in ages) / n
    middle = sum(45 <= a < 65 for a in ages) / n
    assert 0.16 <= elderly <= 0.21
    assert 0.14 <= children <= 0.22
    assert young_adults < middle  # the migrant dip
    total = sum(data.PYRAMID)
    bands = Counter(min(a // 5, 20) for a in ages)
    for band, weight in enumerate(data.PYRAMID):
        assert abs(bands[band] / n - weight / total) < 0.012, band
    assert max(ages) <= data.MAX_AGE and min(ages) >= 0


def test_households_are_consistent_families(households):
    sizes = Counter(len(h) for h in households)
    assert set(sizes) <= set(range(1, 7))
    assert sizes[1] and sizes[6]
    for household in households:
        head = household[0]
        assert head.relation == HEAD
        assert sum(p.relation == HEAD for p in household) == 1
        assert sum(p.relation == SPOUSE for p in household) <= 1
        head_age = age_on(head.birth_date, AS_OF)
        assert head_age >= 19
        mother = next((p for p in household if p.sex == "F" and p.relation in (HEAD, SPOUSE)), None)
        for person in household:
            age = age_on(person.birth_date, AS_OF)
            if person.relation == SPOUSE:
                assert person.sex != head.sex
                assert abs(age - head_age) <= 9
            elif person.relation in (SON, DAUGHTER) and mother is not None:
                assert 19 <= age_on(mother.birth_date, AS_OF) - age <= 40
            elif person.relation in (FATHER, MOTHER):
                assert age - head_age >= 15
            if person.relation in (SON, FATHER):
                assert person.sex == "M"
            if person.relation in (DAUGHTER, MOTHER):
                assert person.sex == "F"


def test_id_numbers_are_valid_unique_and_match_the_person(households):
    people = _people(households)
    numbers = [p.id_number for p in people if p.id_number]
    assert len(numbers) == len(set(numbers))
    missing = 1 - len(numbers) / len(people)
    assert 0.015 <= missing <= 0.05
    for person in people:
        if person.id_number:
            parsed = idnumbers.parse(person.id_number, today=AS_OF)
            assert parsed.area_code == "441823"
            assert parsed.birth_date == person.birth_date
            assert parsed.sex == person.sex


def test_names_follow_the_surname_distribution(households):
    people = _people(households)
    surnames = Counter(p.name[0] for p in people)
    known = {s for s, _w in data.SURNAMES}
    assert set(surnames) <= known
    share_chen = surnames["陈"] / len(people)
    assert 0.07 < share_chen < 0.12
    assert surnames.most_common(3)[0][0] == "陈"
    assert all(2 <= len(p.name) <= 3 for p in people)


def test_children_carry_their_fathers_surname(households):
    for household in households:
        head = household[0]
        if head.sex != "M":
            continue
        for person in household:
            if person.relation in (SON, DAUGHTER, FATHER):
                assert person.name[0] == head.name[0]


def test_adults_mostly_have_mobile_numbers(households):
    people = _people(households)
    adults = [p for p in people if 18 <= age_on(p.birth_date, AS_OF) < 70]
    children = [p for p in people if age_on(p.birth_date, AS_OF) < 16]
    assert sum(bool(p.phone) for p in adults) / len(adults) > 0.85
    assert not any(p.phone for p in children)
    prefixes = set(data.MOBILE_PREFIXES)
    for person in adults:
        if person.phone:
            assert len(person.phone) == 11 and person.phone.isdigit() and person.phone[:3] in prefixes


def test_same_seed_same_people_other_seed_other_people():
    def first(seed: int) -> list[Person]:
        factory = PeopleFactory(random.Random(seed), AS_OF, IdAllocator("441823"))
        return [p for _ in range(50) for p in factory.household()]

    assert first(3) == first(3)
    assert first(3) != first(4)


def test_id_allocator_blocks_do_not_collide_and_full_days_move_back():
    day = dt.date(1980, 5, 17)
    staff = IdAllocator("441823", (250, 500))
    residents = IdAllocator("441823", (0, 250))
    staff_numbers = {staff.allocate(day, "F")[0] for _ in range(100)}
    resident_numbers = {residents.allocate(day, "F")[0] for _ in range(100)}
    assert len(staff_numbers) == len(resident_numbers) == 100
    assert not staff_numbers & resident_numbers
    assert all(int(n[14:17]) % 2 == 0 for n in resident_numbers)  # even sequence: female
    tiny = IdAllocator("441823", (0, 2))
    births = [tiny.allocate(day, "M")[1] for _ in range(4)]
    assert births[0] == day and births[-1] < day
    assert all(b <= day for b in births)


def test_given_names_fit_sex_and_era(households):
    eras = {start: (male, female) for start, male, female, _single in data.GIVEN_NAME_ERAS}
    for person in _people(households):
        start = max(s for s in eras if person.birth_date.year >= s)
        pool = eras[start][0 if person.sex == "M" else 1]
        assert set(person.name[1:]) <= set(pool), person


def test_a_later_registration_never_gives_a_baby_a_birthday_in_the_future():
    from yigongti.demo.duplicates import corrupt
    from yigongti.patients.models import Patient

    today = dt.date(2026, 11, 22)
    rng = random.Random(5)
    for born in (today, today - dt.timedelta(days=1), dt.date(2026, 5, 12)):  # 5/12 swaps to 12/5
        baby = Patient(name="张小宝", sex="M", birth_date=born, phone="13800000000", address="东山村")
        for _ in range(300):
            entry, _kind = corrupt(baby, rng, lambda: "13900000000", ["东山村"], today)
            assert entry.birth_date is None or entry.birth_date <= today
