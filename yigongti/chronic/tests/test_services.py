"""Services: classification and the next task in the same transaction, scope, bad input that
writes nothing, and the incremental worklist equal to the one rebuilt from scratch."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.chronic import services, tasks
from yigongti.chronic.models import ElderlyService, Enrollment, FollowUp, Task
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.core.models import AuditEvent
from yigongti.referrals.models import Referral

from .conftest import days_ago, enrol

pytestmark = pytest.mark.django_db


def visit(
    cc: Any, entry: Any, ago: int, sbp: int = 130, dbp: int = 80, who: str = Role.VILLAGE_DOCTOR, **kw: Any
) -> Any:
    return services.follow_up_record(
        actor=cc.users[who], enrollment=entry, visit_date=days_ago(ago), sbp=sbp, dbp=dbp, **kw
    )


def test_enrol_opens_the_first_task(cc: Any) -> None:
    entry = enrol(cc, "ht")
    task = Task.objects.get(patient=entry.patient, programme="hypertension", status="open")
    assert task.due_on == entry.enrolled_on + dt.timedelta(days=14)
    assert task.rule_version == "2026.1"
    assert AuditEvent.objects.filter(verb="chronic.enroll", object_id=str(entry.pk)).count() == 1
    with pytest.raises(Conflict):
        enrol(cc, "ht")


def test_follow_up_closes_the_task_and_opens_the_next(cc: Any) -> None:
    entry = enrol(cc, "ht")
    first = visit(cc, entry, 100, 150, 95)
    assert first.classification == "uncontrolled" and not first.on_target
    assert first.next_due_on == days_ago(86)
    second = visit(cc, entry, 86, 155, 96)
    assert second.classification == "refer"
    third = visit(cc, entry, 70, 128, 78)
    assert third.classification == "controlled" and third.on_target
    open_tasks = Task.objects.filter(patient=entry.patient, programme="hypertension", status="open")
    assert [(t.due_on, t.priority) for t in open_tasks] == [(days_ago(-20), "routine")]
    assert Task.objects.filter(patient=entry.patient, status="done").count() == 3
    assert AuditEvent.objects.filter(verb="chronic.follow_up").count() == 3


def test_urgent_finding_and_one_click_referral(cc: Any) -> None:
    entry = enrol(cc, "dm", programme="diabetes")
    row = visit(cc, entry, 3, 150, 92, fasting_glucose="17.2", heart_rate=88)
    assert row.classification == "urgent"
    assert Task.objects.get(patient=entry.patient, status="open").priority == "urgent"
    referral = services.referral_from_follow_up(actor=cc.users[Role.VILLAGE_DOCTOR], follow_up=row)
    assert referral.status == "draft" and referral.diagnosis_code == "E11" and referral.urgency == "urgent"
    assert "17.2" in referral.history and "150/92" in referral.history
    assert referral.to_institution_id == cc.lead.pk and referral.reason.code == "U02"
    assert AuditEvent.objects.filter(verb="chronic.refer", object_id=str(row.pk)).count() == 1
    with pytest.raises(Conflict):
        services.referral_from_follow_up(actor=cc.users[Role.VILLAGE_DOCTOR], follow_up=row)
    calm = visit(cc, entry, 1, 120, 70, fasting_glucose="6.1")
    with pytest.raises(Conflict):
        services.referral_from_follow_up(actor=cc.users[Role.VILLAGE_DOCTOR], follow_up=calm)
    assert Referral.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sbp": 300, "dbp": 20}, "sbp"),
        ({"sbp": 120, "dbp": 130}, "sbp"),
        ({"fasting_glucose": "0"}, "fasting_glucose"),
        ({"fasting_glucose": None}, "fasting_glucose"),
        ({"visit_date": days_ago(-3)}, "visit_date"),
        ({"visit_date": days_ago(900)}, "visit_date"),
        ({"heart_rate": 400}, "heart_rate"),
        ({"mode": "fax"}, "mode"),
    ],
)
def test_bad_input_writes_nothing(cc: Any, change: dict, field: str) -> None:
    entry = enrol(cc, "dm", programme="diabetes")
    before = (FollowUp.objects.count(), Task.objects.count(), AuditEvent.objects.count())
    data = {"visit_date": days_ago(5), "sbp": 130, "dbp": 80, "fasting_glucose": "6.5", **change}
    with pytest.raises(InvalidInput) as err:
        services.follow_up_record(actor=cc.users[Role.VILLAGE_DOCTOR], enrollment=entry, **data)
    assert err.value.field == field
    assert (FollowUp.objects.count(), Task.objects.count(), AuditEvent.objects.count()) == before


def test_scope_village_township_and_foreign(cc: Any) -> None:
    with pytest.raises(NotFound):
        services.enrollment_create(
            actor=cc.users[Role.VILLAGE_DOCTOR],
            patient=cc.patients["neighbour"],
            programme="hypertension",
            diagnosed_on=days_ago(30),
            source="screening",
            risk_level="low",
        )
    township = services.enrollment_create(
        actor=cc.users[Role.TOWNSHIP_DOCTOR],
        patient=cc.patients["neighbour"],
        programme="hypertension",
        diagnosed_on=days_ago(30),
        source="screening",
        risk_level="low",
    )
    with pytest.raises(NotFound):
        visit(cc, township, 2, who="village2")
    for role in (Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU, Role.COUNTY_DOCTOR, Role.RESIDENT):
        with pytest.raises(Forbidden):
            visit(cc, township, 2, who=role)
    assert FollowUp.objects.count() == 0


def test_elderly_service_band_and_age(cc: Any) -> None:
    row = services.elderly_service_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["old"],
        service_date=days_ago(10),
        self_care_score=9,
        sbp=135,
        dbp=82,
    )
    assert row.self_care_band == "moderate"
    assert Task.objects.get(
        patient=cc.patients["old"], programme="elderly", status="open"
    ).due_on == days_ago(10 - 365)
    with pytest.raises(InvalidInput) as err:
        services.elderly_service_record(
            actor=cc.users[Role.VILLAGE_DOCTOR],
            patient=cc.patients["dm"],
            service_date=days_ago(1),
            self_care_score=0,
            sbp=120,
            dbp=80,
        )
    assert err.value.field == "patient"
    assert ElderlyService.objects.count() == 1


def test_screening_high_risk_every_six_months_and_enrolment_ends_it(cc: Any) -> None:
    services.screening_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["ht"],
        screened_on=days_ago(4),
        sbp=135,
        dbp=85,
        high_risk=True,
    )
    task = Task.objects.get(patient=cc.patients["ht"], programme="screening", status="open")
    assert task.due_on == days_ago(4 - 182)
    with pytest.raises(InvalidInput):
        services.screening_record(
            actor=cc.users[Role.VILLAGE_DOCTOR],
            patient=cc.patients["young"],
            screened_on=days_ago(1),
            sbp=120,
            dbp=80,
        )
    enrol(cc, "ht")
    assert not Task.objects.filter(patient=cc.patients["ht"], programme="screening", status="open").exists()


def test_incremental_equals_rebuild_after_random_follow_ups(cc: Any) -> None:
    rng = random.Random(7)
    entries = [enrol(cc, "ht"), enrol(cc, "dm", programme="diabetes"), enrol(cc, "old")]
    entries.append(
        services.enrollment_create(
            actor=cc.users[Role.TOWNSHIP_DOCTOR],
            patient=cc.patients["neighbour"],
            programme="diabetes",
            diagnosed_on=days_ago(300),
            source="health_check",
            risk_level="high",
        )
    )
    services.screening_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["dm"],
        screened_on=days_ago(200),
        sbp=138,
        dbp=86,
    )
    tasks.rebuild(timezone.localdate())  # the baseline, as at installation; then only incremental
    for _ in range(40):
        entry = rng.choice(entries)
        ago = rng.randint(0, 280)
        sbp = rng.choice([120, 135, 145, 160, 185])
        glucose = rng.choice(["5.5", "6.8", "7.4", "9.0", "17.0", "3.5"])
        visit(
            cc,
            entry,
            ago,
            sbp,
            80,
            who=Role.TOWNSHIP_DOCTOR,
            fasting_glucose=glucose if entry.programme == "diabetes" else None,
        )
    services.elderly_service_record(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients["old"],
        service_date=days_ago(30),
        self_care_score=2,
        sbp=130,
        dbp=80,
    )
    today = timezone.localdate()
    incremental = tasks.open_keys()
    assert len(incremental) >= 6
    tasks.rebuild(today)
    assert tasks.open_keys() == incremental
    tasks.rebuild_naive(today)
    assert tasks.open_keys() == incremental


def test_rebuild_is_for_the_office(cc: Any) -> None:
    enrol(cc, "ht")
    with pytest.raises(Forbidden):
        services.tasks_rebuild(actor=cc.users[Role.VILLAGE_DOCTOR])
    assert services.tasks_rebuild(actor=cc.users[Role.CONSORTIUM_OFFICE]) >= 2
    assert AuditEvent.objects.filter(verb="chronic.tasks_rebuild").count() == 1
    assert Enrollment.objects.count() == 1


def test_reference_compute_and_control_snapshot(cc: Any) -> None:
    from decimal import Decimal

    from yigongti.chronic.models import ProgrammeReference
    from yigongti.chronic.signals import chronic_changed

    seen: list[Any] = []

    def receiver(sender: Any, keys: Any, **kw: Any) -> None:
        seen.append(keys)

    chronic_changed.connect(receiver)
    try:
        entry = enrol(cc, "ht")
        visit(cc, entry, 20, 150, 95)
        visit(cc, entry, 6, 128, 80)
    finally:
        chronic_changed.disconnect(receiver)
    entry.refresh_from_db()
    assert entry.last_on_target and entry.last_visit_date == days_ago(6)
    assert (cc.village.pk, None) in seen[-1]
    assert sorted(FollowUp.objects.values_list("visit_in_year", flat=True))[-1] >= 1
    year = timezone.localdate().year
    with pytest.raises(Forbidden):
        services.reference_compute(actor=cc.users[Role.VILLAGE_DOCTOR], year=year)
    with pytest.raises(InvalidInput):
        services.reference_compute(actor=None, year=year, prevalence={"hypertension": Decimal("1.5")})
    services.reference_compute(actor=cc.users[Role.CONSORTIUM_OFFICE], year=year, quota_share=Decimal("0.5"))
    row = ProgrammeReference.objects.get(institution=cc.village, year=year, programme="hypertension")
    assert row.residents_35 == 3 and row.estimated_patients == 1 and row.quota == 0  # 3 x 0.25 rounds to 1
    assert AuditEvent.objects.filter(verb="chronic.reference_compute").count() == 1
