"""``generate_county`` and ``demo_logins`` end to end on a small county (500 residents)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from yigongti.accounts.choices import Role
from yigongti.accounts.models import Membership, User
from yigongti.core import idnumbers
from yigongti.core.audit import verify_chain
from yigongti.core.models import AuditEvent
from yigongti.demo.duplicates import MAX_EXTRA
from yigongti.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from yigongti.institutions.models import Department, Institution, Secondment, Staff
from yigongti.patients.models import Household, MatchConfig, MatchReview, Patient, Registration

from .helpers import AS_OF, RESIDENTS, generate


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    """One generated county shared by this module's tests, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        generate()
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_small_county_has_the_yangshan_structure(generated):
    kinds = dict.fromkeys(
        ["lead_hospital", "tcm_hospital", "maternal_child", "chronic_disease", "emergency_centre"], 1
    )
    for kind, count in kinds.items():
        assert Institution.objects.filter(kind=kind).count() == count
    assert Institution.objects.filter(kind="township_centre").count() == 13
    assert Institution.objects.filter(kind="village_clinic").count() == 159
    assert Institution.objects.filter(kind="health_bureau").count() == 1
    assert Institution.objects.filter(kind="external_hospital").count() == 3
    lead = Institution.objects.get(name="阳山县人民医院")
    assert Institution.objects.get(kind="emergency_centre").parent == lead
    assert lead.consortium is not None and lead.consortium.county_code == "441823"
    for town in Institution.objects.filter(kind="township_centre"):
        assert town.parent == lead and town.code.endswith("000")
        assert len(set(town.children.values_list("name", flat=True))) == town.children.count()
        beds = sum(Department.objects.filter(institution=town).values_list("beds", flat=True))
        assert 20 <= beds <= 60
    for village in Institution.objects.filter(kind="village_clinic"):
        assert village.parent is not None and village.code[:9] == village.parent.code[:9]
        assert len(village.code) == 12
        assert not village.departments.exists()
        assert 1 <= village.staff.count() <= 2
    assert 1400 <= Staff.objects.count() <= 1800
    assert 400 <= Staff.objects.filter(institution=lead).count() <= 500
    secondments = Secondment.objects.select_related("staff", "host")
    assert secondments.count() == 30
    today = dt.date.fromisoformat(AS_OF)
    for secondment in secondments:
        assert secondment.host.kind == "township_centre" and secondment.is_current(today)


@pytest.mark.django_db
def test_residents_have_valid_numbers_and_households(generated):
    filed = Patient.objects.filter(registrations__source="filing").distinct()
    assert filed.count() == RESIDENTS
    villages = dict(Institution.objects.filter(kind="village_clinic").values_list("pk", "code"))
    today = dt.date.fromisoformat(AS_OF)
    without_id = 0
    for patient in filed.select_related("household"):
        hrn = patient.health_record_number
        assert hrn is not None and patient.village_id is not None
        assert len(hrn) == 17 and hrn.isdigit()
        assert hrn[:12] == villages[patient.village_id]
        assert patient.household is not None and patient.household.village_id == patient.village_id
        if patient.id_number is None:
            without_id += 1
            continue
        parsed = idnumbers.parse(patient.id_number, today=today)
        assert parsed.area_code == "441823"
        assert parsed.birth_date == patient.birth_date and parsed.sex == patient.sex
    assert without_id < RESIDENTS * 0.1
    for household in Household.objects.all()[:200]:
        members = list(household.members.all())
        assert 1 <= len(members) <= 6
        assert sum(m.relation_to_head == "户主" for m in members) == 1


@pytest.mark.django_db
def test_the_run_is_audited_once_and_the_chain_holds(generated):
    summary = AuditEvent.objects.get(verb="demo.generate")
    assert summary.after is not None
    assert summary.after["residents"] == RESIDENTS and summary.after["seed"] == 2024
    assert summary.after["households"] == Household.objects.count()
    assert AuditEvent.objects.filter(verb="staff.create").count() == Staff.objects.count()
    assert (
        not AuditEvent.objects.filter(object_type="patients.patient")
        .exclude(verb__in=["patient.link_user", "patient.register"])
        .exists()
    )
    registered = Registration.objects.exclude(source="filing")
    assert AuditEvent.objects.filter(verb="patient.register").count() == registered.count()
    assert verify_chain().problem is None


@pytest.mark.django_db
def test_later_registrations_at_other_members_link_and_fill_the_review_queue(generated):
    desk = Registration.objects.exclude(source="filing")
    assert RESIDENTS * 0.04 <= desk.count() <= RESIDENTS * 0.05 * MAX_EXTRA
    assert not desk.filter(institution__kind="village_clinic").exists()
    decisions = Counter(desk.values_list("decision", flat=True))
    assert decisions["linked"] > decisions["review"] + decisions["new"]
    assert decisions["review"] >= 1 and MatchReview.objects.filter(status="open").exists()
    # every linked registration went to a resident of the same birth year or a close one
    for reg in desk.filter(decision="linked").select_related("patient")[:100]:
        assert reg.patient.merged_into_id is None
        assert (
            reg.birth_date is None
            or reg.patient.birth_date is None
            or abs(reg.birth_date.year - reg.patient.birth_date.year) <= 1
        )
    config = MatchConfig.objects.get()
    assert config.version == 1 and config.parameters["engine"].startswith("splink")


@pytest.mark.django_db
def test_every_demo_login_exists_and_can_log_in(generated, client):
    for role, username in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert Membership.objects.filter(user=user, role=role, is_active=True).exists()
        if role == Role.RESIDENT:
            assert user.patient.village is not None and user.patient.village.kind == "village_clinic"
            assert user.patient.name == user.full_name
        else:
            assert user.staff_profile.name == user.full_name
        response = client.post(reverse("accounts:login"), {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        client.logout()
    out = StringIO()
    call_command("demo_logins", stdout=out)
    table = out.getvalue()
    for _role, username in DEMO_LOGINS:
        assert username in table
    assert DEMO_PASSWORD in table and "阳山县120急救指挥中心" in table


@pytest.mark.django_db
def test_if_empty_does_nothing_the_second_time_and_a_plain_rerun_is_refused(generated):
    counts = (Institution.objects.count(), Patient.objects.count(), AuditEvent.objects.count())
    assert "already exists" in generate("--if-empty")
    assert (Institution.objects.count(), Patient.objects.count(), AuditEvent.objects.count()) == counts
    with pytest.raises(CommandError):
        generate()


@pytest.mark.django_db
def test_the_indicator_cells_equal_a_rebuild_after_generation(generated):
    from yigongti.indicators import engine
    from yigongti.indicators.models import IndicatorCell

    cells = engine.snapshot()
    sources = set(IndicatorCell.objects.values_list("part__source", flat=True).distinct())
    assert {"residents", "encounters", "chronic_registry", "fd_contracts"} <= sources
    engine.rebuild()
    assert engine.snapshot() == cells


@pytest.mark.django_db
def test_the_demo_links_follow_ups_as_the_service_does(generated):
    """The demo dates each follow-up's successor itself (``until``, in memory, for speed): it
    must agree with ``chronic.bulk.link_follow_ups``, which the service runs on each record."""
    from yigongti.chronic.bulk import link_follow_ups
    from yigongti.chronic.models import FollowUp

    written = dict(FollowUp.objects.values_list("pk", "until"))
    assert sum(1 for until in written.values() if until) > 10
    with transaction.atomic():
        link_follow_ups()
        assert dict(FollowUp.objects.values_list("pk", "until")) == written
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_loaded_county_is_vacuumed_and_analysed():
    """After the bulk load the planner has statistics and the pages are all-visible, so the
    indicator cubes read their analytic indexes at once (not after autovacuum's next round)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("VACUUM is PostgreSQL's")
    out = generate(residents=0)
    assert " vacuum " in out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible, reltuples FROM pg_class "
            "WHERE oid = 'institutions_institution'::regclass"
        )
        pages, visible, tuples = cursor.fetchone()
    assert pages > 0 and visible == pages
    assert tuples == Institution.objects.count()
