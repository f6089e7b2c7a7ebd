"""The interface console in Chromium: a hospital system sends HL7 messages (one good, one with a
broken birth date) over HTTP; the consortium office opens 接口 from the menu, sees both with the
reason of the refusal, and filters the refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core.testing import PASSWORD, build_small_county

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _adt(control: str, birth: str) -> bytes:
    return (
        f"MSH|^~\\&|HIS|441823000001|YGT|YGT|20260301083000||ADT^A04^ADT_A01|{control}|P|2.5|||||CHN|"
        "UNICODE UTF-8\r"
        f"PID|1||MZ-{control}^^^441823000001^PI||陈^桂芳||{birth}|F\r"
    ).encode()


def test_office_reads_the_message_log(live_server, page: Any) -> None:
    county = build_small_county()
    raw = token_create(actor=None, user=county.users[Role.COUNTY_DOCTOR], name="his")[1]
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "x-application/hl7-v2+er7"}
    for control, birth in (("GOOD1", "19500601"), ("BAD1", "19501399")):
        answer = httpx.post(
            f"{live_server.url}/api/interop/hl7", content=_adt(control, birth), headers=headers
        )
        assert answer.status_code == 200
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "t_consortium_office")
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")
    page.click("[data-testid=nav-interop]")
    page.wait_for_url(f"{base}/fhir/console/")
    table = page.locator("[data-testid=hl7-table]")
    assert page.locator("h1").inner_text() == "接口"
    assert table.locator("[data-testid=hl7-row]").count() == 2
    assert "PID-7" in table.inner_text() and "GOOD1" in table.inner_text()
    screenshot(page, "interop-console")
    page.select_option("#id_outcome", "AE")
    page.click("[data-testid=filter-submit]")
    page.wait_for_url(f"{base}/fhir/console/?outcome=AE")
    assert page.locator("[data-testid=hl7-row]").count() == 1
    assert "BAD1" in page.locator("[data-testid=hl7-table]").inner_text()
