"""The indicator dashboard in Chromium: the office sees every indicator with its traffic light,
clicks a figure to see it by member with the month-by-month chart (plotly.js served locally,
no CSP violation), and clicks a member to see the records behind it, with names masked."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from yigongti.core.testing import PASSWORD, build_small_county
from yigongti.encounters.services import encounter_record
from yigongti.indicators.models import Indicator, IndicatorTarget
from yigongti.indicators.tests.helpers import at, record, residents

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def test_office_drills_from_the_county_figure_to_the_records(live_server, page):
    county = build_small_county()
    people = residents(county, 4)
    record(random.Random(1), county, people, n=30)
    encounter_record(
        actor=None,
        patient=people[0],
        institution=county.village,
        kind="outpatient",
        started_at=at(dt.date(2025, 3, 4)),
        total_cost="40",
        insurance_paid="25",
        out_of_pocket="15",
        residence_county_code="441823",
    )
    IndicatorTarget.objects.create(
        indicator=Indicator.objects.get(code="grassroots_visit_share"),
        consortium=county.consortium,
        year=2025,
        value=65,
    )
    base = live_server.url
    _log_in(page, base, "t_consortium_office")
    page.click("[data-testid=nav-indicators]")
    page.wait_for_url(f"{base}/indicators/")
    page.select_option("[data-testid=period]", "2025")
    page.click("[data-testid=apply]")
    row = page.locator("[data-testid=indicator-row][data-code=grassroots_visit_share]")
    assert "%" in row.locator("[data-testid=value]").inner_text()
    assert row.locator("[data-testid=light]").get_attribute("data-light") in ("green", "amber", "red")
    screenshot(page, "indicators-dashboard-zh")

    row.locator("[data-testid=value]").click()
    page.wait_for_url(f"{base}/indicators/grassroots_visit_share/**")
    page.locator("#trend-chart[data-drawn='1'] .main-svg").first.wait_for()
    page.locator("#ranking-chart[data-drawn='1']").wait_for()
    assert "县域内基层医疗卫生机构门急诊占比" in page.locator("[data-testid=indicator-name]").inner_text()
    screenshot(page, "indicators-breakdown-zh")

    page.locator(f"[data-testid=breakdown-row][data-group='{county.village.pk}'] [data-testid=drill]").click()
    page.wait_for_url(f"{base}/indicators/grassroots_visit_share/records/**")
    rows = page.locator("[data-testid=record-row]")
    assert rows.count() >= 1
    text = page.locator("[data-testid=records-table]").inner_text()
    assert people[0].name not in text and people[0].name[0] + "*" in text
    screenshot(page, "indicators-records-zh")


def test_no_data_period_reads_no_data(live_server, page):
    build_small_county()
    base = live_server.url
    _log_in(page, base, "t_health_bureau")
    page.goto(f"{base}/indicators/?period=2023-Q1")
    values = page.locator("[data-testid=value]").all_inner_texts()
    assert values and all(v == "无数据" or "尚未启用" in v for v in values), values
