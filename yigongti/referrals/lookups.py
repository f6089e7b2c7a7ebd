"""Turn what a form or a JSON body names (codes, ids) into rows, with errors that name the field.

Institutions, departments, reasons and green-channel kinds are a public directory; patients and
referrals are personal and are checked by the services and selectors.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope
from yigongti.core.errors import InvalidInput, NotFound
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient

from .choices import ASSIGNABLE, Direction, Status, can_move
from .models import FollowUpTask, GreenChannelKind, Referral, ReferralReason
from .selectors import receivers_for
from .services import Actor, _is_receiver, _is_sender


def institution_by_code(scope: Scope, code: str, field: str = "to_institution") -> Institution:
    found = receivers_for(scope=scope).filter(code=(code or "").strip()).first()
    if found is None:
        # a member of another consortium, or an outside hospital not marked external
        if Institution.objects.filter(code=(code or "").strip()).exists():
            raise InvalidInput(
                _(
                    "This institution is neither a member of the consortium nor a hospital marked "
                    "as external: out-of-county referrals go to external hospitals."
                ),
                field=field,
            )
        raise InvalidInput(_("No institution with this code."), field=field)
    return found


def department_by_id(department_id: int | None, field: str = "to_department") -> Department | None:
    if department_id is None:
        return None
    found = Department.objects.filter(pk=department_id).first()
    if found is None:
        raise InvalidInput(_("No such department."), field=field)
    return found


def staff_by_id(staff_id: int | None, field: str = "doctor") -> Staff | None:
    if staff_id is None:
        return None
    found = Staff.objects.filter(pk=staff_id).first()
    if found is None:
        raise InvalidInput(_("No such doctor."), field=field)
    return found


def reason_by_code(code: str) -> ReferralReason | None:
    if not (code or "").strip():
        return None
    found = ReferralReason.objects.filter(code=code.strip(), is_active=True).first()
    if found is None:
        raise InvalidInput(_("Unknown referral reason."), field="reason")
    return found


def green_by_code(code: str | None) -> GreenChannelKind | None:
    if not (code or "").strip():
        return None
    found = GreenChannelKind.objects.filter(code=(code or "").strip(), is_active=True).first()
    if found is None:
        raise InvalidInput(_("Unknown green-channel kind."), field="green_channel")
    return found


def slot_by_id(scope: Scope, slot_id: int | None) -> Any:
    """A scheduling slot of the consortium (the appointment booked with the referral)."""
    if slot_id is None:
        return None
    from yigongti.scheduling.selectors import slot_get_for

    try:
        return slot_get_for(scope=scope, pk=slot_id)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="slot") from None


def open_slots(scope: Scope, institution: Institution, department: Department | None) -> list[Any]:
    """Appointments a referring doctor may book at the receiver (reserved ones included)."""
    from yigongti.scheduling.selectors import slots_open_for

    return list(
        slots_open_for(scope=scope, institution=institution, department=department, for_referral=True)[:60]
    )


def patient_by_id(patient_id: int) -> Patient:
    found = Patient.objects.select_related("village").filter(pk=patient_id, merged_into__isnull=True).first()
    if found is None:
        raise NotFound(_("No such patient in your scope."), field="patient")
    return found


# --- what the user may do next ----------------------------------------------------------------

SENDER_MOVES = {Status.SUBMITTED: "submit"}
RECEIVER_MOVES = {
    Status.ACCEPTED: "accept",
    Status.REJECTED: "reject",
    Status.REDIRECTED: "redirect",
    Status.ARRIVED: "arrive",
    Status.IN_CARE: "start_care",
    Status.COMPLETED: "complete",
}


def actions_for(user: Any, scope: Scope, referral: Referral) -> list[str]:
    """The actions the page and the API offer: legal moves the user's side may make."""
    if not scope.can_write or scope.self_patient_only or scope.membership is None:
        return []
    who = Actor(user)
    sender = _is_sender(who, referral)
    receiver = _is_receiver(who, referral)
    own = who.institution_id == referral.from_institution_id
    external = referral.to_institution.level == "external"
    if own and not (who.office and external):
        receiver = False
    actions = []
    for target, name in SENDER_MOVES.items():
        if sender and can_move(referral.status, target):
            actions.append(name)
    for target, name in RECEIVER_MOVES.items():
        if receiver and can_move(referral.status, target):
            actions.append(name)
    if receiver and referral.status in ASSIGNABLE:
        actions.append("assign")
    if (sender or receiver or who.office) and can_move(referral.status, Status.CANCELLED):
        actions.append("cancel")
    if (sender or receiver) and referral.status not in (
        Status.REJECTED,
        Status.CANCELLED,
        Status.FOLLOWED_UP,
    ):
        actions.append("attach")
    task = open_task(referral)
    if task is not None and scope.sees_institution(task.institution_id) and not scope.is_oversight:
        actions.append("follow_up")
    return actions


def open_task(referral: Referral) -> FollowUpTask | None:
    return referral.follow_ups.filter(status="open").first()


def is_downward(referral: Referral) -> bool:
    return referral.direction == Direction.DOWNWARD
