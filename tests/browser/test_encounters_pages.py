"""Encounters in Chromium: a village doctor records a visit (a refused one first, the error beside
its field), finds it in her list filtered by kind (htmx), opens it; the consortium office sees only
the counts of the month."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from yigongti.core.testing import PASSWORD, build_small_county, make_patient
from yigongti.encounters.models import Encounter
from yigongti.encounters.services import encounter_record

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def test_village_doctor_records_a_visit_and_the_office_sees_counts(live_server, page):
    county = build_small_county()
    resident = make_patient(county.village, 1, "陈桂芳", dt.date(1950, 6, 1))
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    encounter_record(
        actor=None,
        patient=resident,
        institution=county.lead,
        kind="inpatient",
        started_at=timezone.make_aware(dt.datetime.combine(yesterday - dt.timedelta(days=9), dt.time(9))),
        discharged_on=yesterday - dt.timedelta(days=2),
        total_cost="6200.00",
        insurance_paid="4650.00",
        diagnosis_code="J18.9",
    )
    base = live_server.url

    _log_in(page, base, "t_village_doctor")
    page.click("[data-testid=nav-encounters]")
    page.wait_for_url(f"{base}/encounters/")
    assert "J18.9" in page.locator("[data-testid=encounter-table]").inner_text()
    page.click("[data-testid=record-visit]")
    page.wait_for_url(f"{base}/encounters/record/")
    page.fill("#id_patient", resident.health_record_number)
    page.fill("#id_started_at", f"{yesterday.isoformat()}T10:20")
    page.fill("#id_diagnosis_code", "I10")
    page.check("#id_is_tcm")
    page.fill("#id_total_cost", "36.00")
    page.fill("#id_insurance_paid", "40.00")  # more than the total: refused
    page.click("[data-testid=record-submit]")
    error = page.locator("[data-testid=error-insurance_paid]")
    error.wait_for()
    assert "医保支付部分大于总费用" in error.inner_text()
    screenshot(page, "encounters-record-refused-zh")
    page.fill("#id_insurance_paid", "25.00")
    page.click("[data-testid=record-submit]")
    page.wait_for_url(f"{base}/encounters/")
    assert "已登记陈桂芳的门诊" in page.locator(".messages").inner_text()
    visit = Encounter.objects.get(kind="outpatient")
    assert (visit.is_tcm, str(visit.out_of_pocket), visit.institution_id) == (
        True,
        "11.00",
        county.village.pk,
    )

    page.select_option("#id_kind", "outpatient")  # htmx swaps the results
    page.wait_for_url(f"{base}/encounters/?*kind=outpatient*")
    table = page.locator("[data-testid=encounter-table]")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=encounter-table]').innerText.includes('J18.9')"
    )
    assert "门诊" in table.inner_text() and "I10" in table.inner_text()
    screenshot(page, "encounters-list-zh")
    table.locator("a").first.click()
    page.locator("[data-testid=encounter-facts]").wait_for()
    assert "审计日志" in page.content()
    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login-submit]")

    _log_in(page, base, "t_consortium_office")
    page.click("[data-testid=nav-encounters]")
    page.wait_for_url(f"{base}/encounters/summary/")
    total = page.locator("[data-testid=summary-total]")
    total.wait_for()
    assert "陈桂芳" not in page.content()
    screenshot(page, "encounters-summary-zh")
