"""A small county with residents in the village, a neighbour village and a foreign township."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.accounts.services import membership_grant, user_create
from yigongti.core.testing import PASSWORD, SmallCounty, build_small_county, make_patient


@pytest.fixture
def cc(db: None) -> SmallCounty:
    county = build_small_county()
    county.patients["ht"] = make_patient(county.village, 11, "王建国", dt.date(1958, 3, 2), sex="M")
    county.patients["dm"] = make_patient(county.village, 12, "李秀兰", dt.date(1965, 7, 9))
    county.patients["old"] = make_patient(county.village, 13, "赵大山", dt.date(1950, 1, 20), sex="M")
    county.patients["young"] = make_patient(county.village, 14, "钱小红", dt.date(2000, 5, 5))
    county.patients["neighbour"] = make_patient(county.other_village, 1, "孙立", dt.date(1955, 4, 4), sex="M")
    county.patients["foreign"] = make_patient(county.foreign_village, 1, "周平", dt.date(1956, 6, 6), sex="M")
    user = user_create(actor=None, username="t_village2", password=PASSWORD, full_name="其他村医")
    membership_grant(actor=None, user=user, institution=county.foreign_village, role=Role.VILLAGE_DOCTOR)
    county.users["village2"] = user
    return county


def days_ago(n: int) -> dt.date:
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=n)


def enrol(cc: Any, key: str, programme: str = "hypertension", diagnosed: int = 400) -> Any:
    from yigongti.chronic import services

    return services.enrollment_create(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=cc.patients[key],
        programme=programme,
        diagnosed_on=days_ago(diagnosed),
        enrolled_on=days_ago(diagnosed - 5),
        source="outpatient",
        risk_level="medium",
    )
