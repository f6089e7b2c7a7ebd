"""A county with a family-doctor team at 阳城镇 serving two villages, the basic and hypertension
packages, and residents (one of them the resident login)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.accounts.services import membership_grant, user_create
from yigongti.core.testing import PASSWORD, SmallCounty, add_resident_record, make_patient
from yigongti.familydoctor import services
from yigongti.familydoctor.choices import PackageKind, TeamRole
from yigongti.institutions import services as inst


@pytest.fixture
def fd(county: SmallCounty) -> SmallCounty:
    office = county.users[Role.CONSORTIUM_OFFICE]
    village_doctor = county.staff["village_doctor"]
    village_doctor.user = county.users[Role.VILLAGE_DOCTOR]
    village_doctor.save()
    nurse = inst.staff_create(
        actor=None,
        institution=county.township,
        employee_no="T0002",
        name="刘护士",
        sex="F",
        profession="nurse",
    )
    nurse.user = county.users[Role.NURSE]
    nurse.save()
    ph = inst.staff_create(
        actor=None,
        institution=county.township,
        employee_no="T0003",
        name="周公卫",
        sex="M",
        profession="public_health",
    )
    county.staff.update(nurse=nurse, public_health=ph)
    county.patients["resident"] = add_resident_record(county)
    county.patients["p"] = make_patient(county.village, 2, "王桂兰", dt.date(1956, 4, 2))
    county.patients["young"] = make_patient(county.village, 3, "王小明", dt.date(1990, 4, 2), sex="M")
    county.patients["foreign"] = make_patient(
        county.foreign_village, 1, "赵大海", dt.date(1960, 1, 5), sex="M"
    )
    county.team = services.team_create(  # type: ignore[attr-defined]
        actor=office,
        code="T101-1",
        name="东山村家庭医生团队",
        institution=county.village,
        villages=[county.village, county.other_village],
        members=[
            (village_doctor, TeamRole.FAMILY_DOCTOR),
            (nurse, TeamRole.NURSE),
            (ph, TeamRole.PUBLIC_HEALTH),
            (county.staff["county_doctor"], TeamRole.SPECIALIST),
        ],
    )
    county.basic = services.package_create(  # type: ignore[attr-defined]
        actor=office,
        code="BASIC",
        name="基础包",
        kind=PackageKind.BASIC,
        price=Decimal("120"),
        insurance_share=Decimal("108"),
        items=[("健康评估", 1, False), ("健康教育", 2, False)],
    )
    county.htn = services.package_create(  # type: ignore[attr-defined]
        actor=office,
        code="HTN",
        name="高血压包",
        kind=PackageKind.PERSONALISED,
        target_group="hypertension",
        price=Decimal("150"),
        insurance_share=Decimal("100"),
        items=[("高血压随访", 4, False), ("上门随访", 1, True)],
    )
    user = user_create(actor=None, username="t_town2", password=PASSWORD, full_name="t_town2")
    membership_grant(actor=None, user=user, institution=county.other_township, role=Role.TOWNSHIP_DOCTOR)
    county.users["t_town2"] = user
    return county


def sign(fd: Any, who: str = Role.VILLAGE_DOCTOR, patient: str = "p", **kw: Any) -> Any:
    fields: dict[str, Any] = {"patient": fd.patients[patient], "team": fd.team, "packages": [fd.basic]}
    fields.update(kw)
    return services.contract_sign(actor=fd.users[who], **fields)


def active(fd: Any, patient: str = "p", **kw: Any) -> Any:
    contract = sign(fd, patient=patient, **kw)
    return services.contract_confirm(
        actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, paper_signature=True
    )
