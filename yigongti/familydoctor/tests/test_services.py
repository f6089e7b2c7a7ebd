"""Teams, packages, the contract state machine, the plan and fulfilment, visits and beds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from yigongti.accounts.choices import Role
from yigongti.core.access import scope_for
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.core.models import AuditEvent
from yigongti.familydoctor import grassroots, selectors, services
from yigongti.familydoctor.choices import ContractStatus, TaskStatus, TeamRole
from yigongti.familydoctor.models import Contract, Task, Team
from yigongti.referrals.grassroots import responsible_grassroots

from .conftest import active, sign

pytestmark = pytest.mark.django_db


def test_team_serving_another_townships_village_is_refused(fd: Any) -> None:
    before = (Team.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as err:
        services.team_create(
            actor=fd.users[Role.CONSORTIUM_OFFICE],
            code="X",
            name="跨镇团队",
            institution=fd.township,
            villages=[fd.foreign_village],
            members=[
                (fd.staff["village_doctor"], TeamRole.FAMILY_DOCTOR),
                (fd.staff["nurse"], TeamRole.NURSE),
                (fd.staff["public_health"], TeamRole.PUBLIC_HEALTH),
            ],
        )
    assert err.value.field == "villages"
    assert (Team.objects.count(), AuditEvent.objects.count()) == before


def test_team_needs_a_doctor_nurse_and_public_health(fd: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        services.team_create(
            actor=fd.users[Role.CONSORTIUM_OFFICE],
            code="Y",
            name="缺护士",
            institution=fd.township,
            villages=[fd.village],
            members=[(fd.staff["village_doctor"], TeamRole.FAMILY_DOCTOR)],
        )
    assert err.value.field == "members"


def test_only_the_office_edits_teams_and_packages(fd: Any) -> None:
    with pytest.raises(Forbidden):
        services.package_create(
            actor=fd.users[Role.TOWNSHIP_DOCTOR], code="Z", name="z", kind="basic", price=Decimal("1")
        )
    with pytest.raises(InvalidInput) as err:
        services.package_create(
            actor=fd.users[Role.CONSORTIUM_OFFICE],
            code="Z",
            name="z",
            kind="basic",
            price=Decimal("10"),
            insurance_share=Decimal("11"),
        )
    assert err.value.field == "insurance_share"


def test_sign_confirm_generates_the_plan(fd: Any) -> None:
    contract = sign(fd, packages=[fd.basic, fd.htn], groups=["hypertension"])
    assert contract.status == ContractStatus.PENDING
    assert contract.priority_groups == ["elderly", "hypertension"] and contract.is_priority
    assert contract.fee == Decimal("270") and contract.resident_fee == Decimal("62")
    assert not Task.objects.filter(contract=contract).exists()
    with pytest.raises(InvalidInput) as err:  # staff must record the paper signature
        services.contract_confirm(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract)
    assert err.value.field == "paper_signature"
    services.contract_confirm(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, paper_signature=True)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE and contract.paper_signature
    # basic 1 + 2, hypertension 4 + 1 over one year
    assert Task.objects.filter(contract=contract).count() == 8
    assert (
        AuditEvent.objects.filter(verb="familydoctor.contract.confirm", object_id=str(contract.pk)).count()
        == 1
    )


def test_due_dates_spread_over_the_term() -> None:
    start = dt.date(2026, 1, 1)
    dates = services.due_dates(start, dt.date(2026, 12, 31), 4)
    assert dates == [dt.date(2026, 4, 2), dt.date(2026, 7, 2), dt.date(2026, 10, 1), dt.date(2026, 12, 31)]


def test_second_open_contract_is_a_conflict_and_the_database_agrees(fd: Any) -> None:
    first = sign(fd)
    with pytest.raises(Conflict):
        sign(fd)
    assert Contract.objects.filter(patient=fd.patients["p"]).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.create(
            number="dup",
            patient=first.patient,
            team=fd.team,
            channel="clinic",
            start_date=first.start_date,
            end_date=first.end_date,
        )


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"end_date": dt.date.today() + dt.timedelta(days=200)}, "end_date"),  # noqa: DTZ011
        ({"packages": []}, "packages"),
        ({"packages": "htn_only"}, "packages"),
        ({"packages": "htn_no_group"}, "packages"),
        ({"groups": ["nonsense"]}, "groups"),
    ],
)
def test_bad_contracts_name_the_field(fd: Any, kw: dict[str, Any], field: str) -> None:
    if kw.get("packages") == "htn_only":
        kw = {"packages": [fd.htn], "groups": ["hypertension"]}
    elif kw.get("packages") == "htn_no_group":
        kw = {"packages": [fd.basic, fd.htn]}
    before = (Contract.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as err:
        sign(fd, **kw)
    assert err.value.field == field
    assert (Contract.objects.count(), AuditEvent.objects.count()) == before


def test_team_must_serve_the_village_and_scope_is_kept(fd: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        services.contract_sign(actor=None, patient=fd.patients["foreign"], team=fd.team, packages=[fd.basic])
    assert err.value.field == "team"
    with pytest.raises(NotFound):
        sign(fd, who="t_town2")
    with pytest.raises(Forbidden):
        sign(fd, who=Role.CONSORTIUM_OFFICE)


def test_resident_confirms_clinic_signing_and_applies_online(fd: Any) -> None:
    resident = fd.users[Role.RESIDENT]
    contract = sign(fd, patient="resident")
    services.contract_confirm(actor=resident, contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE and not contract.paper_signature
    with pytest.raises(Conflict):  # active -> active
        services.contract_confirm(actor=resident, contract=contract)
    with pytest.raises(NotFound):  # not hers
        services.contract_sign(actor=resident, patient=fd.patients["p"], team=fd.team, packages=[fd.basic])


def test_online_application_is_accepted_by_the_team(fd: Any) -> None:
    resident = fd.users[Role.RESIDENT]
    application = services.contract_sign(
        actor=resident, patient=fd.patients["resident"], team=fd.team, packages=[fd.basic]
    )
    assert application.channel == "online" and application.signed_by is None
    with pytest.raises(Conflict):
        services.contract_confirm(actor=resident, contract=application)
    services.contract_confirm(actor=fd.users[Role.NURSE], contract=application)
    application.refresh_from_db()
    assert application.status == ContractStatus.ACTIVE


def test_terminate_cancels_open_tasks_and_needs_a_reason(fd: Any) -> None:
    contract = active(fd)
    with pytest.raises(InvalidInput):
        services.contract_terminate(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, reason=" ")
    services.contract_terminate(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, reason="迁出")
    assert not Task.objects.filter(contract=contract, status=TaskStatus.OPEN).exists()
    for move in (
        lambda: services.contract_terminate(actor=None, contract=contract, reason="x"),
        lambda: services.contract_confirm(actor=None, contract=contract),
        lambda: services.contract_renew(actor=None, contract=contract),
        lambda: services.contract_cancel(actor=None, contract=contract),
        lambda: services.contract_expire(actor=None, contract=contract),
    ):
        with pytest.raises(Conflict):
            move()


def test_renew_only_near_the_end_and_change_team_there(fd: Any) -> None:
    contract = active(fd)
    with pytest.raises(Conflict):
        services.contract_renew(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract)
    near = contract.end_date - dt.timedelta(days=10)
    new = services.contract_renew(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, on=near)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.RENEWED and new.status == ContractStatus.ACTIVE
    assert new.start_date == contract.end_date + dt.timedelta(days=1) and new.previous_id == contract.pk
    assert new.tasks.count() == 3


def test_expire_only_after_the_end(fd: Any) -> None:
    contract = active(fd)
    with pytest.raises(Conflict):
        services.contract_expire(actor=None, contract=contract)
    services.contract_expire(actor=None, contract=contract, on=contract.end_date + dt.timedelta(days=1))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED


def test_record_task_and_fulfilment_rates(fd: Any) -> None:
    contract = active(fd)
    task = contract.tasks.order_by("due_on").first()
    services.task_record(actor=fd.users[Role.VILLAGE_DOCTOR], task=task, result="血压 132/84")
    with pytest.raises(Conflict):
        services.task_record(actor=fd.users[Role.VILLAGE_DOCTOR], task=task)
    end = contract.end_date
    assert selectors.contract_fulfilment(contract, end) == {"due": 3, "done": 1, "rate": 33.3}
    assert selectors.team_fulfilment([fd.team.pk], end)[fd.team.pk]["rate"] == 33.3


def test_home_bed_and_visits(fd: Any) -> None:
    contract = active(fd)
    doctor = fd.users[Role.VILLAGE_DOCTOR]
    bed = services.home_bed_open(
        actor=doctor, contract=contract, admitted_on=contract.start_date, reason="脑卒中后康复"
    )
    with pytest.raises(Conflict):
        services.home_bed_open(actor=doctor, contract=contract, admitted_on=contract.start_date, reason="x")
    visit = services.home_visit_schedule(
        actor=doctor, contract=contract, scheduled_on=contract.start_date, purpose="换药", home_bed=bed
    )
    services.home_visit_record(actor=doctor, visit=visit, note="伤口愈合良好")
    with pytest.raises(Conflict):
        services.home_visit_record(actor=doctor, visit=visit)
    with pytest.raises(Conflict):
        services.contract_terminate(actor=doctor, contract=contract, reason="迁出")
    services.home_bed_discharge(actor=doctor, bed=bed, note="好转")
    with pytest.raises(Conflict):
        services.home_bed_discharge(actor=doctor, bed=bed)
    counts = selectors.monthly_counts(scope=scope_for(doctor))
    assert sum(c["visits"] for c in counts) == 1 and sum(c["beds"] for c in counts) == 1


def test_referrals_see_the_family_doctor(fd: Any) -> None:
    contract = active(fd)
    institution, staff = responsible_grassroots(contract.patient)
    assert institution == fd.village and staff == fd.staff["village_doctor"]
    assert grassroots.visibility(scope_for(fd.users[Role.VILLAGE_DOCTOR])) is not None
    assert responsible_grassroots(fd.patients["young"]) == (fd.village, None)
