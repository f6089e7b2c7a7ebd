"""A referral-ready county: residents, a second department, reasons and green-channel kinds
(seeded by the data migration)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from yigongti.accounts.choices import Role
from yigongti.accounts.services import membership_grant, user_create
from yigongti.core.testing import PASSWORD, SmallCounty, make_patient
from yigongti.institutions import services as inst
from yigongti.referrals import services
from yigongti.referrals.models import GreenChannelKind, ReferralReason


@pytest.fixture
def rc(county: SmallCounty) -> SmallCounty:
    county.patients["p"] = make_patient(county.village, 1, "王桂兰", dt.date(1956, 4, 2))
    county.patients["foreign"] = make_patient(
        county.foreign_village, 1, "赵大海", dt.date(1960, 1, 5), sex="M"
    )
    inst.department_create(
        actor=None, institution=county.lead, code="JZ", name="急诊科", category="emergency", beds=8
    )
    # a second county doctor (TCM hospital) and a township doctor at the other township
    for username, institution, role in [
        ("t_tcm", county.tcm, Role.COUNTY_DOCTOR),
        ("t_town2", county.other_township, Role.TOWNSHIP_DOCTOR),
        ("t_village2", county.other_village, Role.VILLAGE_DOCTOR),
    ]:
        user = user_create(actor=None, username=username, password=PASSWORD, full_name=username)
        membership_grant(actor=None, user=user, institution=institution, role=role)
        county.users[username] = user
    return county


def up_reason() -> ReferralReason:
    return ReferralReason.objects.get(code="U01")


def down_reason() -> ReferralReason:
    return ReferralReason.objects.get(code="D02")


def chest_pain() -> GreenChannelKind:
    return GreenChannelKind.objects.get(code="chest_pain")


def refer_up(county: SmallCounty, *, submit: bool = True, **kw: Any) -> Any:
    """The village doctor refers her resident to the lead hospital."""
    fields: dict[str, Any] = {
        "patient": county.patients["p"],
        "to_institution": county.lead,
        "diagnosis_code": "I10",
        "diagnosis_name": "原发性高血压",
        "reason": up_reason(),
        "history": "血压控制不佳三月",
        "submit": submit,
    }
    fields.update(kw)
    return services.referral_create(actor=county.users[Role.VILLAGE_DOCTOR], **fields)
