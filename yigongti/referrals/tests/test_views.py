"""The referral pages: worklists per role, the form with its patient lookup, the detail with its
moves and timeline, the slip PDF, attachments, the bed board, follow-ups and alerts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.referrals import services
from yigongti.referrals.choices import Status
from yigongti.referrals.models import Alert, Attachment, FollowUpTask, Referral

from .conftest import chest_pain, refer_up

pytestmark = pytest.mark.django_db


def test_each_role_gets_its_worklist(rc: Any, login_client: Any) -> None:
    referral = refer_up(rc)
    village = login_client(Role.VILLAGE_DOCTOR).get("/referrals/")
    assert village.status_code == 200 and referral.number in village.content.decode()
    county = login_client(Role.COUNTY_DOCTOR).get("/referrals/?box=incoming")
    assert referral.number in county.content.decode()
    office = login_client(Role.CONSORTIUM_OFFICE).get("/referrals/")
    body = office.content.decode()
    assert referral.number in body and rc.patients["p"].id_number not in body  # masked in lists
    bureau = login_client(Role.HEALTH_BUREAU).get("/referrals/")
    assert bureau.status_code == 200 and referral.number not in bureau.content.decode()


def test_out_of_scope_referral_is_a_404_and_not_audited(rc: Any, client: Any) -> None:
    referral = refer_up(rc)
    client.force_login(rc.users["t_town2"])
    before = AuditEvent.objects.filter(verb="referral.read").count()
    assert client.get(f"/referrals/{referral.pk}/").status_code == 404
    assert client.get(f"/referrals/{referral.pk}/slip.pdf").status_code == 404
    assert AuditEvent.objects.filter(verb="referral.read").count() == before


def test_the_form_refers_a_resident_and_refuses_bad_input(rc: Any, login_client: Any) -> None:
    c = login_client(Role.VILLAGE_DOCTOR)
    page = c.get("/referrals/new/")
    for odd in ("²", "9" * 40):  # digits to str.isdigit, not ids: the form opens without a patient
        assert c.get("/referrals/new/", {"patient": odd}).status_code == 200
        assert (
            c.get("/referrals/new/slots/", {"to_institution": rc.lead.code, "to_department": odd}).status_code
            == 200
        )
    assert page.status_code == 200
    found = c.get("/referrals/new/patients/", {"q": "王桂兰"})
    assert "王桂兰" in found.content.decode()
    data = {
        "patient": rc.patients["p"].pk,
        "to_institution": rc.lead.code,
        "urgency": "routine",
        "diagnosis_code": "I10",
        "diagnosis_name": "",
        "reason": "U01",
        "submit": "1",
    }
    bad = c.post("/referrals/new/", {**data, "to_institution": rc.village.code})
    assert bad.status_code == 422 and Referral.objects.count() == 0
    bad = c.post("/referrals/new/", {**data, "diagnosis_code": ""})
    assert bad.status_code == 422 and Referral.objects.count() == 0
    ok = c.post("/referrals/new/", data)
    referral = Referral.objects.get()
    assert ok.status_code == 302 and referral.status == Status.SUBMITTED
    assert referral.diagnosis_name  # from the ICD-10 catalogue
    assert AuditEvent.objects.filter(verb="referral.submit", object_id=str(referral.pk)).exists()


def test_moves_from_the_detail_page_and_an_illegal_one_is_409(rc: Any, login_client: Any) -> None:
    referral = refer_up(rc)
    c = login_client(Role.COUNTY_DOCTOR)
    page = c.get(f"/referrals/{referral.pk}/")
    assert page.status_code == 200 and 'data-testid="action-accept"' in page.content.decode()
    assert c.post(f"/referrals/{referral.pk}/accept/", {}).status_code == 302
    again = c.post(f"/referrals/{referral.pk}/accept/", {})
    assert again.status_code == 409
    assert c.post(f"/referrals/{referral.pk}/arrive/", {}).status_code == 302
    assert (
        c.post(f"/referrals/{referral.pk}/start_care/", {"start_care-mode": "outpatient"}).status_code == 302
    )
    missing = c.post(f"/referrals/{referral.pk}/complete/", {"complete-diagnosis_code": "I10"})
    assert missing.status_code == 422
    done = c.post(
        f"/referrals/{referral.pk}/complete/",
        {"complete-diagnosis_code": "I10", "complete-advice": "低盐饮食，每周测血压"},
    )
    assert done.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Status.COMPLETED
    timeline = c.get(f"/referrals/{referral.pk}/").content.decode()
    assert timeline.count('data-testid="timeline-entry"') >= 6
    pdf = c.get(f"/referrals/{referral.pk}/slip.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_village_doctor_records_the_follow_up(rc: Any, login_client: Any) -> None:
    referral = refer_up(rc)
    doctor = rc.users[Role.COUNTY_DOCTOR]
    services.referral_accept(actor=doctor, referral=referral)
    services.referral_arrive(actor=doctor, referral=referral)
    services.referral_start_care(actor=doctor, referral=referral, mode="admitted")
    services.referral_complete(
        actor=doctor, referral=referral, diagnosis_code="I10", diagnosis_name="", advice="随访"
    )
    task = FollowUpTask.objects.get()
    c = login_client(Role.VILLAGE_DOCTOR)
    assert "王桂兰" in c.get("/referrals/follow-ups/").content.decode()
    assert c.post(f"/referrals/follow-ups/{task.pk}/", {"note": "血压稳定"}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == Status.FOLLOWED_UP
    other = Client()
    other.force_login(rc.users["t_village2"])
    assert other.post(f"/referrals/follow-ups/{task.pk}/", {"note": "x"}).status_code == 404


def test_attachments_are_served_only_in_scope(
    rc: Any, login_client: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    referral = refer_up(rc)
    c = login_client(Role.VILLAGE_DOCTOR)
    upload = SimpleUploadedFile("ecg.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    assert (
        c.post(
            f"/referrals/{referral.pk}/attach/", {"attach-file": upload, "attach-description": "心电图"}
        ).status_code
        == 302
    )
    attachment = Attachment.objects.get()
    url = f"/referrals/{referral.pk}/attachments/{attachment.pk}/"
    assert c.get(url).status_code == 200
    assert AuditEvent.objects.filter(verb="referral.attachment_read").count() == 1
    other = Client()
    other.force_login(rc.users["t_town2"])
    assert other.get(url).status_code == 404
    bad = c.post(f"/referrals/{referral.pk}/attach/", {"attach-file": SimpleUploadedFile("x.exe", b"MZ")})
    assert bad.status_code == 422 and Attachment.objects.count() == 1


def test_green_channel_alert_banner_and_bed_board(rc: Any, login_client: Any) -> None:
    referral = refer_up(rc, green_channel=chest_pain())
    c = login_client(Role.COUNTY_DOCTOR)
    banner = c.get("/referrals/alerts/").content.decode()
    assert referral.number in banner
    beds = c.get("/referrals/beds/").content.decode()
    assert "急诊科" in beds
    alert = Alert.objects.get()
    assert c.post(f"/referrals/alerts/{alert.pk}/ack/").status_code == 200
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert AuditEvent.objects.filter(verb="referral.alert_acknowledge").count() == 1
    village = Client()
    village.force_login(rc.users[Role.VILLAGE_DOCTOR])
    assert village.get("/referrals/alerts/").content.decode().strip() == ""
