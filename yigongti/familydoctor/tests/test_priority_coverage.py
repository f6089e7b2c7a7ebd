"""Contract coverage of the priority groups (fd_coverage_elderly / _hypertension / _diabetes):
hand-counted values on a small county, cells equal to a rebuild after every kind of write, a
period without a denominator shows no value, and the drill-down opens the rows behind it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic import services as chronic
from yigongti.core.audit import AuditEvent
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.core.testing import make_patient
from yigongti.familydoctor import services
from yigongti.familydoctor.models import Contract
from yigongti.indicators import definitions, engine

from .conftest import active, sign

pytestmark = pytest.mark.django_db

CODES = ("fd_coverage_elderly", "fd_coverage_hypertension", "fd_coverage_diabetes")


def _today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()


def _enrol(fd: Any, who: str, key: str, programme: str) -> None:
    chronic.enrollment_create(
        actor=fd.users[who],
        patient=fd.patients[key],
        programme=programme,
        diagnosed_on=_today() - dt.timedelta(days=400),
        enrolled_on=_today() - dt.timedelta(days=395),
        source="outpatient",
        risk_level="medium",
    )


def _values(fd: Any, period: str, by: str = "consortium") -> dict[str, dict[str, Any]]:
    client = Client()
    client.force_login(fd.users[Role.CONSORTIUM_OFFICE])
    response = client.get("/api/indicators", {"period": period, "by": by})
    assert response.status_code == 200
    return {row["code"]: row for row in response.json() if row["code"] in CODES}


def _equal_to_rebuild() -> None:
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental


def _county(fd: Any) -> None:
    """Residents: 陈桂芳 (1950) and 王桂兰 (1956) aged 65+ and 王小明 (1990) in 东山村; 孙老汉
    (1945) in 西岭村; 赵大海 (1960, 65+) in 水井村, which the team does not serve; 李中年 (1975) in
    东山村. Registers: hypertension 王桂兰, 李中年, 赵大海; diabetes 李中年, 王小明."""
    fd.patients["old2"] = make_patient(fd.other_village, 7, "孙老汉", dt.date(1945, 3, 3), sex="M")
    fd.patients["mid"] = make_patient(fd.village, 8, "李中年", dt.date(1975, 5, 5), sex="M")
    town = Role.TOWNSHIP_DOCTOR
    _enrol(fd, town, "p", "hypertension")
    _enrol(fd, town, "mid", "hypertension")
    _enrol(fd, town, "mid", "diabetes")
    _enrol(fd, town, "young", "diabetes")
    _enrol(fd, "t_town2", "foreign", "hypertension")
    chronic.reference_compute(actor=None, year=_today().year)


def test_coverage_by_hand_and_equal_to_a_rebuild(fd: Any) -> None:
    engine.rebuild()
    _county(fd)
    year = str(_today().year)
    p = active(fd)  # elderly + hypertension (the register answers)
    mid = active(fd, patient="mid")  # hypertension + diabetes
    active(fd, patient="old2")  # elderly
    young = active(fd, patient="young")  # diabetes
    pending = sign(fd, patient="resident")  # elderly, but not confirmed: does not count
    assert p.priority_groups == ["elderly", "hypertension"]
    assert mid.priority_groups == ["hypertension", "diabetes"]
    _equal_to_rebuild()

    rows = _values(fd, year)
    # 65+: 王桂兰, 孙老汉 of 4 residents aged 65+ (陈桂芳, 王桂兰, 孙老汉, 赵大海)
    assert (rows["fd_coverage_elderly"]["numerator"], rows["fd_coverage_elderly"]["denominator"]) == (2, 4)
    assert rows["fd_coverage_elderly"]["value"] == 50.0
    # hypertension: 王桂兰, 李中年 of 3 on the register
    assert rows["fd_coverage_hypertension"]["value"] == 66.67
    # diabetes: 李中年, 王小明 of 2
    assert rows["fd_coverage_diabetes"]["value"] == 100.0
    client = Client()
    client.force_login(fd.users[Role.CONSORTIUM_OFFICE])
    places = client.get("/api/indicators", {"period": year, "by": "institution"}).json()
    village = {r["group"]: r for r in places if r["code"] == "fd_coverage_elderly"}
    assert village[str(fd.village.pk)]["value"] == 50.0  # 王桂兰 of 陈桂芳, 王桂兰
    assert village[str(fd.other_village.pk)]["value"] == 100.0
    assert village[str(fd.foreign_village.pk)]["value"] == 0.0  # a real zero: residents, no contract

    # terminate: 王小明 leaves the diabetes numerator
    doctor = fd.users[Role.VILLAGE_DOCTOR]
    services.contract_terminate(actor=doctor, contract=young, reason="moved away")
    _equal_to_rebuild()
    assert _values(fd, year)["fd_coverage_diabetes"]["value"] == 50.0

    # the pending contract is confirmed: 陈桂芳 joins the elderly numerator
    services.contract_confirm(actor=doctor, contract=pending, paper_signature=True)
    _equal_to_rebuild()
    assert _values(fd, year)["fd_coverage_elderly"]["value"] == 75.0

    # a priority change during the term: 孙老汉 is diagnosed and registered with hypertension; his
    # contract follows the register at once (test_priority_sync.py)
    _enrol(fd, Role.TOWNSHIP_DOCTOR, "old2", "hypertension")
    _equal_to_rebuild()
    assert _values(fd, year)["fd_coverage_hypertension"]["value"] == 75.0  # 3 of 4
    old2 = Contract.objects.get(patient=fd.patients["old2"], status="active")
    assert old2.priority_groups == ["elderly", "hypertension"]
    services.contract_groups_update(actor=doctor, contract=old2, groups=["disabled"])
    old2.refresh_from_db()
    assert old2.priority_groups == ["elderly", "hypertension", "disabled"]
    assert AuditEvent.objects.filter(verb="familydoctor.contract.groups").exists()
    _equal_to_rebuild()
    assert _values(fd, year)["fd_coverage_hypertension"]["value"] == 75.0  # 3 of 4


def test_a_period_without_a_denominator_has_no_value(fd: Any) -> None:
    _county(fd)
    # 王小明 was on the hypertension register long before anyone else was on a register
    chronic.enrollment_create(
        actor=fd.users[Role.TOWNSHIP_DOCTOR],
        patient=fd.patients["young"],
        programme="hypertension",
        diagnosed_on=_today() - dt.timedelta(days=1000),
        enrolled_on=_today() - dt.timedelta(days=995),
        source="outpatient",
        risk_level="low",
    )
    active(fd)
    engine.rebuild()
    # three years ago: no reference year and no register entry yet: no value, not 0 %
    rows = _values(fd, str(_today().year - 3))
    for code in CODES:
        assert (rows[code]["value"], rows[code]["reason"]) == (None, "no_data"), code
    # a month when the register held 王小明's hypertension only: diabetes has a zero denominator
    then = _today() - dt.timedelta(days=700)
    rows = _values(fd, f"{then:%Y-%m}")
    assert (rows["fd_coverage_diabetes"]["value"], rows["fd_coverage_diabetes"]["reason"]) == (
        None,
        "zero_denominator",
    )
    assert rows["fd_coverage_hypertension"]["denominator"] == 1.0


def test_the_drill_down_opens_the_contracts_behind_the_figure(fd: Any) -> None:
    _county(fd)
    active(fd)
    active(fd, patient="young")
    engine.rebuild()
    client = Client()
    client.force_login(fd.users[Role.CONSORTIUM_OFFICE])
    page = client.get(
        "/indicators/fd_coverage_hypertension/records/",
        {"period": str(_today().year), "institution": str(fd.village.pk), "part": "numerator"},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert Contract.objects.get(patient=fd.patients["p"]).number in text
    assert Contract.objects.get(patient=fd.patients["young"]).number not in text
    den = client.get(
        "/indicators/fd_coverage_elderly/records/",
        {"period": str(_today().year), "institution": str(fd.village.pk), "part": "denominator"},
    )
    assert den.status_code == 200


def _in_groups(op: str, value: Any) -> Any:
    return definitions.validate(
        {"source": "fd_contracts", "filters": [{"field": "priority_groups", "op": op, "value": value}]}
    )


def test_contains_is_checked_and_matches_a_whole_code(fd: Any) -> None:
    for op, value in (("contains", "x"), ("eq", "elderly"), ("contains", ["elderly"]), ("contains", "")):
        with pytest.raises(ValidationError):
            _in_groups(op, value)
    contract = active(fd)  # 王桂兰, 70, on no register: ["elderly"]
    assert contract.priority_groups == ["elderly"]
    rows = definitions.rows(_in_groups("contains", "elderly"))
    assert rows is not None and list(rows) == [contract]
    rows = definitions.rows(_in_groups("contains", "child"))
    assert rows is not None and not rows.exists()


def test_group_update_refusals(fd: Any) -> None:
    contract = active(fd)
    doctor = fd.users[Role.VILLAGE_DOCTOR]
    with pytest.raises(InvalidInput):
        services.contract_groups_update(actor=doctor, contract=contract, groups=["nobody"])
    services.contract_terminate(actor=doctor, contract=contract, reason="moved away")
    with pytest.raises(Conflict):
        services.contract_groups_update(actor=doctor, contract=contract, groups=["poor"])


def test_group_update_through_the_api(fd: Any) -> None:
    contract = active(fd)
    url = f"/api/familydoctor/contracts/{contract.pk}/groups"
    client = Client()
    client.force_login(fd.users[Role.VILLAGE_DOCTOR])
    response = client.post(url, {"groups": ["poor"]}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["priority_groups"] == ["elderly", "poor"]
    bad = client.post(url, {"groups": ["nobody"]}, content_type="application/json")
    assert bad.status_code in (400, 422) and bad.json()
    client.force_login(fd.users["t_town2"])  # another township: not in scope
    assert client.post(url, {"groups": []}, content_type="application/json").status_code == 404
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly", "poor"]


def test_group_update_from_the_contract_page(fd: Any) -> None:
    contract = active(fd)
    client = Client()
    client.force_login(fd.users[Role.VILLAGE_DOCTOR])
    page = client.get(f"/familydoctor/contracts/{contract.pk}/")
    assert page.status_code == 200 and 'data-testid="do-groups"' in page.content.decode()
    url = f"/familydoctor/contracts/{contract.pk}/groups/"
    response = client.post(url, {"groups": ["disabled"]}, follow=True)
    assert response.status_code == 200
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly", "disabled"]
    bad = client.post(url, {"groups": ["nobody"]}, follow=True)
    assert bad.status_code == 200 and "未知的重点人群" in bad.content.decode()  # refused, nothing saved
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly", "disabled"]
