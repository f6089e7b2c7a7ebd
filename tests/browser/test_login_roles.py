"""Log in as each role in Chromium, see that role's home page in Chinese, switch to English, log out."""

from __future__ import annotations

from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.testing import PASSWORD, add_resident_record, build_small_county

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: A word each role's home page must show in Chinese, and its English twin.
ROLE_MARKERS = {
    Role.CONSORTIUM_OFFICE: ("阳山县人民医院", "阳山县人民医院"),
    Role.HEALTH_BUREAU: ("阳山县人民医院", "阳山县人民医院"),
    Role.COUNTY_DOCTOR: ("阳山县人民医院", "阳山县人民医院"),
    Role.TOWNSHIP_DOCTOR: ("阳城镇卫生院", "阳城镇卫生院"),
    Role.VILLAGE_DOCTOR: ("东山村卫生站", "东山村卫生站"),
    Role.NURSE: ("阳城镇卫生院", "阳城镇卫生院"),
    Role.PHARMACIST: ("阳山县人民医院", "阳山县人民医院"),
    Role.DISPATCHER: ("阳山县人民医院", "阳山县人民医院"),
    Role.RESIDENT: ("我的档案", "My record"),
}


def _log_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_logs_in_sees_home_in_chinese_switches_to_english_and_logs_out(live_server, page, role):
    county = build_small_county()
    add_resident_record(county)
    base = live_server.url
    _log_in(page, base, f"t_{role}", PASSWORD)
    page.wait_for_url(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    zh_marker, en_marker = ROLE_MARKERS[role]
    body = page.locator("body").inner_text()
    assert "首页" in body, body[:500]
    assert zh_marker in body, body[:1000]
    screenshot(page, f"{role}-home-zh")

    page.click("[data-testid=lang-en]")
    page.wait_for_selector("[data-testid=lang-zh]")
    assert page.locator("html").get_attribute("lang") == "en"
    body = page.locator("body").inner_text()
    assert "Home" in body
    assert en_marker in body
    assert "首页" not in body
    screenshot(page, f"{role}-home-en")

    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login-submit]")
    assert "/accounts/login/" in page.url


def test_failed_login_shows_a_clear_message(live_server, page):
    build_small_county()
    _log_in(page, live_server.url, "t_nurse", "not-the-password")
    message = page.locator("[data-testid=login-error]")
    message.wait_for()
    assert "用户名或密码错误" in message.inner_text()
    assert "/accounts/login/" in page.url
    screenshot(page, "login-failed-zh")
