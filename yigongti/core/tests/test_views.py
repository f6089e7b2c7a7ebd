"""Home pages per role, the audit page, navigation and error pages, through the real views."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.accounts.services import membership_grant
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.institutions import services as inst
from yigongti.patients.models import Household

pytestmark = pytest.mark.django_db


def years_ago(years: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=1) - dt.timedelta(days=days)


def text_of(html: str, name: str) -> str:
    """The text of the element with ``data-testid=name``."""
    m = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', html)
    assert m, f"no element with data-testid={name}"
    return m.group(1).strip()


@pytest.fixture
def residents(county):
    """Two residents in the village (one household, one aged 70), one in the sister village,
    one in a village of another township."""
    home = Household.objects.create(code="H-DS-1", village=county.village)
    Household.objects.create(code="H-XL-1", village=county.other_village)
    return {
        "elder": make_patient(county.village, 1, "陈桂芳", years_ago(70), household=home),
        "young": make_patient(
            county.village,
            2,
            "陈小明",
            years_ago(30),
            household=home,
            user=county.users[Role.RESIDENT],
            sex="M",
        ),
        "sister": make_patient(county.other_village, 1, "刘美华", years_ago(66)),
        "foreign": make_patient(county.foreign_village, 1, "王大山", years_ago(80)),
    }


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_office_home_shows_the_tree_with_counts(login_client, county):
    inst.secondment_create(
        actor=None,
        staff=county.staff["county_doctor"],
        host=county.township,
        start_date=timezone.localdate() - dt.timedelta(days=10),
        end_date=timezone.localdate() + dt.timedelta(days=100),
    )
    html = login_client(Role.CONSORTIUM_OFFICE).get("/").content.decode()
    for name in (
        "阳山县人民医院",
        "阳山县中医院",
        "阳城镇卫生院",
        "黎埠镇卫生院",
        "阳城镇东山村卫生站",
        "黎埠镇水井村卫生站",
    ):
        assert name in html
    assert text_of(html, "total-townships") == "2"
    assert text_of(html, "total-villages") == "3"
    assert text_of(html, "total-staff") == "2"
    assert text_of(html, "total-beds") == "40"
    assert text_of(html, "current-secondments") == "1"
    assert 'data-testid="township-441823101000"' in html
    assert "<details" in html
    assert 'data-testid="new-staff"' in html
    assert 'data-testid="nav-audit"' in html
    assert '<a class="button" href="/indicators/" data-testid="home-indicators">' in html


def test_bureau_home_is_the_tree_without_write_buttons(login_client, county):
    html = login_client(Role.HEALTH_BUREAU).get("/").content.decode()
    assert "阳城镇东山村卫生站" in html
    assert text_of(html, "total-villages") == "3"
    assert 'data-testid="new-staff"' not in html
    assert 'data-testid="new-secondment"' not in html
    assert 'data-testid="home-indicators"' in html  # the bureau reads the indicators
    assert "阳山县卫生健康局" in html  # listed among the other institutions, not counted as a member


def test_county_doctor_home_shows_own_institution_and_staff(login_client, county):
    html = login_client(Role.COUNTY_DOCTOR).get("/").content.decode()
    assert 'data-testid="institution-card"' in html
    assert "阳山县人民医院" in html
    assert "内科" in html and text_of(html, "institution-beds") == "40"
    assert "李建国" in html
    assert "黄秀英" not in html  # a village clinic's staff are not the county hospital's
    assert 'data-testid="resident-counts"' not in html
    assert 'data-testid="nav-residents"' not in html
    assert 'data-testid="nav-audit"' not in html


def test_township_doctor_home_shows_villages_and_resident_counts(login_client, county, residents):
    html = login_client(Role.TOWNSHIP_DOCTOR).get("/").content.decode()
    assert "阳城镇东山村卫生站" in html and "阳城镇西岭村卫生站" in html
    assert "黎埠镇水井村卫生站" not in html
    assert text_of(html, "count-residents") == "3"
    assert text_of(html, "count-households") == "2"
    assert text_of(html, "count-elderly") == "2"
    assert 'data-testid="nav-residents"' in html


def test_village_doctor_home_counts_only_her_village(login_client, county, residents):
    html = login_client(Role.VILLAGE_DOCTOR).get("/").content.decode()
    assert "阳城镇东山村卫生站" in html
    assert "黄秀英" in html
    assert text_of(html, "count-residents") == "2"
    assert text_of(html, "count-households") == "1"
    assert text_of(html, "count-elderly") == "1"
    assert "陈桂芳" not in html  # counts, not names, on the home page


def test_resident_home_shows_own_record_masked_and_audits_the_read(login_client, county, residents):
    me = residents["young"]
    before = AuditEvent.objects.filter(verb="patient.read").count()
    html = login_client(Role.RESIDENT).get("/").content.decode()
    assert text_of(html, "patient-name") == "陈小明"
    assert me.health_record_number in html
    assert me.id_number not in html
    assert text_of(html, "patient-id-number") == idnumbers.mask(me.id_number)
    assert "陈桂芳" in html  # a household member
    assert "刘美华" not in html
    assert "阳城镇东山村卫生站" in html
    reads = AuditEvent.objects.filter(verb="patient.read").order_by("-seq")
    assert reads.count() == before + 1
    row = reads.first()
    assert row is not None
    assert row.object_id == str(me.pk) and row.actor_id == county.users[Role.RESIDENT].pk


def test_resident_without_a_linked_record_gets_a_clear_page(login_client, county):
    response = login_client(Role.RESIDENT).get("/")
    assert response.status_code == 200
    assert 'data-testid="no-record"' in response.content.decode()
    assert not AuditEvent.objects.filter(verb="patient.read").exists()


def test_membership_switcher_appears_only_with_two_memberships(login_client, county):
    client = login_client(Role.NURSE)
    assert 'data-testid="membership-switcher"' not in client.get("/").content.decode()
    membership_grant(actor=None, user=county.users[Role.NURSE], institution=county.village, role=Role.NURSE)
    html = client.get("/").content.decode()
    assert 'data-testid="membership-switcher"' in html
    assert 'name="membership"' in html


def test_audit_page_for_the_office_with_filters_and_partial(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    inst.department_create(
        actor=county.users[Role.CONSORTIUM_OFFICE],
        institution=county.township,
        code="QK",
        name="全科",
        category="general_practice",
        beds=8,
    )
    response = client.get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "department.create" in html
    assert "t_consortium_office" in html
    filtered = client.get("/audit/", {"verb": "staff.create"}).content.decode()
    assert "department.create" not in filtered
    partial = client.get("/audit/", {"verb": "department."}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "department.create" in partial
    assert "verify-chain" in html  # the button; the chain is not walked on page load
    assert "chain-verified" not in html


def test_audit_verify_on_demand(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    partial = client.post("/audit/verify/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="chain-verified"' in partial and "<html" not in partial
    full = client.post("/audit/verify/")
    assert full.status_code == 200 and 'data-testid="chain-verified"' in full.content.decode()
    assert client.get("/audit/verify/").status_code == 405


def test_audit_verify_reports_a_tampered_row(login_client, county):
    row = AuditEvent.objects.order_by("seq")[3]
    AuditEvent.objects.filter(pk=row.pk).update(verb="tampered")
    partial = login_client(Role.HEALTH_BUREAU).post("/audit/verify/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="chain-broken"' in partial
    assert str(row.seq) in partial


@pytest.mark.parametrize("role", [Role.VILLAGE_DOCTOR, Role.COUNTY_DOCTOR, Role.RESIDENT])
def test_audit_pages_refuse_other_roles(login_client, county, role):
    client = login_client(role)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert 'data-testid="error-page"' in response.content.decode()
    assert client.post("/audit/verify/").status_code == 403


def test_audit_page_requires_login(client, db):
    assert client.get("/audit/").status_code == 302


def test_nav_by_role(login_client, county):
    office = login_client(Role.CONSORTIUM_OFFICE).get("/").content.decode()
    for item in ("nav-home", "nav-institutions", "nav-staff", "nav-secondments", "nav-audit"):
        assert f'data-testid="{item}"' in office
    assert 'data-testid="nav-residents"' not in office
    village = login_client(Role.VILLAGE_DOCTOR).get("/").content.decode()
    for item in ("nav-home", "nav-own-institution", "nav-staff", "nav-residents"):
        assert f'data-testid="{item}"' in village
    assert 'data-testid="nav-institutions"' not in village
    resident = login_client(Role.RESIDENT).get("/").content.decode()
    assert 'data-testid="nav-my-record"' in resident
    assert 'data-testid="nav-staff"' not in resident


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_error_pages_render_in_both_languages(login_client, county, language):
    client = login_client(Role.VILLAGE_DOCTOR)
    client.cookies["django_language"] = language
    missing = client.get("/institutions/999999999999/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert f'<html lang="{language}">' in html
    assert text_of(html, "error-status") == "404"
    denied = client.get("/audit/")
    assert denied.status_code == 403
    assert text_of(denied.content.decode(), "error-status") == "403"


def test_pages_carry_no_inline_script_or_style(login_client, county, residents):
    """The CSP forbids inline code; a page that relied on it would break in the browser."""
    for role, url in [
        (Role.CONSORTIUM_OFFICE, "/"),
        (Role.CONSORTIUM_OFFICE, "/audit/"),
        (Role.TOWNSHIP_DOCTOR, "/"),
        (Role.RESIDENT, "/"),
    ]:
        html = login_client(role).get(url).content.decode()
        assert "style=" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert " onclick=" not in html
