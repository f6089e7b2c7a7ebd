"""Appointments in Chromium, in Chinese: a township doctor generates a month of clinics from a
template; a resident on a phone books for her daughter and cancels; a nurse works the day list
(check-in and no-show swap the row in place); a township doctor books a county hospital's
reserved slot for a referral."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.testing import PASSWORD, build_small_county, make_patient
from yigongti.institutions import services as inst
from yigongti.patients.models import Household
from yigongti.scheduling import services
from yigongti.scheduling.choices import BookingStatus
from yigongti.scheduling.models import Booking, ClinicSession, Slot

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def _messages(page: Any) -> str:
    page.locator(".messages").wait_for()
    return page.locator(".messages").inner_text()


def _county() -> Any:
    county: Any = build_small_county()
    county.town_dept = inst.department_create(
        actor=None, institution=county.township, code="QK", name="全科", category="general_practice"
    )
    household = Household.objects.create(code="4418231010010001", village=county.village, address="东山村3号")
    county.own = make_patient(
        county.village,
        1,
        "陈桂芳",
        dt.date(1950, 6, 1),
        household=household,
        user=county.users[Role.RESIDENT],
    )
    county.daughter = make_patient(county.village, 2, "陈小红", dt.date(1978, 2, 3), household=household)
    county.neighbour = make_patient(county.village, 3, "王春梅", dt.date(1966, 4, 5))
    return county


def _session(
    county: Any, institution: Any, department: Any, *, days: int, share: int = 0, capacity: int = 2
) -> Any:
    return services.session_create(
        actor=None,
        institution=institution,
        department=department,
        date=timezone.localdate() + dt.timedelta(days=days),
        start=dt.time(8, 0),
        end=dt.time(9, 0),
        capacity=capacity,
        referral_share=share,
    )


def test_township_doctor_generates_a_month_of_clinics(live_server, page):
    county = _county()
    base = live_server.url
    _log_in(page, base, "t_township_doctor")
    page.click("[data-testid=nav-appointments]")
    page.wait_for_url(f"{base}/scheduling/sessions/")
    assert page.locator("h1").inner_text() == "出诊排班"
    page.click("[data-testid=session-generate]")
    first = timezone.localdate() + dt.timedelta(days=1)
    page.fill("#id_first_date", first.isoformat())
    page.fill("#id_last_date", (first + dt.timedelta(days=27)).isoformat())
    for box in page.locator("input[name=weekdays]").all():
        if box.get_attribute("value") not in ("1", "3"):
            box.uncheck()
    page.select_option("#id_department", str(county.town_dept.pk))
    page.fill("#id_start", "14:00")
    page.fill("#id_end", "16:00")
    page.fill("#id_referral_share", "25")
    screenshot(page, "scheduling-generate-zh")
    page.click("[data-testid=submit]")
    text = _messages(page)
    assert "已开设8次出诊" in text, text
    assert ClinicSession.objects.filter(institution=county.township).count() == 8
    page.locator("[data-testid=session-link]").first.click()
    page.locator("[data-testid=day-list]").wait_for()
    assert "全科" in page.locator("[data-testid=session-title]").inner_text()


def test_resident_on_a_phone_books_for_her_daughter_and_cancels(live_server, chromium):
    county = _county()
    _session(county, county.township, county.town_dept, days=3)
    base = live_server.url
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        _log_in(page, base, "t_resident")
        page.click("[data-testid=nav-appointments]")
        page.wait_for_url(f"{base}/scheduling/bookings/")
        page.click("[data-testid=book-new]")
        page.select_option("#id_institution", county.township.code)
        page.click("[data-testid=search]")
        page.locator("[data-testid=slot]").first.wait_for()
        screenshot(page, "scheduling-resident-slots-zh")
        page.locator("[data-testid=book-slot]").first.click()
        page.locator("[data-testid=book-form]").wait_for()
        page.get_by_label("陈小红").check()
        page.click("[data-testid=confirm]")
        page.wait_for_url(f"{base}/scheduling/bookings/")
        assert "预约成功：陈小红" in _messages(page)
        booking = Booking.objects.get()
        assert booking.patient == county.daughter and booking.booked_by == county.users[Role.RESIDENT]
        card = page.locator("[data-testid=booking]").first
        assert "已预约" in card.inner_text()
        screenshot(page, "scheduling-resident-bookings-zh")
        card.locator("[data-testid=cancel-booking]").click()
        page.wait_for_url(f"{base}/scheduling/bookings/")
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CANCELLED
    finally:
        context.close()


def test_nurse_checks_in_and_marks_a_no_show_on_the_day_list(live_server, page):
    county = _county()
    session = _session(county, county.township, county.town_dept, days=2)
    slot = Slot.objects.filter(session=session).order_by("starts_at")[0]
    resident = county.users[Role.RESIDENT]
    came = services.booking_create(actor=resident, slot=slot, patient=county.own)
    missed = services.booking_create(actor=resident, slot=slot, patient=county.daughter)
    # setup: the session is now running (moved to an hour ago)
    shift = session.starts_at - (timezone.now() - dt.timedelta(hours=1))
    ClinicSession.objects.filter(pk=session.pk).update(
        starts_at=session.starts_at - shift, ends_at=session.ends_at - shift, date=timezone.localdate()
    )
    for s in Slot.objects.filter(session=session):
        Slot.objects.filter(pk=s.pk).update(starts_at=s.starts_at - shift, ends_at=s.ends_at - shift)
    base = live_server.url
    _log_in(page, base, "t_nurse")
    page.goto(f"{base}/scheduling/sessions/{session.pk}/")
    rows = page.locator("[data-testid=booking-row]")
    assert rows.count() == 2
    page.locator(f"#booking-{came.pk} [data-testid=check-in]").click()
    page.locator(f"#booking-{came.pk} [data-testid=booking-status]", has_text="已签到").wait_for()
    page.locator(f"#booking-{missed.pk} [data-testid=no-show]").click()
    page.locator(f"#booking-{missed.pk} [data-testid=booking-status]", has_text="爽约").wait_for()
    screenshot(page, "scheduling-day-list-zh")
    assert Booking.objects.get(pk=came.pk).status == BookingStatus.CHECKED_IN
    assert Booking.objects.get(pk=missed.pk).status == BookingStatus.NO_SHOW


def test_referring_doctor_takes_a_reserved_slot_at_the_county_hospital(live_server, page):
    county = _county()
    lead_dept = county.lead.departments.get(code="NK")
    session = _session(county, county.lead, lead_dept, days=6, share=50, capacity=1)
    base = live_server.url
    _log_in(page, base, "t_township_doctor")
    page.goto(f"{base}/scheduling/book/?institution={county.lead.code}")
    public_count = page.locator("[data-testid=slot]").count()
    page.check("#id_for_referral")
    page.click("[data-testid=search]")
    page.wait_for_url("**for_referral=on**")
    page.locator("[data-testid=slot]", has_text="转诊号源").first.wait_for()
    assert page.locator("[data-testid=slot]").count() == session.slots.count() > public_count
    page.locator("[data-testid=slot]", has_text="转诊号源").first.locator("[data-testid=book-slot]").click()
    page.fill("#id_health_record_number", county.neighbour.health_record_number)
    assert page.is_checked("#id_for_referral")
    page.click("[data-testid=confirm]")
    page.wait_for_url(f"{base}/scheduling/bookings/")
    booking = Booking.objects.get()
    assert booking.for_referral and booking.slot.reserved_for_referral and booking.patient == county.neighbour
