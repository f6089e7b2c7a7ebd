"""The chronic programmes' and family doctors' indicators: their writes keep the cells equal to a
computation from scratch, and the dashboard shows them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic import services as chronic
from yigongti.chronic.models import ProgrammeReference
from yigongti.chronic.tests.conftest import cc, days_ago, enrol  # noqa: F401 - the fixture
from yigongti.familydoctor import services as fds
from yigongti.familydoctor.models import Task
from yigongti.familydoctor.services import contracts as fd_contracts
from yigongti.familydoctor.tests.conftest import active, fd  # noqa: F401 - the fixture
from yigongti.indicators import engine
from yigongti.indicators.models import IndicatorCell

pytestmark = pytest.mark.django_db


def _answer(user: Any, **params: str) -> list[dict[str, Any]]:
    client = Client()
    client.force_login(user)
    response = client.get("/api/indicators", params)
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()
    return rows


def _rows(user: Any, period: str) -> dict[str, dict[str, Any]]:
    """The consortium's row of each indicator, by code."""
    return {row["code"]: row for row in _answer(user, period=period, by="consortium")}


def _by_institution(user: Any, period: str, code: str) -> dict[str, dict[str, Any]]:
    """One indicator's rows, by institution id."""
    return {row["group"]: row for row in _answer(user, period=period, by="institution", code=code)}


def _equal_to_rebuild() -> dict[Any, Any]:
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    return incremental


def test_chronic_writes_keep_cells_equal_to_a_rebuild(cc: Any) -> None:  # noqa: F811
    doctor = cc.users[Role.VILLAGE_DOCTOR]
    ht = enrol(cc, "ht", diagnosed=300)
    enrol(cc, "dm", programme="diabetes", diagnosed=200)
    for ago in (250, 160, 70, 10):  # four follow-ups: the last one on target
        chronic.follow_up_record(actor=doctor, enrollment=ht, visit_date=days_ago(ago), sbp=128, dbp=80)
    chronic.elderly_service_record(
        actor=doctor,
        patient=cc.patients["old"],
        service_date=days_ago(20),
        self_care_score=2,
        sbp=130,
        dbp=82,
    )
    year = days_ago(0).year
    chronic.reference_compute(actor=None, year=year)  # model saves, followed by the model signals
    cells = _equal_to_rebuild()
    sources = set(IndicatorCell.objects.filter(pk__isnull=False).values_list("part__source", flat=True))
    assert {"chronic_registry", "chronic_follow_ups", "elderly_services", "chronic_reference"} <= sources
    assert cells

    # an official corrects the reference data: the cells follow
    row = ProgrammeReference.objects.filter(programme="hypertension").first()
    assert row is not None
    row.quota = 4
    row.save()
    _equal_to_rebuild()

    rows = _rows(cc.users[Role.CONSORTIUM_OFFICE], str(year))
    assert rows["hypertension_quota_completion"]["numerator"] == 1.0
    assert rows["hypertension_quota_completion"]["denominator"] == 4.0
    assert rows["hypertension_control_rate"]["value"] == 100.0
    standard = rows["hypertension_standard_management_rate"]
    # a fourth follow-up within one calendar year makes the entry "standard" once
    visits_this_year = sum(1 for ago in (250, 160, 70, 10) if days_ago(ago).year == year)
    assert standard["numerator"] == (1.0 if visits_this_year >= 4 else 0.0)
    assert rows["elderly_management_rate"]["numerator"] == 1.0


def test_family_doctor_writes_keep_cells_equal_to_a_rebuild(fd: Any) -> None:  # noqa: F811
    engine.rebuild()
    contract = active(fd)
    _equal_to_rebuild()
    doctor = fd.users[Role.VILLAGE_DOCTOR]
    task = Task.objects.filter(contract=contract).order_by("due_on").first()
    assert task is not None
    today = days_ago(0)
    fds.task_record(actor=doctor, task=task, done_on=today)  # done early
    visit = fds.home_visit_schedule(actor=doctor, contract=contract, scheduled_on=today, purpose="随访")
    fds.home_visit_record(actor=doctor, visit=visit, done_on=today)
    _equal_to_rebuild()
    office = fd.users[Role.CONSORTIUM_OFFICE]
    rows = _rows(office, str(today.year))
    assert rows["fd_contract_coverage"]["numerator"] == 1.0
    assert rows["fd_home_visits_done"]["value"] == 1.0
    assert _rows(office, str(task.due_on.year))["fd_fulfilment_rate"]["numerator"] == 1.0

    fd_contracts.contract_terminate(actor=doctor, contract=contract, reason="moved away")
    _equal_to_rebuild()
    assert _rows(office, str(today.year))["fd_contract_coverage"]["numerator"] == 0


def test_the_dashboard_page_lists_the_domain_indicators(cc: Any) -> None:  # noqa: F811
    enrol(cc, "ht")
    client = Client()
    client.force_login(cc.users[Role.CONSORTIUM_OFFICE])
    page = client.get("/indicators/", {"period": str(days_ago(0).year)})
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        "hypertension_management_rate" in text
        or "高血压患者管理率" in text
        or "Hypertension management rate" in text
    )


def test_a_task_counts_for_the_village_it_was_planned_for(fd: Any) -> None:  # noqa: F811
    engine.rebuild()
    contract = active(fd)
    patient = contract.patient
    home = patient.village_id
    assert set(Task.objects.filter(contract=contract).values_list("village_id", flat=True)) == {home}

    # the resident moves to the team's other village: her contract (and its home visits) go with
    # her at once, the tasks already planned stay where they were planned
    patient.village = fd.other_village
    patient.save()
    _equal_to_rebuild()
    office = fd.users[Role.CONSORTIUM_OFFICE]
    today = days_ago(0)
    coverage = _by_institution(office, str(today.year), "fd_contract_coverage")
    assert coverage[str(fd.other_village.pk)]["numerator"] == 1.0
    assert not coverage[str(home)]["numerator"]

    task = Task.objects.filter(contract=contract).order_by("due_on").first()
    assert task is not None
    fds.task_record(actor=fd.users[Role.VILLAGE_DOCTOR], task=task, done_on=today)
    _equal_to_rebuild()
    fulfilment = _by_institution(office, str(task.due_on.year), "fd_fulfilment_rate")
    assert fulfilment[str(home)]["numerator"] == 1.0
    assert str(fd.other_village.pk) not in fulfilment or not fulfilment[str(fd.other_village.pk)]["numerator"]

    # ending the contract cancels the open tasks: the cells of the village they were planned for
    fd_contracts.contract_terminate(
        actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, reason="moved away"
    )
    _equal_to_rebuild()
    assert not Task.objects.filter(contract=contract, status="open").exists()
