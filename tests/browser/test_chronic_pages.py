"""Chronic disease in Chromium, in Chinese: the village doctor opens her worklist, records a
follow-up on the national form (a wrong value is refused beside its field), gets the urgent
classification and refers upward with one click; she records an elderly service with its
self-care band; the office sees counts per village; the resident reads her results on a phone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.chronic import services
from yigongti.chronic.models import ElderlyService, FollowUp
from yigongti.core.testing import PASSWORD, add_resident_record, build_small_county, make_patient
from yigongti.referrals.models import Referral

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def test_worklist_follow_up_urgent_referral_and_elderly(live_server: Any, page: Any, chromium: Any) -> None:
    county = build_small_county()
    today = timezone.localdate()
    patient = make_patient(county.village, 11, "王建国", dt.date(1956, 3, 2), sex="M")
    entry = services.enrollment_create(
        actor=county.users[Role.VILLAGE_DOCTOR],
        patient=patient,
        programme="hypertension",
        diagnosed_on=today - dt.timedelta(days=400),
        enrolled_on=today - dt.timedelta(days=30),
        source="outpatient",
        risk_level="high",
    )
    me = add_resident_record(county)
    mine = services.enrollment_create(
        actor=county.users[Role.VILLAGE_DOCTOR],
        patient=me,
        programme="diabetes",
        diagnosed_on=today - dt.timedelta(days=300),
        source="health_check",
        risk_level="medium",
    )
    services.follow_up_record(
        actor=county.users[Role.VILLAGE_DOCTOR],
        enrollment=mine,
        visit_date=today - dt.timedelta(days=3),
        sbp=128,
        dbp=78,
        fasting_glucose="6.4",
    )
    base = live_server.url

    _log_in(page, base, "t_village_doctor")
    page.click("[data-testid=nav-chronic]")
    page.click("[data-testid=box-overdue]")
    page.wait_for_url("**/chronic/**overdue**")
    row = page.locator("[data-testid=task-row]", has_text="王建国")
    row.first.wait_for()
    assert row.count() == 1
    row.locator("[data-testid=task-record]").click()
    page.wait_for_url(f"{base}/chronic/enrollments/{entry.pk}/follow-up/")
    page.locator("#id_sbp").wait_for()  # content() may read a page still arriving
    assert "高血压患者随访服务记录表" in page.content()
    page.fill("#id_sbp", "300")
    page.fill("#id_dbp", "20")
    page.click("[data-testid=save]")
    assert "收缩压应在" in page.locator("[data-testid=error-sbp]").inner_text()
    assert FollowUp.objects.filter(enrollment=entry).count() == 0
    page.fill("#id_sbp", "186")
    page.fill("#id_dbp", "112")
    page.fill("#id_heart_rate", "96")
    page.fill("#id_symptoms", "头痛、头晕")
    page.click("[data-testid=save]")
    page.locator("[data-testid=follow-up-row]").first.wait_for()
    assert page.locator("[data-testid=classification]").first.inner_text() == "紧急转诊"
    screenshot(page, "chronic-patient-urgent")
    page.click("[data-testid=refer-button]")
    page.wait_for_url(f"{base}/referrals/*/")
    referral = Referral.objects.get()
    assert referral.status == "draft" and "186/112" in referral.history
    assert "186/112" in page.content()

    page.goto(f"{base}/chronic/patients/{me.pk}/elderly/")
    page.fill("#id_self_care_score", "6")
    page.fill("#id_sbp", "132")
    page.fill("#id_dbp", "80")
    page.click("[data-testid=save]")
    page.locator("[data-testid=elderly-services]").wait_for()
    assert "轻度依赖" in page.locator("[data-testid=elderly-services]").inner_text()
    assert ElderlyService.objects.count() == 1
    page.click("[data-testid=logout]")

    _log_in(page, base, "t_consortium_office")
    page.click("[data-testid=nav-chronic]")
    page.wait_for_url(f"{base}/chronic/overview/")
    village = page.locator("[data-testid=village-row]", has_text=county.village.name)
    village.first.wait_for()  # count() does not wait for the page to arrive
    assert village.count() == 1
    assert "王建国" not in page.content()
    screenshot(page, "chronic-office-overview")

    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = phone.new_page()
    try:
        _log_in(mobile, base, "t_resident")
        mobile.click("[data-testid=nav-chronic]")
        results = mobile.locator("[data-testid=my-follow-ups]").inner_text()
        assert "128/78" in results and "控制满意" in results
        assert "2型糖尿病" in mobile.locator("[data-testid=my-enrollments]").inner_text()
        screenshot(mobile, "chronic-resident-phone")
    finally:
        phone.close()
