"""Schedule (clinic sessions), Slot and Appointment (bookings) over ``scheduling`` (read and
search). Bookings are made in the scheduling pages and ``/api/scheduling`` (which hold the race
for the last place); the facade does not book yet."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet

from yigongti.scheduling.choices import BookingStatus, SessionStatus
from yigongti.scheduling.models import Booking, ClinicSession, Slot
from yigongti.scheduling.selectors import booking_list_for, session_list_for

from .base import (
    YGT,
    Ctx,
    Include,
    ResourceType,
    SearchParam,
    coding,
    date_q,
    instant,
    reference_id,
    split_token,
)

DEPARTMENT_SYSTEM = f"{YGT}/CodeSystem/department-category"
APPOINTMENT_STATUS = {
    BookingStatus.BOOKED: "booked",
    BookingStatus.CHECKED_IN: "arrived",
    BookingStatus.NO_SHOW: "noshow",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.RESCHEDULED: "cancelled",
}


def _int_q(field_name: str, value: str) -> Q:
    return Q(**{field_name: int(value)}) if value.isdigit() and len(value) < 18 else Q(pk__in=[])


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
            return _int_q("doctor_id", reference_id(value, "Practitioner"))
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
                lambda v, m: _int_q("session_id", reference_id(v, "Schedule")),
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
    documentation = (
        "Bookings of slots: the resident and the slot; status booked, arrived, noshow or cancelled."
    )

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "patient",
                "reference",
                "The resident",
                lambda v, m: _int_q("patient_id", reference_id(v, "Patient")),
            ),
            SearchParam(
                "slot", "reference", "The slot", lambda v, m: _int_q("slot_id", reference_id(v, "Slot"))
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
