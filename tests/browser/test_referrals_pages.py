"""Referrals in Chromium, in Chinese: a village doctor finds her resident in the master index
and refers him up; the county doctor sees the green-channel alert, accepts, receives, treats and
writes the return slip; the village doctor records the follow-up that closes the loop."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.testing import PASSWORD, build_small_county, make_patient
from yigongti.referrals import services
from yigongti.referrals.models import GreenChannelKind, Referral, ReferralReason

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def _log_out(page: Any) -> None:
    page.click("[data-testid=logout]")


def _do(page: Any, action: str) -> None:
    page.locator(f"[data-testid=action-{action}] summary").click()
    page.click(f"[data-testid=do-{action}]")


def test_refer_up_accept_treat_return_and_follow_up(live_server: Any, page: Any) -> None:
    county = build_small_county()
    patient = make_patient(county.village, 1, "张志强", dt.date(1958, 3, 14), sex="M")
    green = services.referral_create(  # someone else's stroke patient on the way in
        actor=county.users[Role.VILLAGE_DOCTOR],
        patient=make_patient(county.village, 2, "李秀珍", dt.date(1949, 8, 2)),
        to_institution=county.lead,
        diagnosis_code="I63.9",
        diagnosis_name="急性脑梗死",
        reason=ReferralReason.objects.get(code="U02"),
        green_channel=GreenChannelKind.objects.get(code="stroke"),
        submit=True,
    )
    base = live_server.url

    _log_in(page, base, "t_village_doctor")
    assert page.locator("[data-testid=nav-referrals]").count() == 1
    page.goto(f"{base}/referrals/new/")
    page.locator("[data-testid=lookup-q]").press_sequentially("张志")
    page.locator("[data-testid=patient-hit]").first.wait_for()
    page.click("[data-testid=choose-patient]")
    assert "张志强" in page.locator("[data-testid=chosen-patient]").inner_text()
    page.select_option("#id_to_institution", county.lead.code)
    page.fill("#id_diagnosis_code", "I10")
    page.select_option("#id_reason", "U04")
    page.fill("#id_history", "血压控制不佳三月，最高190/110 mmHg")
    screenshot(page, "referral-form-zh")
    page.click("[data-testid=referral-submit]")
    page.locator("[data-testid=timeline]").wait_for()
    assert "已提交" in page.locator("[data-testid=status]").inner_text()
    referral = Referral.objects.get(patient=patient)
    pdf = page.request.get(f"{base}/referrals/{referral.pk}/slip.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    _log_out(page)

    _log_in(page, base, "t_county_doctor")
    page.goto(f"{base}/referrals/")
    alert = page.locator("[data-testid=alert]").first
    alert.wait_for()
    assert green.number in alert.inner_text() and "绿色通道" in alert.inner_text()
    rows = page.locator("[data-testid=referral-row]")
    assert rows.count() == 2 and green.number in rows.first.inner_text()  # green channel first
    screenshot(page, "referral-worklist-county-zh")
    assert referral.number in rows.nth(1).inner_text()
    rows.nth(1).locator("a").first.click()
    page.locator("[data-testid=timeline]").wait_for()
    _do(page, "accept")
    page.locator("[data-testid=status]", has_text="已接收").wait_for()
    assert page.locator("[data-testid=action-accept]").count() == 0  # accepting twice is not offered
    _do(page, "arrive")
    page.locator("[data-testid=status]", has_text="已到院").wait_for()
    page.locator("[data-testid=action-start_care] summary").click()
    page.select_option("#id_start_care-mode", "admitted")
    page.click("[data-testid=do-start_care]")
    page.locator("[data-testid=status]", has_text="诊治中").wait_for()
    page.locator("[data-testid=action-complete] summary").click()
    page.fill("#id_complete-diagnosis_code", "I10")
    page.click("[data-testid=do-complete]")
    page.locator("[data-testid=error-advice]").wait_for()  # 422: advice is required
    assert page.locator("[data-testid=error-advice]").is_visible()
    page.fill("#id_complete-advice", "低盐饮食，每日测血压，两周后复诊")
    page.click("[data-testid=do-complete]")
    page.locator("[data-testid=status]", has_text="已回转").wait_for()
    assert page.locator("[data-testid=timeline-entry]").count() >= 6
    _log_out(page)

    _log_in(page, base, "t_village_doctor")
    page.goto(f"{base}/referrals/follow-ups/")
    row = page.locator("[data-testid=task-row]", has_text="张志强")
    row.locator("[data-testid=task-note]").fill("血压148/92，按时服药")
    row.locator("[data-testid=task-record]").click()
    page.locator(".messages").wait_for()
    referral.refresh_from_db()
    assert referral.status == "followed_up"
