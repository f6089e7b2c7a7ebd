"""``chronic_changed`` from every write path, inside its transaction, with the (village, month)
cells of the indicator sources the write touched; the demo's bulk load names every village."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.chronic import services
from yigongti.chronic.models import Enrollment, FollowUp, ProgrammeReference
from yigongti.chronic.signals import chronic_changed
from yigongti.demo import chronic as demo_chronic

from .conftest import days_ago, enrol

pytestmark = pytest.mark.django_db


class Received:
    """A real receiver, connected as the indicators app connects its own."""

    def __init__(self) -> None:
        self.calls: list[set[tuple[int, dt.date | None]]] = []

    def __call__(self, sender: Any, keys: Any = (), **kwargs: Any) -> None:
        assert transaction.get_connection().in_atomic_block
        self.calls.append(set(keys))

    def take(self) -> set[tuple[int, dt.date | None]]:
        assert len(self.calls) == 1, self.calls
        return self.calls.pop()


@pytest.fixture
def received() -> Iterator[Received]:
    receiver = Received()
    chronic_changed.connect(receiver, weak=False)
    yield receiver
    chronic_changed.disconnect(receiver)


def test_each_write_path_names_its_cells(cc: Any, received: Received) -> None:
    v = cc.village.pk
    entry = enrol(cc, "ht", diagnosed=400)
    assert received.take() == {(v, days_ago(395).replace(day=1)), (v, None)}
    services.follow_up_record(
        actor=cc.users[Role.VILLAGE_DOCTOR], enrollment=entry, visit_date=days_ago(3), sbp=150, dbp=95
    )
    assert received.take() == {(v, days_ago(3).replace(day=1)), (v, None)}
    services.elderly_service_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["old"],
        service_date=days_ago(2),
        self_care_score=0,
        sbp=130,
        dbp=80,
    )
    assert received.take() == {(v, days_ago(2).replace(day=1))}
    services.screening_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["dm"],
        screened_on=days_ago(1),
        sbp=120,
        dbp=80,
    )
    assert received.calls == []  # screenings and tasks are no indicator source
    year = timezone.localdate().year
    services.reference_compute(actor=cc.users[Role.CONSORTIUM_OFFICE], year=year)
    villages = set(ProgrammeReference.objects.filter(year=year).values_list("institution_id", flat=True))
    assert v in villages
    assert received.take() == {(i, dt.date(year, 1, 1)) for i in villages}


def test_a_failing_receiver_rolls_the_follow_up_back(cc: Any) -> None:
    entry = enrol(cc, "ht")

    def refuse(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("indicator refresh failed")

    chronic_changed.connect(refuse, weak=False)
    try:
        with pytest.raises(RuntimeError):
            services.follow_up_record(
                actor=cc.users[Role.VILLAGE_DOCTOR], enrollment=entry, visit_date=days_ago(1), sbp=150, dbp=95
            )
    finally:
        chronic_changed.disconnect(refuse)
    assert not FollowUp.objects.filter(enrollment=entry).exists()


def test_demo_bulk_load_names_every_village_written(cc: Any, received: Received) -> None:
    class County:
        demo_village = cc.village

    today = timezone.localdate()
    with transaction.atomic():
        counts = demo_chronic.generate(County, seed=3, as_of=today, residents=10, scale=6.0)  # type: ignore[arg-type]
    assert counts["chronic_enrollments"] == Enrollment.objects.count() > 0
    assert FollowUp.objects.count() == counts["chronic_follow_ups"]
    written = set(Enrollment.objects.values_list("village_id", flat=True))
    bulk_keys = received.calls[0]
    assert {(v, None) for v in written} <= bulk_keys
    assert all(month is None for _v, month in bulk_keys)
    # then reference_compute for last year and this year: the annual cells
    assert {k[1] for k in received.calls[1]} == {dt.date(today.year - 1, 1, 1)}
    # the keys given to the follow-ups point at the entries
    assert not FollowUp.objects.exclude(enrollment__patient_id=F("patient_id")).exists()
