"""The open contract's register groups follow the hypertension and diabetes registers: enrolling
a contracted resident adds the group, closing the entry removes it (unless a targeted package on
the contract holds it), what staff ticked stays, the change is audited with the enrolling user
and the coverage cells stay equal to a rebuild; a resident without a contract writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic import services as chronic
from yigongti.chronic.models import Enrollment
from yigongti.chronic.models import Task as ChronicTask
from yigongti.core.audit import AuditEvent
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.familydoctor import services
from yigongti.familydoctor.models import Contract
from yigongti.familydoctor.signals import familydoctor_changed
from yigongti.indicators import engine

from .conftest import active, sign

pytestmark = pytest.mark.django_db

TOWN = Role.TOWNSHIP_DOCTOR
GROUPS_VERB = "familydoctor.contract.groups"


def _today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()


def _enrol(fd: Any, key: str, programme: str, who: str = TOWN) -> Enrollment:
    return chronic.enrollment_create(
        actor=fd.users[who],
        patient=fd.patients[key],
        programme=programme,
        diagnosed_on=_today() - dt.timedelta(days=30),
        enrolled_on=_today() - dt.timedelta(days=20),
        source="outpatient",
        risk_level="medium",
    )


def _close(fd: Any, entry: Enrollment, who: str = TOWN) -> Enrollment:
    return chronic.enrollment_close(actor=fd.users[who], enrollment=entry, reason="moved away")


def _equal_to_rebuild() -> None:
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental


def _coverage(fd: Any, code: str) -> Any:
    client = Client()
    client.force_login(fd.users[Role.CONSORTIUM_OFFICE])
    rows = client.get("/api/indicators", {"period": str(_today().year), "by": "consortium"}).json()
    return next(r["value"] for r in rows if r["code"] == code)


def _groups_audits(contract: Contract) -> Any:
    return AuditEvent.objects.filter(verb=GROUPS_VERB, object_id=str(contract.pk)).order_by("pk")


def test_enrolling_and_closing_move_the_group_and_the_coverage(fd: Any) -> None:
    engine.rebuild()
    contract = active(fd)  # 王桂兰, 70: elderly
    assert contract.priority_groups == ["elderly"]
    _equal_to_rebuild()

    entry = _enrol(fd, "p", "hypertension")
    contract.refresh_from_db()
    assert (contract.priority_groups, contract.is_priority) == (["elderly", "hypertension"], True)
    _equal_to_rebuild()
    assert _coverage(fd, "fd_coverage_hypertension") == 100.0  # 王桂兰 of 王桂兰
    audit = _groups_audits(contract).get()
    assert audit.actor_id == fd.users[TOWN].pk  # the user who enrolled
    assert audit.before == {"priority_groups": ["elderly"]}
    assert audit.after == {
        "priority_groups": ["elderly", "hypertension"],
        "cause": "chronic.enroll",
        "kept_for_packages": [],
    }

    open_tasks = ChronicTask.objects.filter(patient=fd.patients["p"], programme="hypertension", status="open")
    assert open_tasks.exists()
    _close(fd, entry)
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly"]
    assert Enrollment.objects.get(pk=entry.pk).is_active is False
    assert not open_tasks.exists()  # the worklist task is cancelled
    _equal_to_rebuild()
    last = _groups_audits(contract).last()
    assert last is not None and last.after["cause"] == "chronic.close"
    assert last.after["priority_groups"] == ["elderly"]
    assert AuditEvent.objects.filter(verb="chronic.close", object_id=str(entry.pk)).exists()


def test_what_staff_ticked_stays_and_a_pending_contract_follows(fd: Any) -> None:
    engine.rebuild()
    # 王小明, 35: staff ticked disabled and (before any register entry) hypertension by hand
    contract = sign(fd, patient="young", groups=["disabled", "hypertension"])
    assert contract.status == "pending"
    assert contract.priority_groups == ["hypertension", "disabled"]
    diabetes = _enrol(fd, "young", "diabetes")
    contract.refresh_from_db()
    # only the diabetes group is the diabetes register's to answer
    assert contract.priority_groups == ["hypertension", "diabetes", "disabled"]
    _equal_to_rebuild()
    _close(fd, diabetes)
    contract.refresh_from_db()
    assert contract.priority_groups == ["hypertension", "disabled"]
    # once on the hypertension register, the register answers that group: closed, it goes
    htn = _enrol(fd, "young", "hypertension")
    contract.refresh_from_db()
    assert contract.priority_groups == ["hypertension", "disabled"]
    _close(fd, htn)
    contract.refresh_from_db()
    assert (contract.priority_groups, contract.is_priority) == (["disabled"], True)
    _equal_to_rebuild()


def test_a_targeted_package_keeps_its_group(fd: Any) -> None:
    engine.rebuild()
    entry = _enrol(fd, "p", "hypertension")
    contract = active(fd, packages=[fd.basic, fd.htn])  # the hypertension package needs the group
    assert contract.priority_groups == ["elderly", "hypertension"]
    entry2 = _enrol(fd, "p", "diabetes")
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly", "hypertension", "diabetes"]
    _close(fd, entry)
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly", "hypertension", "diabetes"]  # held by the package
    last = _groups_audits(contract).last()  # not silent: the audit names the group kept
    assert last is not None and last.after["kept_for_packages"] == ["hypertension"]
    assert last.after["cause"] == "chronic.close"
    _equal_to_rebuild()
    _close(fd, entry2)  # the diabetes group goes
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly", "hypertension"]
    last = _groups_audits(contract).last()
    assert last is not None and last.after["kept_for_packages"] == []
    _equal_to_rebuild()


def test_a_resident_without_an_open_contract_writes_nothing(fd: Any) -> None:
    sent: list[Any] = []

    def spy(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs["keys"])

    familydoctor_changed.connect(spy)
    try:
        entry = _enrol(fd, "young", "diabetes")
        _close(fd, entry)
        # an ended contract does not follow either
        contract = active(fd)
        services.contract_terminate(actor=fd.users[Role.VILLAGE_DOCTOR], contract=contract, reason="moved")
        sent.clear()
        _enrol(fd, "p", "hypertension")
    finally:
        familydoctor_changed.disconnect(spy)
    assert sent == []
    assert not AuditEvent.objects.filter(verb=GROUPS_VERB).exists()
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly"]


def test_a_failing_indicator_receiver_rolls_the_enrolment_back(fd: Any) -> None:
    contract = active(fd)

    def boom(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    familydoctor_changed.connect(boom)
    try:
        with pytest.raises(RuntimeError):
            _enrol(fd, "p", "hypertension")
    finally:
        familydoctor_changed.disconnect(boom)
    assert not Enrollment.objects.filter(patient=fd.patients["p"]).exists()
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly"]


def test_close_refusals(fd: Any) -> None:
    entry = _enrol(fd, "p", "hypertension")
    with pytest.raises(InvalidInput):
        chronic.enrollment_close(actor=fd.users[TOWN], enrollment=entry, reason="  ")
    _close(fd, entry)
    with pytest.raises(Conflict):
        _close(fd, entry)


def test_close_through_the_api(fd: Any) -> None:
    contract = active(fd)
    entry = _enrol(fd, "p", "hypertension")
    url = f"/api/chronic/enrollments/{entry.pk}/close"
    client = Client()
    client.force_login(fd.users["t_town2"])  # another township: not in scope
    assert client.post(url, {"reason": "moved away"}, content_type="application/json").status_code == 404
    client.force_login(fd.users[TOWN])
    bad = client.post(url, {"reason": ""}, content_type="application/json")
    assert bad.status_code in (400, 422) and bad.json()
    assert (
        client.post(
            "/api/chronic/enrollments/x/close", {"reason": "a"}, content_type="application/json"
        ).status_code
        == 404
    )
    response = client.post(url, {"reason": "moved away"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    assert client.post(url, {"reason": "again"}, content_type="application/json").status_code == 409
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly"]


def test_close_from_the_chronic_page(fd: Any) -> None:
    contract = active(fd)
    entry = _enrol(fd, "p", "hypertension")
    client = Client()
    client.force_login(fd.users[TOWN])
    page = client.get(f"/chronic/patients/{fd.patients['p'].pk}/")
    assert page.status_code == 200 and 'data-testid="close-link-hypertension"' in page.content.decode()
    url = f"/chronic/enrollments/{entry.pk}/close/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"reason": ""})
    assert bad.status_code == 422  # refused beside the field, nothing saved
    assert Enrollment.objects.get(pk=entry.pk).is_active
    response = client.post(url, {"reason": "迁出"}, follow=True)
    assert response.status_code == 200 and 'data-testid="closed-hypertension"' in response.content.decode()
    contract.refresh_from_db()
    assert contract.priority_groups == ["elderly"]
    again = client.post(url, {"reason": "迁出"})
    assert again.status_code == 409 and "该管理档案已结案" in again.content.decode()
    client.force_login(fd.users["t_town2"])
    assert client.get(url).status_code == 404
