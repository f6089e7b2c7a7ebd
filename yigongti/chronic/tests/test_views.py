"""Pages: allowed, denied and out of scope; the forms show errors beside the field and write
nothing; the one-click referral opens the draft."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic.models import FollowUp
from yigongti.core.models import AuditEvent
from yigongti.core.testing import add_resident_record
from yigongti.referrals.models import Referral

from .conftest import days_ago, enrol

pytestmark = pytest.mark.django_db


def as_(cc: Any, who: str) -> Client:
    c = Client()
    c.force_login(cc.users[who])
    return c


def test_worklist_and_record_a_follow_up(cc: Any) -> None:
    entry = enrol(cc, "ht", diagnosed=40)
    village = as_(cc, Role.VILLAGE_DOCTOR)
    page = village.get("/chronic/?box=overdue")
    assert page.status_code == 200 and "王建国" in page.content.decode()
    url = f"/chronic/enrollments/{entry.pk}/follow-up/"
    assert village.get(url).status_code == 200
    bad = village.post(
        url,
        {"visit_date": str(days_ago(-2)), "mode": "clinic", "sbp": 300, "dbp": 20, "adherence": "regular"},
    )
    assert bad.status_code == 422 and 'data-testid="error-visit_date"' in bad.content.decode()
    assert FollowUp.objects.count() == 0
    ok = village.post(
        url,
        {"visit_date": str(days_ago(1)), "mode": "clinic", "sbp": 182, "dbp": 100, "adherence": "regular"},
    )
    assert ok.status_code == 302
    row = FollowUp.objects.get()
    assert row.classification == "urgent"
    detail = village.get(f"/chronic/patients/{entry.patient_id}/")
    assert 'data-testid="refer-button"' in detail.content.decode()
    assert AuditEvent.objects.filter(verb="chronic.read", object_id=str(entry.patient_id)).exists()
    assert as_(cc, "village2").post(f"/chronic/follow-ups/{row.pk}/refer/").status_code == 404
    refer = village.post(f"/chronic/follow-ups/{row.pk}/refer/")
    referral = Referral.objects.get()
    assert refer.status_code == 302 and refer["Location"] == f"/referrals/{referral.pk}/"


def test_out_of_scope_and_denied(cc: Any) -> None:
    entry = enrol(cc, "ht")
    assert as_(cc, "village2").get(f"/chronic/patients/{entry.patient_id}/").status_code == 404
    assert as_(cc, "village2").get(f"/chronic/enrollments/{entry.pk}/follow-up/").status_code == 404
    assert as_(cc, Role.HEALTH_BUREAU).get(f"/chronic/patients/{entry.patient_id}/").status_code == 403
    assert as_(cc, Role.RESIDENT).get("/chronic/registries/").status_code == 403
    assert as_(cc, Role.CONSORTIUM_OFFICE).get("/chronic/").status_code == 302
    office = as_(cc, Role.CONSORTIUM_OFFICE).get("/chronic/overview/")
    assert office.status_code == 200 and "王建国" not in office.content.decode()


def test_elderly_screening_enrol_forms(cc: Any) -> None:
    village = as_(cc, Role.VILLAGE_DOCTOR)
    old = cc.patients["old"]
    bad = village.post(
        f"/chronic/patients/{old.pk}/elderly/",
        {"service_date": str(days_ago(1)), "self_care_score": 77, "sbp": 130, "dbp": 80},
    )
    assert bad.status_code == 422 and 'data-testid="error-self_care_score"' in bad.content.decode()
    ok = village.post(
        f"/chronic/patients/{old.pk}/elderly/",
        {"service_date": str(days_ago(1)), "self_care_score": 10, "sbp": 130, "dbp": 80},
    )
    assert ok.status_code == 302
    assert (
        village.post(
            f"/chronic/patients/{old.pk}/screening/", {"screened_on": str(days_ago(1)), "sbp": 128, "dbp": 82}
        ).status_code
        == 302
    )
    r = village.post(
        f"/chronic/patients/{old.pk}/enrol/",
        {
            "programme": "diabetes",
            "diagnosed_on": str(days_ago(20)),
            "source": "outpatient",
            "risk_level": "low",
        },
    )
    assert r.status_code == 302
    for url in ("/chronic/registries/?programme=diabetes", "/chronic/elderly/", "/chronic/overview/"):
        assert village.get(url).status_code == 200, url
    assert as_(cc, "village2").post(f"/chronic/patients/{old.pk}/elderly/", {}).status_code == 404


def test_resident_page(cc: Any) -> None:
    me = add_resident_record(cc)
    from yigongti.chronic import services

    entry = services.enrollment_create(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=me,
        programme="hypertension",
        diagnosed_on=days_ago(100),
        source="outpatient",
        risk_level="low",
    )
    services.follow_up_record(
        actor=cc.users[Role.VILLAGE_DOCTOR], enrollment=entry, visit_date=days_ago(5), sbp=132, dbp=84
    )
    page = as_(cc, Role.RESIDENT).get("/chronic/me/")
    assert page.status_code == 200 and "132/84" in page.content.decode()
    assert as_(cc, Role.VILLAGE_DOCTOR).get("/chronic/me/").status_code == 403
