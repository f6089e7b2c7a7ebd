"""Residents pages: scoped lists with masked ID numbers, audited record reads, refusals."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.patients.models import Household

pytestmark = pytest.mark.django_db


@pytest.fixture
def residents(county):
    home = Household.objects.create(code="H-DS-1", village=county.village, address="东山村3号")
    return {
        "head": make_patient(county.village, 1, "陈桂芳", dt.date(1950, 6, 1), household=home),
        "son": make_patient(
            county.village,
            2,
            "陈小明",
            dt.date(1990, 2, 3),
            household=home,
            sex="M",
            user=county.users[Role.RESIDENT],
        ),
        "sister": make_patient(county.other_village, 1, "刘美华", dt.date(1960, 1, 9)),
        "foreign": make_patient(county.foreign_village, 1, "王大山", dt.date(1948, 12, 30)),
    }


def _reads() -> int:
    return AuditEvent.objects.filter(verb="patient.read").count()


def test_village_doctor_lists_her_residents_with_masked_ids(login_client, county, residents):
    response = login_client(Role.VILLAGE_DOCTOR).get("/patients/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "陈桂芳" in html and "陈小明" in html
    assert "刘美华" not in html and "王大山" not in html
    head = residents["head"]
    assert head.id_number not in html and idnumbers.mask(head.id_number) in html
    assert _reads() == 0  # a list is not a record read


def test_township_doctor_lists_both_villages(login_client, county, residents):
    html = login_client(Role.TOWNSHIP_DOCTOR).get("/patients/").content.decode()
    assert "陈桂芳" in html and "刘美华" in html and "王大山" not in html
    only_sister = login_client(Role.TOWNSHIP_DOCTOR).get("/patients/", {"village": county.other_village.code})
    assert "刘美华" in only_sister.content.decode() and "陈桂芳" not in only_sister.content.decode()


def test_search_by_name_and_record_number_and_htmx_partial(login_client, county, residents):
    client = login_client(Role.TOWNSHIP_DOCTOR)
    by_name = client.get("/patients/", {"q": "小明"}).content.decode()
    assert "陈小明" in by_name and "陈桂芳" not in by_name
    by_number = client.get("/patients/", {"q": residents["sister"].health_record_number}).content.decode()
    assert "刘美华" in by_number and "陈小明" not in by_number
    partial = client.get("/patients/", {"q": "陈"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'data-testid="patient-table"' in partial
    assert "陈桂芳" in partial and "刘美华" not in partial


def test_list_paginates(login_client, county):
    for n in range(1, 31):
        make_patient(county.village, n, f"居民{n:02d}", dt.date(1970, 1, 1) + dt.timedelta(days=n))
    client = login_client(Role.VILLAGE_DOCTOR)
    first = client.get("/patients/").content.decode()
    assert len(re.findall(r">居民\d\d</a>", first)) == 25 and 'data-testid="pager"' in first
    assert len(re.findall(r">居民\d\d</a>", client.get("/patients/", {"page": 2}).content.decode())) == 5


def test_detail_shows_the_record_and_audits_the_read(login_client, county, residents):
    head = residents["head"]
    response = login_client(Role.VILLAGE_DOCTOR).get(f"/patients/{head.health_record_number}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "陈桂芳" in html and head.id_number in html
    assert "陈小明" in html  # household member
    event = AuditEvent.objects.filter(verb="patient.read").get()
    assert event.object_id == str(head.pk)
    assert event.actor_id == county.users[Role.VILLAGE_DOCTOR].pk
    assert event.institution_id == county.village.pk


def test_detail_out_of_scope_is_404_and_not_audited(login_client, county, residents):
    village = login_client(Role.VILLAGE_DOCTOR)
    assert village.get(f"/patients/{residents['sister'].health_record_number}/").status_code == 404
    assert village.get(f"/patients/{residents['foreign'].health_record_number}/").status_code == 404
    assert village.get("/patients/00000000000000000/").status_code == 404
    township = login_client(Role.TOWNSHIP_DOCTOR)
    assert township.get(f"/patients/{residents['foreign'].health_record_number}/").status_code == 404
    assert _reads() == 0


@pytest.mark.parametrize(
    "role", [Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU, Role.COUNTY_DOCTOR, Role.RESIDENT]
)
def test_roles_without_villages_are_refused(login_client, county, residents, role):
    client = login_client(role)
    listing = client.get("/patients/")
    assert listing.status_code == 403
    assert 'data-testid="error-page"' in listing.content.decode()
    assert client.get(f"/patients/{residents['head'].health_record_number}/").status_code == 403
    assert _reads() == 0


def test_anonymous_is_sent_to_login(client, county, residents):
    response = client.get("/patients/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(f"/patients/{residents['head'].health_record_number}/").status_code == 302


def test_resident_opens_own_record_masked_and_audited(login_client, county, residents):
    son = residents["son"]
    response = login_client(Role.RESIDENT).get("/patients/me/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "陈小明" in html and son.id_number not in html and idnumbers.mask(son.id_number) in html
    assert "陈桂芳" in html  # own household
    assert f"/patients/{residents['head'].health_record_number}/" not in html  # no links into others
    event = AuditEvent.objects.filter(verb="patient.read").get()
    assert event.object_id == str(son.pk) and event.actor_id == county.users[Role.RESIDENT].pk


def test_my_record_is_for_residents_only(login_client, county):
    assert login_client(Role.VILLAGE_DOCTOR).get("/patients/me/").status_code == 403
