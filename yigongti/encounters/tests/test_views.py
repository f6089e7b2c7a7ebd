"""Encounter pages: the list, the counts, one encounter (audited), and recording a visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.encounters.models import Encounter
from yigongti.encounters.services import encounter_record

pytestmark = pytest.mark.django_db


def _at(days_ago: int) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 30)))


@pytest.fixture
def visits(county):
    own = make_patient(county.village, 1, "陈桂芳", dt.date(1950, 6, 1))
    foreign = make_patient(county.foreign_village, 1, "王大娟", dt.date(1948, 12, 30))
    mine, _ = encounter_record(
        actor=None,
        patient=own,
        institution=county.village,
        kind="outpatient",
        started_at=_at(1),
        total_cost="30",
        diagnosis_code="I10",
    )
    theirs, _ = encounter_record(
        actor=None,
        patient=foreign,
        institution=county.other_township,
        kind="outpatient",
        started_at=_at(1),
        total_cost="70",
    )
    return own, mine, theirs


def test_staff_list_shows_their_encounters_masked(login_client, visits):
    own, mine, _theirs = visits
    response = login_client(Role.VILLAGE_DOCTOR).get("/encounters/")
    assert response.status_code == 200
    html = response.content.decode()
    assert own.name in html and "王大娟" not in html
    assert own.id_number not in html and own.id_number[:6] in html
    assert f"/encounters/{mine.pk}/" in html


def test_office_is_sent_to_counts_without_names(login_client, visits):
    client = login_client(Role.CONSORTIUM_OFFICE)
    response = client.get("/encounters/")
    assert response.status_code == 302 and response["Location"].endswith("/encounters/summary/")
    page = client.get("/encounters/summary/").content.decode()
    assert "陈桂芳" not in page and "王大娟" not in page
    assert 'data-testid="summary-total"' in page
    assert client.get(f"/encounters/{visits[1].pk}/").status_code == 403


def test_detail_is_audited_and_outside_the_scope_is_404(login_client, visits):
    _own, mine, theirs = visits
    client = login_client(Role.VILLAGE_DOCTOR)
    assert client.get(f"/encounters/{mine.pk}/").status_code == 200
    assert AuditEvent.objects.filter(verb="encounter.read", object_id=str(mine.pk)).count() == 1
    assert client.get(f"/encounters/{theirs.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(verb="encounter.read", object_id=str(theirs.pk)).exists()


def _form(resident, **changes):
    data = {
        "patient": resident.health_record_number,
        "kind": "outpatient",
        "started_at": _at(1).strftime("%Y-%m-%d 08:15"),
        "total_cost": "48.00",
        "insurance_paid": "30.00",
        "diagnosis_code": "j06.9",
        "is_tcm": "on",
    }
    data.update(changes)
    return data


def test_village_doctor_records_a_visit(login_client, visits, county):
    own = visits[0]
    client = login_client(Role.VILLAGE_DOCTOR)
    assert client.get("/encounters/record/").status_code == 200
    before = set(Encounter.objects.values_list("pk", flat=True))
    response = client.post("/encounters/record/", _form(own))
    assert response.status_code == 302, response.content.decode()[:2000]
    row = Encounter.objects.exclude(pk__in=before).get()
    assert (row.institution_id, row.diagnosis_code, row.is_tcm) == (county.village.pk, "J06.9", True)
    assert AuditEvent.objects.filter(verb="encounter.record", object_id=str(row.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "inpatient", "discharged_on": "2001-01-01"}, "discharged_on"),
        ({"insurance_paid": "99.00"}, "insurance_paid"),
        ({"diagnosis_code": "hypertension"}, "diagnosis_code"),
        ({"patient": "44182310200100001"}, "patient"),
        ({"total_cost": "-3"}, "total_cost"),
    ],
)
def test_bad_visit_shows_the_error_beside_the_field_and_saves_nothing(login_client, visits, changes, field):
    client = login_client(Role.VILLAGE_DOCTOR)
    before = Encounter.objects.count()
    response = client.post("/encounters/record/", _form(visits[0], **changes))
    assert response.status_code == 422
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert Encounter.objects.count() == before


def test_record_page_is_for_township_and_village_staff(login_client, visits):
    for role in (
        Role.CONSORTIUM_OFFICE,
        Role.HEALTH_BUREAU,
        Role.COUNTY_DOCTOR,
        Role.RESIDENT,
        Role.PHARMACIST,
    ):
        assert login_client(role).get("/encounters/record/").status_code == 403, role
