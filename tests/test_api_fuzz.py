"""Fuzz the JSON API from its own OpenAPI document: no input may produce a server error.

schemathesis reads ``/api/openapi.json`` in-process from the WSGI application and, for every
operation, generates valid and invalid requests (paths, queries, bodies, garbage credentials).
Each operation is called as the consortium office (who may write), as a village doctor (who reads a
narrow scope and writes nothing) and, with a few random cases and no coverage phase, without a
valid credential (``YGT_FUZZ_ANONYMOUS_EXAMPLES``). Every response must be a
documented status code with a body that matches the documented schema, and never a 5xx.

Generated codes and ids rarely name a row that exists, so a hook swaps some of them for rows of
the small county: the happy paths and the writes on real rows are fuzzed too, not only the 404s.
The county is built once per test (one operation, one caller); rows written by generated POSTs
stay until the test's transaction is rolled back.

Besides ``MAX_EXAMPLES`` random cases (positive and negative), schemathesis's coverage phase sends
boundary values and missing or wrongly typed fields for every parameter. ``YGT_FUZZ_EXAMPLES=500``
digs deeper; ``YGT_FUZZ_COVERAGE=0`` leaves the coverage phase out.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core import idnumbers
from yigongti.core.testing import SmallCounty
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind
from yigongti.patients.models import Patient
from yigongti.patients.services import HouseholdRow, ResidentRow, residents_bulk_insert

pytestmark = pytest.mark.django_db

#: Cases per operation and caller: enough to find the crashes, few enough for every test run.
MAX_EXAMPLES = int(os.environ.get("YGT_FUZZ_EXAMPLES", "20"))
COVERAGE = os.environ.get("YGT_FUZZ_COVERAGE", "1") == "1"

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"coverage": {"enabled": COVERAGE}},
    }
)

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application(), config=CONFIG)

#: The caller without a credential must be refused by every operation whatever it sends: a few
#: random cases per operation show it (every one is a 401 before any input is looked at), so this
#: caller skips the coverage phase that the two roles go through.
ANONYMOUS_EXAMPLES = int(os.environ.get("YGT_FUZZ_ANONYMOUS_EXAMPLES", "5"))
anonymous_schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": ANONYMOUS_EXAMPLES, "database": "none"},
            "phases": {"coverage": {"enabled": False}},
        }
    ),
)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

#: Rows of the current test's county that a generated value may be swapped for, by location and
#: parameter name. Filled by the ``county_rows`` fixture, read while cases are generated.
COUNTY_ROWS: dict[str, dict[str, list[Any]]] = {}


def _resident(county: SmallCounty) -> Patient:
    residents_bulk_insert(
        households=[HouseholdRow("4418231010010001", county.village.pk, "东山村3号")],
        residents=[
            ResidentRow(
                household=0,
                health_record_number=f"{county.village.code}00001",
                id_number=idnumbers.build("441823", dt.date(1950, 6, 1), 21),
                name="陈桂芳",
                sex="F",
                birth_date=dt.date(1950, 6, 1),
                phone="13800138000",
                relation_to_head="户主",
                village_id=county.village.pk,
                address="东山村3号",
            )
        ],
    )
    return Patient.objects.get(village=county.village)


@pytest.fixture
def county_rows(county: SmallCounty) -> Iterator[dict[str, dict[str, list[Any]]]]:
    patient = _resident(county)
    secondment = inst.secondment_create(
        actor=None,
        staff=county.staff["county_doctor"],
        host=county.township,
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        purpose="技术帮扶",
    )
    department = county.lead.departments.get()
    staff = [county.staff["village_doctor"].pk, county.staff["county_doctor"].pk]
    codes = [county.village.code, county.lead.code]
    COUNTY_ROWS.update(
        path={
            "code": codes,
            "department_id": [department.pk],
            "staff_id": staff,
            "secondment_id": [secondment.pk],
            "health_record_number": [patient.health_record_number],
        },
        query={"parent": [county.township.code], "institution": codes},
        body={
            # a new village under the township: POST /institutions can succeed
            "code": ["441823101003"],
            "kind": [InstitutionKind.VILLAGE_CLINIC.value],
            "parent": [county.township.code],
            "institution": [county.lead.code],
            "department": [department.pk],
            "staff": staff,
            "host": [county.township.code],
        },
    )
    yield COUNTY_ROWS
    COUNTY_ROWS.clear()


@schema.hook
def flatmap_case(
    context: schemathesis.HookContext, case: schemathesis.Case
) -> st.SearchStrategy[schemathesis.Case]:
    """Each parameter that names a row keeps its generated value or takes a real one."""
    containers: dict[str, dict[str, Any]] = {
        location: container
        for location, container in (
            ("path", case.path_parameters),
            ("query", case.query),
            ("body", case.body),
        )
        if isinstance(container, dict) and location in COUNTY_ROWS
    }
    slots = [
        (location, name, COUNTY_ROWS[location][name])
        for location, container in containers.items()
        for name in container
        if name in COUNTY_ROWS[location]
    ]
    if not slots:
        return st.just(case)

    def swap(picks: tuple[Any, ...]) -> schemathesis.Case:
        for (location, name, _), value in zip(slots, picks, strict=True):
            if value is not None:
                containers[location][name] = value
        return case

    return st.tuples(*(st.sampled_from([None, *values]) for _, _, values in slots)).map(swap)


@pytest.fixture
def kept_connection() -> Iterator[None]:
    """Keep the test's database connection across requests, as Django's test client does.

    The real WSGI handler closes connections at the start and end of every request; inside the
    test's transaction PostgreSQL would lose it (and the county) after the first request.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@dataclass(frozen=True)
class Caller:
    role: str
    headers: dict[str, str]


@pytest.fixture(params=[Role.CONSORTIUM_OFFICE, Role.VILLAGE_DOCTOR], ids=str)
def caller(request: pytest.FixtureRequest, county: SmallCounty) -> Caller:
    """A bearer token of the role."""
    _, raw = token_create(actor=None, user=county.users[request.param], name="fuzz")
    return Caller(request.param, {"Authorization": f"Bearer {raw}"})


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_every_input_within_its_contract(
    case: schemathesis.Case, caller: Caller, county_rows: dict[str, Any], kept_connection: None
) -> None:
    response = case.call_and_validate(headers=caller.headers, checks=CHECKS)
    # else only the refusal of the token would be fuzzed
    assert response.status_code != 401, f"the {caller.role} token was refused"


@anonymous_schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_refuses_every_input_without_credentials(case: schemathesis.Case, kept_connection: None) -> None:
    """Schemathesis may still send a generated ``Authorization`` header or session cookie, which
    must be refused all the same."""
    response = case.call_and_validate(checks=CHECKS)
    # a method that the path does not have is a 405 for anyone
    undeclared = case.method.upper() != case.operation.method.upper()
    assert response.status_code == (405 if undeclared else 401), "a caller without credentials got in"


def test_openapi_document_is_valid_openapi(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert "/api/institutions" in document["paths"]
    with_body = [op for item in document["paths"].values() for op in item.values() if "requestBody" in op]
    assert with_body and all("400" in op["responses"] for op in with_body), "a body that is not JSON is a 400"


# --- what the fuzzer found, pinned so that catching it again does not depend on luck ----------


def _bearer(county: SmallCounty, role: str) -> dict[str, str]:
    _, raw = token_create(actor=None, user=county.users[role], name="fuzz")
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "where"),
    [
        (Role.CONSORTIUM_OFFICE, "get", "/api/institutions/44%00", None, "code"),
        (Role.CONSORTIUM_OFFICE, "get", "/api/institutions/%00/departments", None, "code"),
        (Role.VILLAGE_DOCTOR, "get", "/api/patients/%00", None, "health_record_number"),
        (Role.VILLAGE_DOCTOR, "get", "/api/staff?q=a%00b", None, "q"),
        (Role.CONSORTIUM_OFFICE, "get", "/api/audit?actor=%00", None, "actor"),
        (Role.CONSORTIUM_OFFICE, "post", "/api/id-numbers/check", {"id_number": "\x00"}, "id_number"),
        (
            Role.CONSORTIUM_OFFICE,
            "post",
            "/api/secondments",
            {"staff": 1, "host": "\x00", "start_date": "2026-01-01", "end_date": "2026-02-01"},
            "host",
        ),
        (Role.CONSORTIUM_OFFICE, "get", f"/api/memberships?offset={10**20}", None, "offset"),
        (
            Role.CONSORTIUM_OFFICE,
            "post",
            "/api/familydoctor/teams",
            {"code": "T1", "name": "团队", "institution": "441823000001", "villages": ["44\x00"]},
            "villages",
        ),
        (Role.VILLAGE_DOCTOR, "get", f"/api/familydoctor/tasks?team={2**64}", None, "team"),
    ],
)
def test_input_the_database_cannot_take_is_a_422(
    county: SmallCounty, role: str, method: str, url: str, body: dict[str, Any] | None, where: str
) -> None:
    """NUL characters (PostgreSQL text cannot hold them) and offsets beyond 64 bits (SQLite)
    were 500s."""
    client = Client()
    if method == "get":
        response = client.get(url, headers=_bearer(county, role))
    else:
        response = client.post(url, body, content_type="application/json", headers=_bearer(county, role))
    assert response.status_code == 422, response.content
    assert response.json()["field"] == where


def test_a_body_that_is_not_json_is_a_documented_400(county: SmallCounty) -> None:
    response = Client().post(
        "/api/id-numbers/check",
        b"\x00",
        content_type="application/json",
        headers=_bearer(county, Role.VILLAGE_DOCTOR),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
