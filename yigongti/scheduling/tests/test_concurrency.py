"""No double booking under real concurrency: N clients race for the last places of a slot on
PostgreSQL (each thread has its own connection and transaction) and exactly as many win as
there were places. SQLite serialises writers anyway, so the test runs on PostgreSQL only."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection

from yigongti.accounts.choices import Role
from yigongti.core.errors import Conflict
from yigongti.core.models import AuditEvent
from yigongti.core.testing import build_small_county, make_patient
from yigongti.institutions import services as inst
from yigongti.scheduling import services
from yigongti.scheduling.models import Booking, Slot

from .conftest import open_session

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="needs PostgreSQL row locks"
)

CLIENTS = 16


def _race(places: int) -> tuple[list[int], list[Conflict], Slot]:
    county = build_small_county()
    dept = inst.department_create(
        actor=None, institution=county.township, code="QK", name="全科", category="general_practice"
    )
    slot = Slot.objects.filter(
        session=open_session(county.township, dept, offset=2, capacity=places)
    ).order_by("starts_at")[0]
    patients = [
        make_patient(county.village, i + 1, f"患者{i + 1}", dt.date(1960, 1, 1 + i)) for i in range(CLIENTS)
    ]
    nurse = county.users[Role.NURSE]
    barrier = threading.Barrier(CLIENTS)
    wins: list[int] = []
    losses: list[Conflict] = []
    lock = threading.Lock()

    def client(patient) -> None:
        try:
            barrier.wait()
            booking = services.booking_create(actor=nurse, slot=slot, patient=patient)
            with lock:
                wins.append(booking.pk)
        except Conflict as exc:
            with lock:
                losses.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slot.refresh_from_db()
    return wins, losses, slot


@pytest.mark.django_db(transaction=True)
def test_sixteen_clients_race_for_the_last_place_and_exactly_one_wins():
    wins, losses, slot = _race(places=1)
    assert len(wins) == 1 and len(losses) == CLIENTS - 1
    assert all(exc.code == "full" for exc in losses)
    assert slot.booked == 1
    assert list(Booking.objects.filter(slot=slot).values_list("pk", flat=True)) == wins
    assert AuditEvent.objects.filter(verb="booking.create").count() == 1  # losers left nothing behind


@pytest.mark.django_db(transaction=True)
def test_three_places_go_to_exactly_three_of_sixteen():
    wins, losses, slot = _race(places=3)
    assert len(wins) == 3 and len(losses) == CLIENTS - 3
    assert slot.booked == 3 == Booking.objects.filter(slot=slot).count()
