"""A small county with clinic departments, a resident's household and helpers to open sessions."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.testing import make_patient
from yigongti.institutions import services as inst
from yigongti.institutions.models import Department
from yigongti.patients.models import Household, Registration
from yigongti.scheduling.models import ClinicSession, Slot
from yigongti.scheduling.services import session_create


def day(offset: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset)


def open_session(
    institution, department, *, offset: int = 5, capacity: int = 1, share: int = 0, doctor=None, start=8
):
    return session_create(
        actor=None,
        institution=institution,
        department=department,
        date=day(offset),
        start=dt.time(start, 0),
        end=dt.time(start + 1, 0),
        slot_minutes=15,
        capacity=capacity,
        referral_share=share,
        doctor=doctor,
    )


def into_the_past(session: ClinicSession, days: int = 1) -> ClinicSession:
    """Test setup only: move a session (and its slots) ``days`` back before now."""
    shift = (session.starts_at - timezone.now()) + dt.timedelta(days=days)
    ClinicSession.objects.filter(pk=session.pk).update(
        starts_at=session.starts_at - shift,
        ends_at=session.ends_at - shift,
        date=(session.starts_at - shift).date(),
    )
    for slot in Slot.objects.filter(session=session):
        Slot.objects.filter(pk=slot.pk).update(starts_at=slot.starts_at - shift, ends_at=slot.ends_at - shift)
    session.refresh_from_db()
    return session


@pytest.fixture
def sched(county):
    town_dept = inst.department_create(
        actor=None, institution=county.township, code="QK", name="全科", category="general_practice"
    )
    other_dept = inst.department_create(
        actor=None, institution=county.other_township, code="QK", name="全科", category="general_practice"
    )
    lead_dept = Department.objects.get(institution=county.lead, code="NK")
    household = Household.objects.create(code="4418231010010001", village=county.village, address="东山村3号")
    own = make_patient(
        county.village,
        1,
        "陈桂芳",
        dt.date(1950, 6, 1),
        household=household,
        user=county.users[Role.RESIDENT],
    )
    daughter = make_patient(county.village, 2, "陈小红", dt.date(1978, 2, 3), household=household)
    neighbour = make_patient(county.village, 3, "王春梅", dt.date(1966, 4, 5))
    foreign = make_patient(county.foreign_village, 1, "刘美华", dt.date(1960, 1, 9))
    Registration.objects.create(
        patient=foreign,
        institution=county.lead,
        local_number="ZY0001",
        source="desk",
        name="刘美华",
        decision="new",
    )
    return SimpleNamespace(
        town_dept=town_dept,
        other_dept=other_dept,
        lead_dept=lead_dept,
        household=household,
        own=own,
        daughter=daughter,
        neighbour=neighbour,
        foreign=foreign,
    )
