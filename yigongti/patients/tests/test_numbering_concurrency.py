"""New residents registered at the same moment in the same village get distinct health-record
numbers: each number is the village's highest + 1, so two registrations that numbered at once
collided on the unique number (a 500). Real threads, each with its own PostgreSQL connection and
transaction; SQLite serialises writers anyway, so the test runs on PostgreSQL only."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.audit import verify_chain
from yigongti.core.testing import build_small_county
from yigongti.patients.matching.services import Entry, registration_create
from yigongti.patients.models import Patient

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="needs concurrent PostgreSQL writers"
)

CLIENTS = 8
NAMES = ["赵一鸣", "钱二娟", "孙三强", "李四海", "周五梅", "吴六军", "郑七兰", "王八斌"]


@pytest.mark.django_db(transaction=True)
def test_eight_new_residents_registered_at_once_in_one_village_get_eight_numbers():
    county = build_small_county()
    clerk = county.users[Role.COUNTY_DOCTOR]
    barrier = threading.Barrier(CLIENTS)
    numbers: list[str | None] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        birth = dt.date(1950 + i * 3, 1 + i, 10 + i)
        entry = Entry(
            name=NAMES[i],
            sex="M" if i % 2 == 0 else "F",
            birth_date=birth,
            id_number=idnumbers.build("441823", birth, 100 + i * 2 + (0 if i % 2 == 0 else 1)),
            phone=f"1380000{i:04d}",
            village_code=county.village.code,
        )
        try:
            barrier.wait()
            done = registration_create(actor=clerk, institution=county.lead, entry=entry)
            with lock:
                numbers.append(done.patient.health_record_number)
        except BaseException as exc:  # the failure is what this test reports
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(numbers)) == CLIENTS
    assert all(n and n.startswith(county.village.code[:12]) for n in numbers)
    assert Patient.objects.filter(village=county.village).count() >= CLIENTS
    assert verify_chain().problem is None
