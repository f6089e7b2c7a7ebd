"""Family doctors in Chromium, in Chinese: the village doctor signs a contract at the clinic,
the resident confirms it on her phone and sees her plan; the doctor records a due service from
her worklist and the fulfilment rate moves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.testing import PASSWORD, add_resident_record, build_small_county
from yigongti.familydoctor import services
from yigongti.familydoctor.choices import PackageKind, TeamRole
from yigongti.familydoctor.models import Contract, Task
from yigongti.institutions import services as inst

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def _county() -> Any:
    county: Any = build_small_county()
    doctor = county.staff["village_doctor"]
    doctor.user = county.users[Role.VILLAGE_DOCTOR]
    doctor.save()
    nurse = inst.staff_create(
        actor=None,
        institution=county.township,
        employee_no="T0002",
        name="刘护士",
        sex="F",
        profession="nurse",
    )
    ph = inst.staff_create(
        actor=None,
        institution=county.township,
        employee_no="T0003",
        name="周公卫",
        sex="M",
        profession="public_health",
    )
    office = county.users[Role.CONSORTIUM_OFFICE]
    county.team = services.team_create(
        actor=office,
        code="T101-1",
        name="东山村家庭医生团队",
        institution=county.village,
        villages=[county.village],
        members=[(doctor, TeamRole.FAMILY_DOCTOR), (nurse, TeamRole.NURSE), (ph, TeamRole.PUBLIC_HEALTH)],
    )
    county.basic = services.package_create(
        actor=office,
        code="BASIC",
        name="基础服务包",
        kind=PackageKind.BASIC,
        price=Decimal("120"),
        insurance_share=Decimal("120"),
        items=[("年度健康评估", 1, False), ("健康教育与咨询", 2, False)],
    )
    services.package_create(
        actor=office,
        code="ELDER",
        name="老年人个性化包",
        kind=PackageKind.PERSONALISED,
        target_group="elderly",
        price=Decimal("100"),
        insurance_share=Decimal("80"),
        items=[("老年人健康体检", 1, False), ("上门巡诊", 52, True)],
    )
    add_resident_record(county)
    return county


def test_sign_at_the_clinic_confirm_on_the_phone_and_record(
    live_server: Any, chromium: Any, page: Any
) -> None:
    county = _county()
    patient = county.patients["resident"]
    base = live_server.url

    _log_in(page, base, "t_village_doctor")
    page.click("[data-testid=nav-familydoctor]")
    page.click("[data-testid=contract-new]")
    page.fill("#id_patient", patient.health_record_number)
    page.select_option("#id_team", str(county.team.pk))
    page.get_by_label("老年人个性化包", exact=False).check()
    page.get_by_label("基础服务包", exact=False).check()
    screenshot(page, "familydoctor-sign-zh")
    page.click("[data-testid=sign-submit]")
    page.locator("[data-testid=contract-status]", has_text="待确认").wait_for()
    assert "65岁及以上" in page.locator("[data-testid=groups]").inner_text()
    page.click("[data-testid=logout]")

    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = phone.new_page()
    try:
        _log_in(mobile, base, "t_resident")
        mobile.click("[data-testid=nav-familydoctor]")
        mobile.click("[data-testid=my-confirm]")
        mobile.locator("[data-testid=my-status]", has_text="生效中").wait_for()
        assert mobile.locator("[data-testid=plan-row]").count() == Task.objects.count() > 50
        screenshot(mobile, "familydoctor-resident-phone-zh")
    finally:
        phone.close()

    contract = Contract.objects.get(patient=patient)
    first = contract.tasks.order_by("due_on").first()
    assert first is not None and first.due_on <= dt.date.today() + dt.timedelta(days=7)  # noqa: DTZ011 - weekly item
    _log_in(page, base, "t_village_doctor")
    page.goto(f"{base}/familydoctor/tasks/")
    row = page.locator("[data-testid=work-row]").first
    row.locator("input[name=result]").fill("血压132/84，精神可")
    row.locator("[data-testid=work-record]").click()
    page.locator(".messages").wait_for()
    assert contract.tasks.filter(status="done").count() == 1
    page.goto(f"{base}/familydoctor/contracts/{contract.pk}/")
    assert page.locator("[data-testid=plan-row]", has_text="血压132/84").count() == 1
    screenshot(page, "familydoctor-contract-zh")
