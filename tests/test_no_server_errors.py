"""Visit every URL pattern as an anonymous user and as each role: no response may be a 500.

Patterns are read from the resolver, so a page added tomorrow is crawled without editing this test.
Path parameters get a real value from the small county (so the happy path renders) and a
garbage value (so the 404 path renders). Unsafe methods are sent with an empty body.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from yigongti.accounts.choices import Role
from yigongti.core.testing import add_resident_record
from yigongti.institutions import services as inst

pytestmark = pytest.mark.django_db

PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
SKIP_PREFIXES = ("admin/",)  # the Django admin has its own test suite; we check its index only


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for pattern in resolver.url_patterns:
        route = str(pattern.pattern)
        if route.startswith("^"):  # a regex pattern (admin internals): not crawlable generically
            continue
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield prefix + route


def _values(county: Any) -> dict[str, str]:
    patient = add_resident_record(county)
    staff = county.staff["county_doctor"]
    secondment = inst.secondment_create(
        actor=None,
        staff=staff,
        host=county.township,
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        purpose="技术帮扶",
    )
    department = county.lead.departments.first()
    review_id, merge_id = _mpi_values(county)
    referral_id, alert_id = _referral_values(county, patient)
    session_id, slot_id, booking_id = _scheduling_values(county, patient)
    return {
        "code": county.township.code,
        "health_record_number": patient.health_record_number,
        "staff_id": str(staff.pk),
        "secondment_id": str(secondment.pk),
        "department_id": str(department.pk if department else 1),
        "review_id": str(review_id),
        "referral_id": str(referral_id),
        "alert_id": str(alert_id),
        "merge_id": str(merge_id),
        "session_id": str(session_id),
        "slot_id": str(slot_id),
        "booking_id": str(booking_id),
        "encounter_id": str(_encounter_value(county, patient)),
        "id": str(staff.pk),
        "pk": str(staff.pk),
        "resource_type": "Patient",  # /fhir/: answers 401 OperationOutcome without a token
        "resource_id": str(patient.pk),
        **_familydoctor_values(county, patient),
        **_chronic_values(county),
    }


def _familydoctor_values(county: Any, patient: Any) -> dict[str, str]:
    """A team, a package, an active contract with its plan, a home bed and a scheduled visit."""
    from decimal import Decimal

    from yigongti.familydoctor import services as fd

    staff = [
        inst.staff_create(
            actor=None, institution=county.township, employee_no=f"FD{i}", name=name, sex="F", profession=job
        )
        for i, (name, job) in enumerate((("刘护士", "nurse"), ("周公卫", "public_health")))
    ]
    team = fd.team_create(
        actor=None,
        code="FD-CRAWL",
        name="东山村家庭医生团队",
        institution=county.village,
        villages=[county.village],
        members=[
            (county.staff["village_doctor"], "family_doctor"),
            (staff[0], "nurse"),
            (staff[1], "public_health"),
        ],
    )
    package = fd.package_create(
        actor=None,
        code="BASIC",
        name="基础包",
        kind="basic",
        price=Decimal("120"),
        items=[("健康评估", 2, False)],
    )
    contract = fd.contract_sign(actor=None, patient=patient, team=team, packages=[package])
    contract = fd.contract_confirm(actor=None, contract=contract)
    bed = fd.home_bed_open(actor=None, contract=contract, admitted_on=fd.today(), reason="卧床")
    visit = fd.home_visit_schedule(
        actor=None, contract=contract, scheduled_on=fd.today(), purpose="查床", home_bed=bed
    )
    return {
        "team_id": str(team.pk),
        "package_id": str(package.pk),
        "contract_id": str(contract.pk),
        "action": "confirm",
        "task_id": str(contract.tasks.first().pk),  # type: ignore[union-attr]
        "visit_id": str(visit.pk),
        "bed_id": str(bed.pk),
    }


def _chronic_values(county: Any) -> dict[str, str]:
    """A hypertension patient with an urgent follow-up (the one-click referral's page)."""
    from yigongti.chronic import services as chronic
    from yigongti.core.testing import make_patient

    patient = make_patient(county.village, 77, "王建国", dt.date(1958, 3, 2), sex="M")
    from django.utils import timezone

    doctor = county.users[Role.VILLAGE_DOCTOR]
    today = timezone.localdate()
    entry = chronic.enrollment_create(
        actor=doctor,
        patient=patient,
        programme="hypertension",
        diagnosed_on=today - dt.timedelta(days=400),
        enrolled_on=today - dt.timedelta(days=390),
        source="outpatient",
        risk_level="medium",
    )
    row = chronic.follow_up_record(
        actor=doctor, enrollment=entry, visit_date=today - dt.timedelta(days=2), sbp=186, dbp=112
    )
    return {"patient_id": str(patient.pk), "enrollment_id": str(entry.pk), "follow_up_id": str(row.pk)}


def _referral_values(county: Any, patient: Any) -> tuple[int, int]:
    """A submitted green-channel referral from the village clinic to the lead hospital, and its alert."""
    from yigongti.referrals import services as referrals
    from yigongti.referrals.models import Alert, GreenChannelKind, ReferralReason

    referral = referrals.referral_create(
        actor=None,
        patient=patient,
        from_institution=county.village,
        to_institution=county.lead,
        diagnosis_code="I63.9",
        diagnosis_name="脑梗死",
        reason=ReferralReason.objects.get(code="U02"),
        green_channel=GreenChannelKind.objects.get(code="stroke"),
        submit=True,
    )
    return referral.pk, Alert.objects.get(referral=referral).pk


def _mpi_values(county: Any) -> tuple[int, int]:
    """An open possible-duplicate review and a merge (from a second pair, decided "same")."""
    from yigongti.patients.matching.merging import review_decide
    from yigongti.patients.matching.services import Entry, registration_create
    from yigongti.patients.models import MatchReview, Merge

    ids = []
    for name, phone in (("刘秀英", "13500000005"), ("黄小燕", "13500000006")):
        registration_create(
            actor=None,
            institution=county.lead,
            entry=Entry(name=name, sex="F", birth_date=dt.date(1968, 4, 9), phone=phone),
        )
        new = registration_create(
            actor=None,
            institution=county.township,
            entry=Entry(name=name, sex="F", birth_date=dt.date(1968, 9, 4)),
        ).patient
        ids.append(MatchReview.objects.get(patient=new).pk)
    review_decide(actor=None, review_id=ids[1], same=True)
    return ids[0], Merge.objects.get(review_id=ids[1]).pk


def _encounter_value(county: Any, patient: Any) -> int:
    """A village visit of the resident yesterday (every role's detail page: row, 403 or 404)."""
    from django.utils import timezone

    from yigongti.encounters.services import encounter_record

    started = timezone.now() - dt.timedelta(days=1)
    where = {"institution": county.village, "kind": "outpatient"}
    row, _ = encounter_record(actor=None, patient=patient, started_at=started, total_cost=20, **where)
    return row.pk


def _scheduling_values(county: Any, patient: Any) -> tuple[int, int, int]:
    """A township clinic session in three days with the resident's booking in its first slot."""
    from django.utils import timezone

    from yigongti.scheduling.services import booking_create, session_create

    department = inst.department_create(
        actor=None, institution=county.township, code="QK", name="全科", category="general_practice"
    )
    session = session_create(
        actor=None,
        institution=county.township,
        department=department,
        date=timezone.localdate() + dt.timedelta(days=3),
        start=dt.time(8, 0),
        end=dt.time(9, 0),
        capacity=2,
        referral_share=50,
    )
    slot = session.slots.order_by("starts_at")[0]
    booking = booking_create(actor=None, slot=slot, patient=patient)
    return session.pk, slot.pk, booking.pk


#: Values for string parameters that must give a 4xx: unknown, a NUL (PostgreSQL refuses it), CJK + emoji.
GARBAGE = ["zz-nope", "%00", "%E4%B8%AD%F0%9F%98%80"]
#: Pages whose POST may end or change the session (log out, switch membership, language, password).
SESSION_ROUTES = re.compile(r"logout|switch|login|password|i18n|setlang")


def _fill(route: str, values: dict[str, str], garbage: str | None) -> str:
    def sub(m: re.Match[str]) -> str:
        conv, name = m.group("conv") or "str", m.group("name")
        if garbage is not None:
            return "999999" if conv == "int" else garbage
        return values.get(name, "1" if conv == "int" else "x")

    return "/" + PARAM.sub(sub, route)


def _client_for(county: Any, role: str | None) -> Client:
    client = Client(raise_request_exception=True)
    if role is not None:
        client.force_login(county.users[role])
    return client


@pytest.mark.parametrize("role", [None, *Role.values])
def test_no_url_answers_with_a_server_error(county, role):
    values = _values(county)
    routes = [r for r in _routes(get_resolver()) if not r.startswith(SKIP_PREFIXES)]
    assert len(routes) > 5
    failures: list[str] = []
    # One login per role, renewed only after a URL that may end or change the session: logging in
    # again before every request (an audited write each time) made one role take 56 s, not 21 s.
    client = _client_for(county, role)
    # Each role sends one of the garbage values, in turn, so that every value still reaches every
    # route across the roles: all three for every role made this crawl the suite's slowest part.
    turn = [None, *Role.values].index(role)
    for i, route in enumerate([*routes, "admin/"]):
        url = _fill(route, values, None)
        candidates = [(url, ("get", "post", "patch")), (f"{url}?q=%00&page=x&kind=%00", ("get",))]
        if PARAM.search(route):
            garbage = GARBAGE[(turn + i) % len(GARBAGE)]
            candidates.append((_fill(route, values, garbage), ("get", "post", "patch")))
        for url, methods in candidates:
            for method in methods:
                if method == "get":
                    response = client.get(url)
                elif url.startswith("/api/"):
                    response = getattr(client, method)(url, data="{}", content_type="application/json")
                else:
                    response = getattr(client, method)(url, data={} if method == "post" else "")
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {url} as {role}: {response.status_code}")
                if method != "get" and SESSION_ROUTES.search(url):
                    client = _client_for(county, role)
    assert not failures, "\n".join(failures)
