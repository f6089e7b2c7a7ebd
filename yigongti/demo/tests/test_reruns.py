"""Determinism: the same seed gives the same residents in a fresh database, another seed others."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from yigongti.demo.residents import VillageRef, resident_chunks
from yigongti.institutions.models import Institution

from .helpers import generate, resident_fingerprint


def _fingerprint_of_a_run(seed: int) -> list[tuple]:
    """Run the generator inside a transaction that is rolled back: a fresh database each time."""
    with transaction.atomic():
        generate(residents=300, seed=seed)
        fingerprint = resident_fingerprint()
        transaction.set_rollback(True)
    assert not Institution.objects.exists()
    return fingerprint


@pytest.mark.django_db
def test_same_seed_gives_the_same_residents():
    first = _fingerprint_of_a_run(2024)
    second = _fingerprint_of_a_run(2024)
    assert len(first) == 200
    assert first == second


def test_the_seed_decides_the_residents():
    villages = [
        VillageRef(1, "441823101001", "阳城镇甲村", 1.0),
        VillageRef(2, "441823101002", "阳城镇乙村", 2.0),
    ]
    as_of = dt.date(2025, 6, 30)

    def rows(seed: int) -> list:
        return [
            r for _h, chunk in resident_chunks(villages, total=300, seed=seed, as_of=as_of) for r in chunk
        ]

    assert rows(2024) == rows(2024)
    assert rows(2024) != rows(7)
    assert len(rows(7)) == 300


@pytest.mark.django_db
def test_demo_logins_on_an_empty_database_says_how_to_generate():
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "generate_county" in out.getvalue()


@pytest.mark.django_db
def test_bad_options_are_refused_before_anything_is_written():
    with pytest.raises(CommandError):
        call_command("generate_county", "--residents=10", "--as-of=2999-01-01")
    with pytest.raises(CommandError):
        call_command("generate_county", "--residents=-1")
    with pytest.raises(CommandError):
        call_command("generate_county", "--as-of=yesterday")
    assert not Institution.objects.exists()
