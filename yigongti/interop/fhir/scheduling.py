"""Schedule (clinic sessions), Slot and Appointment (bookings) over ``scheduling``: read and
search; an Appointment is created (a place booked) and updated to ``cancelled`` (the place given
back) through the scheduling services, which hold the race for the last place and decide who
may book what, as in the pages and ``/api/scheduling``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from yigongti.core.audit import audit
from yigongti.core.errors import DomainError, NotFound
from yigongti.scheduling import services as booking_services
from yigongti.scheduling.choices import BookingStatus, SessionStatus
from yigongti.scheduling.models import Booking, ClinicSession, Slot
from yigongti.scheduling.selectors import booking_list_for, session_list_for, slot_get_for

from .base import (
    YGT,
    Ctx,
    Include,
    ResourceType,
    SearchParam,
    Written,
    coding,
    date_q,
    instant,
    int_id,
    int_q,
    reference_id,
    split_token,
)
from .outcome import FhirError, from_domain
from .validate import validate_structure

DEPARTMENT_SYSTEM = f"{YGT}/CodeSystem/department-category"
APPOINTMENT_STATUS = {
    BookingStatus.BOOKED: "booked",
    BookingStatus.CHECKED_IN: "arrived",
    BookingStatus.NO_SHOW: "noshow",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.RESCHEDULED: "cancelled",
}


class ScheduleType(ResourceType):
    name = "Schedule"
    model = ClinicSession
    documentation = "Clinic sessions (出诊) of the institutions in scope."

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "actor", "reference", "Institution (Organization) or doctor (Practitioner)", self._actor
            ),
            SearchParam("date", "date", "Day of the session", lambda v, m: date_q("date", v)),
            SearchParam(
                "active",
                "token",
                "true | false",
                lambda v, m: Q(status=SessionStatus.OPEN) if v == "true" else ~Q(status=SessionStatus.OPEN),
            ),
        ]

    def _actor(self, value: str, modifier: str) -> Q:
        if "Practitioner/" in value:
            return int_q("doctor_id", reference_id(value, "Practitioner"))
        return Q(institution__code=reference_id(value, "Organization"))

    def include_list(self) -> list[Include]:
        return [Include("actor", "Organization", lambda rows: {r.institution.code for r in rows})]

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return session_list_for(scope=ctx.scope).order_by()

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        actors = [{"reference": f"Organization/{row.institution.code}", "display": row.institution.name}]
        if row.doctor_id:
            actors.append({"reference": f"Practitioner/{row.doctor_id}", "display": row.doctor.name})
        resource: dict[str, Any] = {
            "resourceType": "Schedule",
            "id": str(row.pk),
            "meta": self.meta(row),
            "active": row.status == SessionStatus.OPEN,
            "actor": actors,
            "planningHorizon": {"start": instant(row.starts_at), "end": instant(row.ends_at)},
        }
        if row.department_id:
            resource["serviceType"] = [
                {"coding": [coding(DEPARTMENT_SYSTEM, row.department.category)], "text": row.department.name}
            ]
        if row.note:
            resource["comment"] = row.note
        return resource


class SlotType(ResourceType):
    name = "Slot"
    model = Slot
    documentation = (
        "Appointment slots of the consortium's clinic sessions; reserved-for-referral slots say so."
    )

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "schedule",
                "reference",
                "The clinic session",
                lambda v, m: int_q("session_id", reference_id(v, "Schedule")),
            ),
            SearchParam("start", "date", "Start", lambda v, m: date_q("starts_at", v, is_datetime=True)),
            SearchParam("status", "token", "free | busy", self._status),
        ]

    def _status(self, value: str, modifier: str) -> Q:
        code = split_token(value)[1]
        if code == "free":
            return Q(booked__lt=F("capacity"), session__status=SessionStatus.OPEN)
        if code == "busy":
            return Q(booked__gte=F("capacity"))
        if code == "busy-unavailable":
            return ~Q(session__status=SessionStatus.OPEN)
        return Q(pk__in=[])

    def include_list(self) -> list[Include]:
        return [Include("schedule", "Schedule", lambda rows: {str(r.session_id) for r in rows})]

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        if ctx.scope.membership is None or ctx.scope.consortium_id is None:
            return Slot.objects.none()
        return Slot.objects.filter(
            session__institution__consortium_id=ctx.scope.consortium_id
        ).select_related("session")

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        if row.session.status != SessionStatus.OPEN:
            status = "busy-unavailable"
        else:
            status = "busy" if row.booked >= row.capacity else "free"
        resource: dict[str, Any] = {
            "resourceType": "Slot",
            "id": str(row.pk),
            "meta": self.meta(row),
            "schedule": {"reference": f"Schedule/{row.session_id}"},
            "status": status,
            "start": instant(row.starts_at),
            "end": instant(row.ends_at),
        }
        if row.reserved_for_referral:
            resource["comment"] = "reserved for referrals"
        return resource


class AppointmentType(ResourceType):
    name = "Appointment"
    model = Booking
    interactions = ("read", "search-type", "create", "update")
    documentation = (
        "Bookings of slots: the resident and the slot; status booked, arrived, noshow or cancelled. "
        "Create books the one slot named for the Patient participant (status booked); update "
        "with status cancelled cancels it. Who may book or cancel what is the scheduling rules'."
    )
    #: ``start``, ``end`` (the slot's) and ``created`` (the booking's) are checked or set here
    accepted = frozenset({"status", "slot", "participant", "start", "end", "created"})

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "patient",
                "reference",
                "The resident",
                lambda v, m: int_q("patient_id", reference_id(v, "Patient")),
            ),
            SearchParam(
                "slot", "reference", "The slot", lambda v, m: int_q("slot_id", reference_id(v, "Slot"))
            ),
            SearchParam("date", "date", "Start", lambda v, m: date_q("slot__starts_at", v, is_datetime=True)),
            SearchParam("status", "token", "booked | arrived | noshow | cancelled", self._status),
        ]

    def _status(self, value: str, modifier: str) -> Q:
        code = split_token(value)[1]
        return Q(status__in=[s for s, t in APPOINTMENT_STATUS.items() if t == code])

    def include_list(self) -> list[Include]:
        return [
            Include("patient", "Patient", lambda rows: {str(r.patient_id) for r in rows}),
            Include("slot", "Slot", lambda rows: {str(r.slot_id) for r in rows}),
        ]

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return booking_list_for(scope=ctx.scope).order_by()

    def export_queryset(self, ctx: Ctx, patient_ids: set[int] | None) -> QuerySet[Any] | None:
        qs = self.queryset(ctx)
        return qs if patient_ids is None else qs.filter(patient_id__in=patient_ids)

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        slot = row.slot
        participants = [{"actor": {"reference": f"Patient/{row.patient_id}"}, "status": "accepted"}]
        participants.append(
            {"actor": {"reference": f"Organization/{slot.session.institution.code}"}, "status": "accepted"}
        )
        return {
            "resourceType": "Appointment",
            "id": str(row.pk),
            "meta": self.meta(row),
            "status": APPOINTMENT_STATUS.get(row.status, "booked"),
            "start": instant(slot.starts_at),
            "end": instant(slot.ends_at),
            "slot": [{"reference": f"Slot/{row.slot_id}"}],
            "created": instant(row.created_at)[:10],
            "participant": participants,
        }

    # -- writes ---------------------------------------------------------------------------------
    def create(self, ctx: Ctx, resource: dict[str, Any]) -> Written:
        self.refuse_unknown(resource)
        validate_structure(resource, "Appointment")
        if resource.get("status") != "booked":
            raise FhirError(
                422,
                "business-rule",
                _("A new appointment is booked at once: its status must be booked."),
                expression="Appointment.status",
            )
        slots = resource.get("slot") or []
        if len(slots) != 1:
            raise FhirError(
                422, "required", _("Name exactly one slot to book."), expression="Appointment.slot"
            )
        slot_ref = str(slots[0].get("reference") or "")
        patient_ref = _patient_participant(resource)
        slot = _resolve(
            lambda: slot_get_for(scope=ctx.scope, pk=_int_id(reference_id(slot_ref, "Slot"))),
            slot_ref,
            "Appointment.slot",
        )
        _slot_participants(resource, slot)
        _same_times(resource, slot)
        patient = _resolve(
            lambda: booking_services.patient_for_booking(
                scope=ctx.scope, patient_id=_int_id(reference_id(patient_ref, "Patient"))
            ),
            patient_ref,
            "Appointment.participant",
        )
        try:
            booking = booking_services.booking_create(actor=ctx.user, slot=slot, patient=patient)
        except DomainError as exc:
            raise from_domain(exc, prefix="Appointment.") from None
        audit(
            actor=ctx.user,
            verb="interop.appointment_write",
            subject=booking,
            membership=ctx.membership,
            after={"status": "booked", "slot": slot.pk},
        )
        return Written(row=self.get(ctx, str(booking.pk)), created=True)

    def update(self, ctx: Ctx, resource_id: str, resource: dict[str, Any]) -> Written:
        self.refuse_unknown(resource)
        validate_structure(resource, "Appointment")
        booking = self.get(ctx, resource_id)
        slot_refs = [str(r.get("reference") or "") for r in resource.get("slot") or []]
        if slot_refs and slot_refs != [f"Slot/{booking.slot_id}"]:
            raise FhirError(
                422,
                "business-rule",
                _("An appointment keeps its slot: to move it, cancel it and book the new slot."),
                expression="Appointment.slot",
            )
        if resource.get("participant") and _patient_participant(resource) != f"Patient/{booking.patient_id}":
            raise FhirError(
                422,
                "business-rule",
                _("An appointment keeps its resident: book a new one for someone else."),
                expression="Appointment.participant",
            )
        current = APPOINTMENT_STATUS.get(booking.status, "booked")
        wanted = resource.get("status")
        if wanted == current:
            return Written(row=booking, created=False)
        if wanted != "cancelled":
            raise FhirError(
                409,
                "business-rule",
                _("An appointment can only be cancelled here (status cancelled); it is %(status)s.")
                % {"status": current},
                expression="Appointment.status",
            )
        try:
            booking_services.booking_cancel(actor=ctx.user, booking=booking, reason="FHIR")
        except DomainError as exc:
            raise from_domain(exc, prefix="Appointment.") from None
        return Written(row=self.get(ctx, resource_id), created=False)


def _int_id(value: str) -> int:
    """A logical id as the services take it (0, which no row has, for anything else)."""
    return int_id(value) or 0


def _patient_participant(resource: dict[str, Any]) -> str:
    """The one Patient participant's reference (other participants are the slot's own)."""
    refs = [
        str((p.get("actor") or {}).get("reference") or "")
        for p in resource.get("participant") or []
        if str((p.get("actor") or {}).get("reference") or "").startswith("Patient/")
    ]
    if len(refs) != 1:
        raise FhirError(
            422,
            "required",
            _("Name exactly one Patient participant: the resident to book for."),
            expression="Appointment.participant",
        )
    return refs[0]


def _resolve(find: Any, ref: str, expression: str) -> Any:
    """What ``find`` finds, or 422 naming the reference that does not resolve (also when it is
    outside the caller's scope)."""
    try:
        return find()
    except NotFound:
        raise FhirError(
            422,
            "not-found",
            _("The reference %(ref)s does not resolve.") % {"ref": ref[:100] or "-"},
            expression=expression,
        ) from None


def _slot_participants(resource: dict[str, Any], slot: Slot) -> None:
    """Participants besides the resident must be the slot's own institution or doctor."""
    session = slot.session
    own = {f"Organization/{session.institution.code}"}
    if session.doctor_id:
        own.add(f"Practitioner/{session.doctor_id}")
    for p in resource.get("participant") or []:
        ref = str((p.get("actor") or {}).get("reference") or "")
        if not ref.startswith("Patient/") and ref not in own:
            raise FhirError(
                422,
                "business-rule",
                _("%(ref)s does not take part in this slot (its clinic and doctor: %(own)s).")
                % {"ref": ref[:100] or "-", "own": ", ".join(sorted(own))},
                expression="Appointment.participant",
            )


def _same_times(resource: dict[str, Any], slot: Slot) -> None:
    """``start``/``end``, if given, must be the slot's: a booking takes the slot's times."""
    for element, value in (("start", slot.starts_at), ("end", slot.ends_at)):
        given = resource.get(element)
        if given is not None and given != instant(value):
            try:
                same = dt.datetime.fromisoformat(str(given)) == value
            except ValueError:
                same = False
            if not same:
                raise FhirError(
                    422,
                    "business-rule",
                    _("Appointment.%(element)s must be the slot's (%(value)s).")
                    % {"element": element, "value": instant(value)},
                    expression=f"Appointment.{element}",
                )
