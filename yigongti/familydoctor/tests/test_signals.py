"""``familydoctor_changed`` is sent by every write path, inside its transaction, with the cells
(institution, month) of every institution the touched rows are attributed to in
``indicator_sources``: the resident's village clinic and the team's home institution."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from yigongti.accounts.choices import Role
from yigongti.familydoctor import services
from yigongti.familydoctor.choices import TeamRole
from yigongti.familydoctor.models import Contract, HomeVisit, Task
from yigongti.familydoctor.signals import familydoctor_changed

from .conftest import sign

pytestmark = pytest.mark.django_db

Keys = set[tuple[int, dt.date | None]]


class Received:
    """A real receiver, as the indicators app connects one."""

    def __init__(self) -> None:
        self.calls: list[Keys] = []

    def __call__(self, sender: Any, keys: Any = (), **kwargs: Any) -> None:
        assert transaction.get_connection().in_atomic_block
        self.calls.append(set(keys))

    def take(self) -> Keys:
        assert len(self.calls) == 1, self.calls
        return self.calls.pop()


@pytest.fixture
def received() -> Iterator[Received]:
    receiver = Received()
    familydoctor_changed.connect(receiver, weak=False)
    yield receiver
    familydoctor_changed.disconnect(receiver)


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _township_team(fd: Any) -> Any:
    """A second team, based at the township centre, serving the same village: its contracts are
    attributed to two institutions."""
    return services.team_create(
        actor=fd.users[Role.CONSORTIUM_OFFICE],
        code="T-TOWN",
        name="阳城镇卫生院团队",
        institution=fd.township,
        villages=[fd.village],
        members=[
            (fd.staff["village_doctor"], TeamRole.FAMILY_DOCTOR),
            (fd.staff["nurse"], TeamRole.NURSE),
            (fd.staff["public_health"], TeamRole.PUBLIC_HEALTH),
        ],
    )


def test_every_write_path_sends_the_touched_cells(fd: Any, received: Received) -> None:
    doctor = fd.users[Role.VILLAGE_DOCTOR]
    town_team = _township_team(fd)
    assert received.calls == []  # a team has no row of its own in the sources
    both = {(fd.village.pk, None), (fd.township.pk, None)}

    contract = sign(fd, team=town_team)
    assert received.take() == both
    contract = services.contract_confirm(actor=doctor, contract=contract, paper_signature=True)
    assert received.take() == both  # status and the whole plan: every month

    task = Task.objects.filter(contract=contract, due_on__lte=contract.start_date + dt.timedelta(days=400))[0]
    services.task_record(actor=doctor, task=task, done_on=services.today())
    m = _month(task.due_on)
    assert received.take() == {(fd.village.pk, m), (fd.township.pk, m)}

    day = services.today() + dt.timedelta(days=3)
    visit = services.home_visit_schedule(actor=doctor, contract=contract, scheduled_on=day, purpose="测血压")
    assert received.take() == {(fd.village.pk, _month(day)), (fd.township.pk, _month(day))}
    services.home_visit_record(actor=doctor, visit=visit, missed=True)
    assert received.take() == {(fd.village.pk, _month(day)), (fd.township.pk, _month(day))}

    bed = services.home_bed_open(actor=doctor, contract=contract, admitted_on=services.today(), reason="卧床")
    assert received.calls == []  # a bed is no source row; its visits are
    later = services.today() + dt.timedelta(days=40)
    services.home_visit_schedule(
        actor=doctor, contract=contract, scheduled_on=later, purpose="查床", home_bed=bed
    )
    received.take()
    services.home_bed_discharge(actor=doctor, bed=bed)
    assert received.take() == {(fd.village.pk, _month(later)), (fd.township.pk, _month(later))}
    assert HomeVisit.objects.get(home_bed=bed).status == "missed"

    # change team at renewal: the old team's and the new team's institutions
    end = contract.end_date
    new = services.contract_renew(
        actor=doctor, contract=contract, team=fd.team, on=end - dt.timedelta(days=10)
    )
    assert received.take() == both  # fd.team is based at the village clinic
    services.contract_expire(actor=doctor, contract=new, on=new.end_date + dt.timedelta(days=1))
    assert received.take() == {(fd.village.pk, None)}

    other = services.contract_confirm(actor=doctor, contract=sign(fd, patient="young"), paper_signature=True)
    received.calls.clear()
    services.contract_terminate(actor=doctor, contract=other, reason="迁出本县")
    assert received.take() == {(fd.village.pk, None)}

    pending = sign(fd, patient="resident")
    received.take()
    services.contract_cancel(actor=doctor, contract=pending, reason="不签了")
    assert received.take() == {(fd.village.pk, None)}


def test_the_signal_is_inside_the_writing_transaction(fd: Any) -> None:
    """A receiver that fails rolls the write back: nothing is half-written."""

    def refuse(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("indicator refresh failed")

    familydoctor_changed.connect(refuse, weak=False)
    try:
        with pytest.raises(RuntimeError):
            sign(fd)
    finally:
        familydoctor_changed.disconnect(refuse)
    assert not Contract.objects.filter(patient=fd.patients["p"]).exists()


def test_demo_bulk_load_names_every_team_and_village(county: Any, received: Received) -> None:
    from yigongti.core.testing import make_patient
    from yigongti.demo import familydoctor as demo_fd
    from yigongti.familydoctor.models import Team
    from yigongti.institutions import services as inst

    for no, (name, profession) in enumerate((("刘护士", "nurse"), ("周公卫", "public_health")), start=2):
        inst.staff_create(
            actor=None,
            institution=county.township,
            employee_no=f"T000{no}",
            name=name,
            sex="F",
            profession=profession,
        )
    for n in range(40):
        make_patient(county.village, 100 + n, f"村民{n}", dt.date(1940 + n, 3, 1))

    class County:
        townships = [county.township]
        lead = county.lead
        demo_village = county.village
        consortium = county.consortium

    with transaction.atomic():
        counts = demo_fd.generate(County, seed=5, as_of=services.today(), residents=40)  # type: ignore[arg-type]
    contracts = Contract.objects.all()
    assert counts["contracts"] == contracts.count() > 0
    assert all(c.number == f"QY{c.start_date:%Y}{c.pk:08d}" for c in contracts)
    assert not contracts.filter(packages__isnull=True).exists()
    assert Task.objects.count() == counts["tasks"]
    assert received.calls and all(m is None for call in received.calls for _i, m in call)
    keys = set().union(*received.calls)
    assert (county.village.pk, None) in keys
    assert {(t.institution_id, None) for t in Team.objects.all()} <= keys
    # the keys handed out continue the sequence: a service's insert takes the next one
    services.contract_sign(
        actor=None,
        patient=make_patient(county.village, 999, "新居民", dt.date(1980, 1, 1)),
        team=Team.objects.get(villages=county.village),
        packages=[demo_fd.ServicePackage.objects.get(code="BASIC")],
    )
