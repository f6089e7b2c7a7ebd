"""The demo county's clinic sessions, slots and bookings: two weeks back (with check-ins and
no-shows) and two weeks ahead (with slots reserved for referrals), at the lead hospital's main
departments, the TCM and maternal-child hospitals and every township centre, plus a county
specialist's weekly clinic (专家坐诊) at each township centre.

Tens of thousands of rows, so they are written with ``bulk_create`` in the demo's transaction and
recorded by one audit row (``scheduling.demo_load``), as the residents are; the interactive
services are exercised by the tests. The demo ``resident`` login's household gets bookings too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from yigongti.core.audit import audit
from yigongti.institutions.choices import InstitutionKind, Level, Profession
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient
from yigongti.scheduling.choices import BookingStatus, SessionKind
from yigongti.scheduling.models import Booking, ClinicSession, SchedulingPolicy, Slot
from yigongti.scheduling.services import reserved_indexes

from .people import HEAD, age_on
from .structure import County

DAYS_BACK = 14
DAYS_AHEAD = 14
DOCTORS = [Profession.PHYSICIAN, Profession.TCM_PHYSICIAN, Profession.ASSISTANT_PHYSICIAN]

#: (kind, department codes, sessions per day: (start, end, slot minutes), places per slot, reserved %)
AM = (dt.time(8, 0), dt.time(11, 30), 15)
PM = (dt.time(14, 30), dt.time(17, 0), 15)
TOWN_AM = (dt.time(8, 0), dt.time(11, 30), 20)
SPECIALIST = (dt.time(8, 30), dt.time(11, 30), 20)
PLANS: tuple[tuple[str, tuple[str, ...], tuple[tuple[dt.time, dt.time, int], ...], int, int], ...] = (
    (
        InstitutionKind.LEAD_HOSPITAL,
        ("C01", "C02", "C03", "C04", "C05", "C06", "C07", "C10", "C11", "C14"),
        (AM, PM),
        2,
        20,
    ),
    (InstitutionKind.TCM_HOSPITAL, ("C01", "C02", "C03", "C05"), (AM,), 2, 20),
    (InstitutionKind.MATERNAL_CHILD, ("C01", "C02", "C03"), (AM, PM), 2, 20),
    (InstitutionKind.TOWNSHIP_CENTRE, ("C01", "C02", "C03"), (TOWN_AM,), 2, 0),
)


@dataclass(slots=True)
class BookingRow:
    """A booking to insert (a plain row: building 20,000 model instances costs seconds)."""

    slot: Slot
    patient_id: int
    status: str
    for_referral: bool
    booked_by_role: str
    status_changed_at: dt.datetime
    cancel_reason: str = ""


def _aware(day: dt.date, at: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, at))


class Builder:
    def __init__(self, county: County, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(f"{seed}/scheduling")
        self.county = county
        self.as_of = as_of
        self.now = timezone.now()
        self.busy: set[tuple[int, dt.date, bool]] = set()  # (doctor, day, morning)
        self.sessions: list[ClinicSession] = []
        self.plans: list[tuple[int, tuple[dt.time, dt.time, int], int, int]] = []  # per session

    def days(self, weekdays: int) -> list[dt.date]:
        first = self.as_of - dt.timedelta(days=DAYS_BACK)
        all_days = [first + dt.timedelta(days=i) for i in range(DAYS_BACK + DAYS_AHEAD)]
        return [d for d in all_days if d.weekday() < weekdays]

    def doctors_by_department(self, institution: Institution) -> dict[int, list[Staff]]:
        by_dept: dict[int, list[Staff]] = defaultdict(list)
        for s in Staff.objects.filter(
            institution=institution, is_active=True, profession__in=DOCTORS
        ).order_by("pk"):
            if s.department_id:
                by_dept[s.department_id].append(s)
        return by_dept

    def add(
        self,
        institution: Institution,
        department: Department,
        doctor: Staff | None,
        day: dt.date,
        times: tuple[dt.time, dt.time, int],
        capacity: int,
        share: int,
        kind: str = SessionKind.REGULAR,
    ) -> None:
        start, end, minutes = times
        if doctor is not None:
            self.busy.add((doctor.pk, day, start.hour < 12))
        self.sessions.append(
            ClinicSession(
                institution=institution,
                department=department,
                doctor=doctor,
                kind=kind,
                date=day,
                start=start,
                end=end,
                starts_at=_aware(day, start),
                ends_at=_aware(day, end),
                slot_minutes=minutes,
            )
        )
        self.plans.append((len(self.sessions) - 1, times, capacity, share))

    def regular(self) -> None:
        consortium = self.county.consortium
        for kind, codes, times_list, capacity, share in PLANS:
            weekdays = 5 if kind == InstitutionKind.TOWNSHIP_CENTRE else 6
            for institution in Institution.objects.filter(consortium=consortium, kind=kind).order_by("code"):
                doctors = self.doctors_by_department(institution)
                for dept in Department.objects.filter(institution=institution, code__in=codes).order_by(
                    "code"
                ):
                    pool = doctors.get(dept.pk, [])
                    for i, day in enumerate(self.days(weekdays)):
                        for j, times in enumerate(times_list):
                            doctor = pool[(i * len(times_list) + j) % len(pool)] if pool else None
                            if doctor is not None and (doctor.pk, day, times[0].hour < 12) in self.busy:
                                doctor = None
                            self.add(institution, dept, doctor, day, times, capacity, share)

    def specialists(self) -> None:
        """Each township centre gets one county specialist's morning clinic a week (专家坐诊)."""
        lead_doctors = list(
            Staff.objects.filter(
                institution__consortium=self.county.consortium,
                institution__kind=InstitutionKind.LEAD_HOSPITAL,
                is_active=True,
                profession=Profession.PHYSICIAN,
                title__in=["associate_senior", "senior"],
            ).order_by("pk")
        )
        if not lead_doctors:
            return
        townships = list(
            Institution.objects.filter(
                consortium=self.county.consortium, kind=InstitutionKind.TOWNSHIP_CENTRE
            ).order_by("code")
        )
        depts = {
            d.institution_id: d for d in Department.objects.filter(institution__in=townships, code="C02")
        }
        for n, town in enumerate(townships):
            dept = depts.get(town.pk)
            if dept is None:
                continue
            doctor = lead_doctors[n % len(lead_doctors)]
            weekday = n % 5
            for day in self.days(5):
                if day.weekday() == weekday:
                    # the specialist's own clinic that morning gives way
                    self.busy.add((doctor.pk, day, True))
                    self.add(town, dept, doctor, day, SPECIALIST, 2, 30, SessionKind.SPECIALIST)

    def build_slots(self) -> list[Slot]:
        """The slots of every planned session, not yet saved (their ``booked`` is filled first)."""
        slots: list[Slot] = []
        for index, (_start, _end, minutes), capacity, share in self.plans:
            session = self.sessions[index]
            step = dt.timedelta(minutes=minutes)
            times = []
            at = session.starts_at
            while at + step <= session.ends_at:
                times.append(at)
                at += step
            reserved = reserved_indexes(len(times), share)
            for i, t in enumerate(times):
                slot = Slot(
                    session=session,
                    starts_at=t,
                    ends_at=t + step,
                    capacity=capacity,
                    reserved_for_referral=i in reserved,
                )
                slots.append(slot)
        return slots


def _login_household(as_of: dt.date) -> list[int]:
    """The household of the patient the generator will give the ``resident`` login to (the
    first household head with an ID number and a phone, aged 30 to 65; see ``residents``)."""
    for p in (
        Patient.objects.filter(relation_to_head=HEAD, id_number__isnull=False)
        .exclude(phone="")
        .order_by("pk")
        .only("pk", "birth_date", "household_id")[:500]
    ):
        if p.birth_date and 30 <= age_on(p.birth_date, as_of) <= 65:
            if p.household_id is None:
                return [p.pk]
            members = (
                Patient.objects.filter(household_id=p.household_id)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            return [p.pk, *[m for m in members if m != p.pk]]
    return []


def _fill_share(slot: Slot, now: dt.datetime) -> float:
    """How full a slot is: past ones were well used; the future fills up as the day comes."""
    days = (slot.starts_at - now).total_seconds() / 86400
    if days <= 0:
        return 0.75
    if days <= 2:
        return 0.6
    if days <= 7:
        return 0.35
    return 0.15


def _bookings(builder: Builder, slots: list[Slot], residents: int) -> list[BookingRow]:
    rng = builder.rng
    now = builder.now
    county_patients = list(
        Patient.objects.filter(merged_into__isnull=True).values_list("pk", "village__parent_id")
    )
    by_town: dict[int, list[int]] = defaultdict(list)
    for pk, town in county_patients:
        if town:
            by_town[town].append(pk)
    everyone = [pk for pk, _town in county_patients]
    if not everyone:
        return []
    budget = max(200, int(residents * 0.9))
    bookings: list[BookingRow] = []
    taken: set[tuple[int, int]] = set()  # (session, patient)
    slots = list(slots)
    rng.shuffle(slots)
    for slot in slots:
        if len(bookings) >= budget:
            break
        session = slot.session
        pool = by_town.get(session.institution_id) or everyone
        for _ in range(slot.capacity):
            if rng.random() >= _fill_share(slot, now):
                continue
            if slot.reserved_for_referral and slot.starts_at > now and rng.random() < 0.6:
                continue  # reserved places fill later, through referrals
            patient = rng.choice(pool)
            if (id(slot.session), patient) in taken:
                continue
            taken.add((id(slot.session), patient))
            bookings.append(_booking(rng, slot, patient, now))
    return bookings


def _booking(rng: random.Random, slot: Slot, patient: int, now: dt.datetime) -> BookingRow:
    roll = rng.random()
    if slot.starts_at <= now:
        status = (
            BookingStatus.CHECKED_IN
            if roll < 0.85
            else BookingStatus.NO_SHOW
            if roll < 0.93
            else BookingStatus.CANCELLED
        )
    else:
        status = BookingStatus.CANCELLED if roll < 0.05 else BookingStatus.BOOKED
    return BookingRow(
        slot=slot,
        patient_id=patient,
        status=status,
        for_referral=slot.reserved_for_referral,
        booked_by_role="resident" if not slot.reserved_for_referral else "township_doctor",
        status_changed_at=min(slot.starts_at, now),
        cancel_reason="家中有事" if status == BookingStatus.CANCELLED else "",
    )


def _household_bookings(
    builder: Builder, slots: list[Slot], household: list[int], seen: set[tuple[int, int]]
) -> list[BookingRow]:
    """Two past visits (one missed) and two upcoming ones for the demo login's household."""
    now = builder.now
    public = sorted(
        (
            s
            for s in slots
            if not s.reserved_for_referral
            and s.booked < s.capacity
            and s.session.institution.level == Level.TOWNSHIP
        ),
        key=lambda s: s.starts_at,
    )
    past = [s for s in public if s.starts_at < now - dt.timedelta(days=3)]
    future = [s for s in public if s.starts_at > now + dt.timedelta(days=1)]
    plan = []
    if past and household:
        plan.append((past[len(past) // 3], household[0], BookingStatus.CHECKED_IN))
        plan.append((past[2 * len(past) // 3], household[-1], BookingStatus.NO_SHOW))
    if future and household:
        plan.append((future[len(future) // 4], household[0], BookingStatus.BOOKED))
        plan.append((future[len(future) // 2], household[-1], BookingStatus.BOOKED))
    out = []
    for slot, patient, status in plan:
        if (id(slot.session), patient) in seen:
            continue
        b = BookingRow(
            slot=slot,
            patient_id=patient,
            status=status,
            for_referral=False,
            booked_by_role="resident",
            status_changed_at=min(slot.starts_at, now),
        )
        slot.booked += 1
        out.append(b)
    return out


def _insert(model: Any, fields: list[str], rows: list[tuple[Any, ...]]) -> None:
    """``executemany`` straight into the table: the ORM's per-object work is most of the time of
    a ``bulk_create`` of tens of thousands of rows, and these rows need none of it."""
    ops = connection.ops
    names = ", ".join(ops.quote_name(model._meta.get_field(f).column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    adapt = ops.adapt_datetimefield_value
    prepared = [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), 5000):
            cursor.executemany(sql, prepared[start : start + 5000])


def _insert_slots(slots: list[Slot]) -> None:
    now = timezone.now()
    fields = [
        "created_at",
        "updated_at",
        "session",
        "starts_at",
        "ends_at",
        "capacity",
        "booked",
        "reserved_for_referral",
    ]
    _insert(
        Slot,
        fields,
        [
            (now, now, s.session.pk, s.starts_at, s.ends_at, s.capacity, s.booked, s.reserved_for_referral)
            for s in slots
        ],
    )
    session_ids = {s.session.pk for s in slots}
    ids = {
        (session_id, starts_at): pk
        for pk, session_id, starts_at in Slot.objects.filter(session_id__in=session_ids).values_list(
            "pk", "session_id", "starts_at"
        )
    }
    for s in slots:
        s.pk = ids[(s.session.pk, s.starts_at)]


def _insert_bookings(bookings: list[BookingRow]) -> None:
    now = timezone.now()
    fields = [
        "created_at",
        "updated_at",
        "slot",
        "patient",
        "status",
        "for_referral",
        "booked_by_role",
        "status_changed_at",
        "cancel_reason",
    ]
    rows = [
        (
            min(now, b.slot.starts_at - dt.timedelta(days=3)),
            now,
            b.slot.pk,
            b.patient_id,
            b.status,
            b.for_referral,
            b.booked_by_role,
            b.status_changed_at,
            b.cancel_reason,
        )
        for b in bookings
    ]
    _insert(Booking, fields, rows)


def generate(county: County, *, seed: int, as_of: dt.date, residents: int) -> dict[str, int]:
    builder = Builder(county, seed, as_of)
    SchedulingPolicy.objects.get_or_create(consortium=county.consortium, institution=None)
    builder.specialists()
    builder.regular()
    slots = builder.build_slots()
    bookings = _bookings(builder, slots, residents)
    live = {BookingStatus.BOOKED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW}
    for b in bookings:
        if b.status in live:
            b.slot.booked += 1
    seen = {(id(b.slot.session), b.patient_id) for b in bookings}
    bookings += _household_bookings(builder, slots, _login_household(as_of), seen)
    ClinicSession.objects.bulk_create(builder.sessions, batch_size=2000)
    _insert_slots(slots)
    _insert_bookings(bookings)
    counts = {
        "clinic_sessions": len(builder.sessions),
        "specialist_sessions": sum(1 for s in builder.sessions if s.kind == SessionKind.SPECIALIST),
        "slots": len(slots),
        "bookings": len(bookings),
    }
    audit(actor=None, verb="scheduling.demo_load", subject=county.consortium, after=counts)
    return counts
