"""The master patient index in Chromium: a registrar types a near-duplicate and sees the match
panel appear (htmx), registers it; the consortium office opens the review, sees the differences
marked, merges, and undoes the merge from the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from yigongti.core.testing import PASSWORD, build_small_county
from yigongti.patients.matching.services import Entry, registration_create
from yigongti.patients.models import Merge, Patient

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


def test_register_a_near_duplicate_then_review_merge_and_undo(live_server, page):
    county = build_small_county()
    existing = registration_create(
        actor=None,
        institution=county.lead,
        entry=Entry(name="刘秀英", sex="F", birth_date=dt.date(1968, 4, 9), phone="13500000005"),
    ).patient
    base = live_server.url

    # the township doctor registers 刘秀英 with day and month swapped
    _log_in(page, base, "t_township_doctor")
    page.click("[data-testid=nav-register]")
    page.wait_for_url(f"{base}/patients/register/")
    page.locator("[data-testid=match-hint]").wait_for()
    page.fill("#id_name", "刘秀英")
    page.fill("#id_birth_date", "1968-09-04")
    page.select_option("#id_sex", "F")
    page.locator("#id_local_number").press_sequentially("MZ-0001")  # key by key: keyup triggers
    candidate = page.locator("[data-testid=match-candidate]").first
    candidate.wait_for()
    panel = page.locator("[data-testid=match-panel]").inner_text()
    assert "需人工复核" in panel and "日月颠倒" in panel and "1968-04-09" in panel, panel
    screenshot(page, "mpi-register-match-zh")
    page.click("[data-testid=register-submit]")
    text = _messages(page)
    assert "已送医共体办公室人工复核" in text, text
    assert page.input_value("#id_name") == ""  # a fresh form for the next resident
    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login-submit]")

    # the consortium office works the queue
    _log_in(page, base, "t_consortium_office")
    page.locator("[data-testid=open-review-count]").wait_for()
    assert page.locator("[data-testid=open-review-count]").inner_text().strip().endswith("1")
    page.click("[data-testid=nav-reviews]")
    page.wait_for_url(f"{base}/patients/reviews/")
    screenshot(page, "mpi-review-queue-zh")
    page.click("[data-testid=review-link]")
    birth_row = page.locator("[data-testid=compare-table] tr[data-field=birth_date]")
    birth_row.wait_for()
    assert birth_row.get_attribute("class") == "diff" and "≠" in birth_row.inner_text()
    background = birth_row.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), background  # highlighted
    assert page.locator("[data-testid=compare-table] tr[data-field=name]").get_attribute("class") == "same"
    screenshot(page, "mpi-review-detail-zh")
    page.click("[data-testid=decide-same]")
    page.wait_for_url(f"{base}/patients/reviews/")
    assert "已合并" in _messages(page)
    new = Patient.objects.exclude(pk=existing.pk).get(name="刘秀英")
    assert new.merged_into_id == existing.pk

    # and undoes it from the merge history
    page.click("[data-testid=merge-history]")
    page.wait_for_url(f"{base}/patients/merges/")
    screenshot(page, "mpi-merge-history-zh")
    page.click("[data-testid=undo-merge]")
    assert "已撤销合并" in _messages(page)
    assert page.locator("[data-testid=undo-merge]").count() == 0
    screenshot(page, "mpi-merge-undone-zh")
    new.refresh_from_db()
    assert new.merged_into_id is None and Merge.objects.get().undone_at is not None
