"""The referral services: the state machine, who may move it, validation, the closed loop,
the green channel, deadlines and the signal."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.core.models import AuditEvent
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.referrals import services
from yigongti.referrals.choices import Direction, Status, TaskStatus
from yigongti.referrals.models import Alert, FollowUpTask, Referral
from yigongti.referrals.signals import referrals_changed

from .conftest import chest_pain, down_reason, refer_up, up_reason

pytestmark = pytest.mark.django_db


def verbs(referral: Referral) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(referral.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    )


def walk_to_in_care(rc: Any, referral: Referral) -> Referral:
    doctor = rc.users[Role.COUNTY_DOCTOR]
    services.referral_accept(actor=doctor, referral=referral)
    services.referral_arrive(actor=doctor, referral=referral)
    return services.referral_start_care(actor=doctor, referral=referral, mode="admitted")


def complete(rc: Any, referral: Referral) -> Referral:
    return services.referral_complete(
        actor=rc.users[Role.COUNTY_DOCTOR],
        referral=referral,
        diagnosis_code="I10",
        diagnosis_name="高血压2级",
        results="血压 150/95",
        treatment="调整降压药",
        advice="每两周测血压",
    )


def test_upward_referral_walks_the_whole_loop(rc: Any) -> None:
    referral = refer_up(rc)
    assert referral.direction == Direction.UPWARD
    assert referral.status == Status.SUBMITTED and referral.deadline_at is not None
    walk_to_in_care(rc, referral)
    complete(rc, referral)
    referral.refresh_from_db()
    assert referral.status == Status.COMPLETED
    task = FollowUpTask.objects.get(referral=referral)
    assert task.institution == rc.village and task.status == TaskStatus.OPEN
    assert (task.due_on - timezone.localtime(referral.completed_at).date()).days == 14
    services.follow_up_record(actor=rc.users[Role.VILLAGE_DOCTOR], task=task, note="血压平稳")
    referral.refresh_from_db()
    task.refresh_from_db()
    assert referral.status == Status.FOLLOWED_UP and task.status == TaskStatus.DONE
    assert verbs(referral) == [
        "referral.create",
        "referral.submit",
        "referral.accept",
        "referral.arrive",
        "referral.start_care",
        "referral.complete",
        "referral.follow_up_task",
        "referral.follow_up",
    ]


def test_downward_referral_opens_a_task_on_acceptance(rc: Any) -> None:
    referral = services.referral_create(
        actor=rc.users[Role.COUNTY_DOCTOR],
        patient=rc.patients["p"],
        to_institution=rc.township,
        diagnosis_code="I63.9",
        diagnosis_name="脑梗死恢复期",
        reason=down_reason(),
        submit=True,
    )
    assert referral.direction == Direction.DOWNWARD
    services.referral_accept(actor=rc.users[Role.TOWNSHIP_DOCTOR], referral=referral)
    task = FollowUpTask.objects.get(referral=referral)
    assert task.institution == rc.village  # the clinic of residence, not the receiving centre


@pytest.mark.parametrize(
    "steps, illegal",
    [
        ([], "arrive"),
        (["accept"], "accept"),
        (["accept"], "reject"),
        (["reject"], "accept"),
        (["accept", "arrive"], "complete"),
        (["cancel"], "cancel"),
    ],
)
def test_illegal_transitions_are_conflicts_and_write_nothing(rc: Any, steps: list[str], illegal: str) -> None:
    referral = refer_up(rc)
    doctor = rc.users[Role.COUNTY_DOCTOR]
    calls = {
        "accept": lambda: services.referral_accept(actor=doctor, referral=referral),
        "reject": lambda: services.referral_reject(actor=doctor, referral=referral, reason="床位已满"),
        "arrive": lambda: services.referral_arrive(actor=doctor, referral=referral),
        "cancel": lambda: services.referral_cancel(actor=doctor, referral=referral, reason="患者拒绝"),
        "complete": lambda: complete(rc, referral),
    }
    for step in steps:
        calls[step]()
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        calls[illegal]()
    assert AuditEvent.objects.count() == before


def test_bad_input_is_refused_with_its_field_and_nothing_written(rc: Any) -> None:
    before = (Referral.objects.count(), AuditEvent.objects.count())
    cases = [
        ({"to_institution": rc.village}, "to_institution"),
        ({"diagnosis_code": ""}, "diagnosis_code"),
        ({"diagnosis_code": "hypertension"}, "diagnosis_code"),
        ({"diagnosis_code": "Z99.8", "diagnosis_name": " "}, "diagnosis_name"),
        ({"reason": down_reason()}, "reason"),
        ({"reason": None}, "reason"),
    ]
    for change, field in cases:
        with pytest.raises(InvalidInput) as err:
            refer_up(rc, **change)
        assert err.value.field == field, change
    assert (Referral.objects.count(), AuditEvent.objects.count()) == before


def test_an_outside_hospital_must_be_marked_external(rc: Any) -> None:
    other = inst.consortium_create(
        actor=None, code="441824001", name="另一医共体", county_code="441881", county_name="英德市"
    )
    outside = inst.institution_create(
        actor=None, code="441881000001", name="英德市人民医院", kind=K.LEAD_HOSPITAL, consortium=other
    )
    with pytest.raises(InvalidInput) as err:
        refer_up(rc, to_institution=outside)
    assert err.value.field == "to_institution"
    referral = refer_up(rc, to_institution=rc.external)
    assert referral.direction == Direction.OUT_OF_COUNTY


def test_nobody_accepts_their_own_referral_and_only_the_receiver_answers(rc: Any) -> None:
    referral = refer_up(rc)
    with pytest.raises(Forbidden):
        services.referral_accept(actor=rc.users[Role.VILLAGE_DOCTOR], referral=referral)
    with pytest.raises(NotFound):  # another member hospital does not even see it
        services.referral_accept(actor=rc.users["t_tcm"], referral=referral)
    with pytest.raises(NotFound):
        services.referral_accept(actor=rc.users["t_town2"], referral=referral)
    with pytest.raises(Forbidden):
        services.referral_accept(actor=rc.users[Role.HEALTH_BUREAU], referral=referral)
    services.referral_accept(actor=rc.users[Role.CONSORTIUM_OFFICE], referral=referral)  # the service centre


def test_a_village_doctor_refers_only_her_residents(rc: Any) -> None:
    with pytest.raises(NotFound):
        refer_up(rc, patient=rc.patients["foreign"])


def test_green_channel_holds_a_bed_alerts_and_releases_on_arrival(rc: Any) -> None:
    referral = refer_up(rc, green_channel=chest_pain(), urgency="routine")
    assert referral.urgency == "emergency" and referral.bed_held
    assert referral.to_department is not None and referral.to_department.category == "emergency"
    alert = Alert.objects.get(referral=referral)
    assert alert.kind == "green_channel" and alert.acknowledged_at is None
    services.referral_accept(actor=rc.users[Role.COUNTY_DOCTOR], referral=referral)
    services.referral_arrive(actor=rc.users[Role.COUNTY_DOCTOR], referral=referral)
    referral.refresh_from_db()
    assert not referral.bed_held
    assert referral.submitted_at <= referral.arrived_at


def test_cancel_releases_the_hold_and_closes_tasks(rc: Any) -> None:
    referral = refer_up(rc, green_channel=chest_pain())
    services.referral_cancel(actor=rc.users[Role.VILLAGE_DOCTOR], referral=referral, reason="患者拒绝转诊")
    referral.refresh_from_db()
    assert referral.status == Status.CANCELLED and not referral.bed_held


def test_redirect_goes_to_the_new_receiver(rc: Any) -> None:
    referral = refer_up(rc)
    services.referral_redirect(
        actor=rc.users[Role.CONSORTIUM_OFFICE], referral=referral, to_institution=rc.tcm, note="中医优势病种"
    )
    referral.refresh_from_db()
    assert referral.status == Status.REDIRECTED and referral.to_institution == rc.tcm
    assert referral.direction == Direction.UPWARD
    with pytest.raises(NotFound):  # the first receiver handed it on
        services.referral_accept(actor=rc.users[Role.COUNTY_DOCTOR], referral=referral)
    services.referral_accept(actor=rc.users["t_tcm"], referral=referral)


def test_every_change_sends_the_signal_with_both_institutions(rc: Any) -> None:
    seen: list[set[Any]] = []

    def listen(sender: Any, keys: set[Any], **kwargs: Any) -> None:
        seen.append(keys)

    referrals_changed.connect(listen)
    try:
        referral = refer_up(rc)
        services.referral_accept(actor=rc.users[Role.COUNTY_DOCTOR], referral=referral)
    finally:
        referrals_changed.disconnect(listen)
    month = referral.month_key
    assert seen == [{(rc.village.pk, month), (rc.lead.pk, month)}] * 2


def test_deadlines_follow_the_configured_minutes(rc: Any) -> None:
    from yigongti.referrals.models import AcceptanceDeadline

    AcceptanceDeadline.objects.filter(urgency="urgent").update(minutes=45)
    referral = refer_up(rc, urgency="urgent")
    assert (referral.deadline_at - referral.submitted_at).total_seconds() == 45 * 60


def test_read_only_roles_write_nothing(rc: Any) -> None:
    with pytest.raises(Forbidden):
        services.referral_create(
            actor=rc.users[Role.HEALTH_BUREAU],
            patient=rc.patients["p"],
            to_institution=rc.lead,
            diagnosis_code="I10",
            diagnosis_name="高血压",
            reason=up_reason(),
        )


def _reserved_slot(rc: Any) -> Any:
    import datetime as dt

    from yigongti.scheduling.services import session_create

    session = session_create(
        actor=None,
        institution=rc.lead,
        department=rc.lead.departments.get(code="NK"),
        date=timezone.localdate() + dt.timedelta(days=3),
        start=dt.time(8, 0),
        end=dt.time(9, 0),
        referral_share=100,
    )
    return session.slots.filter(reserved_for_referral=True).first()


def test_a_routine_referral_books_a_reserved_slot_and_cancelling_frees_it(rc: Any) -> None:
    slot = _reserved_slot(rc)
    assert slot is not None
    referral = refer_up(rc, slot=slot)
    assert referral.booking is not None and referral.booking.for_referral
    slot.refresh_from_db()
    assert slot.booked == 1
    services.referral_cancel(actor=rc.users[Role.VILLAGE_DOCTOR], referral=referral, reason="患者拒绝")
    slot.refresh_from_db()
    referral.booking.refresh_from_db()
    assert slot.booked == 0 and referral.booking.status == "cancelled"


def test_the_green_channel_and_another_institution_take_no_slot(rc: Any) -> None:
    slot = _reserved_slot(rc)
    before = (Referral.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as err:
        refer_up(rc, slot=slot, green_channel=chest_pain())
    assert err.value.field == "slot"
    with pytest.raises(InvalidInput) as err:
        refer_up(rc, slot=slot, to_institution=rc.tcm)
    assert err.value.field == "slot"
    assert (Referral.objects.count(), AuditEvent.objects.count()) == before
