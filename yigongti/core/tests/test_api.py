"""The kernel's API: the ID-number check, the audit trail and its verifier, the OpenAPI document,
and the error contract every endpoint shares (JSON ``{code, message, field}``, translated)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.audit import audit
from yigongti.core.models import AuditEvent
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind as K

pytestmark = pytest.mark.django_db


def check(c: Client, body: Any, **headers: str) -> Any:
    return c.post("/api/id-numbers/check", body, content_type="application/json", headers=headers)


# --- POST /api/id-numbers/check ---------------------------------------------------------------


def test_valid_number(login_client, county):
    before = AuditEvent.objects.count()
    body = check(login_client(Role.VILLAGE_DOCTOR), {"id_number": "11010519491231002X"}).json()
    assert body | {"message": ""} == {
        "valid": True,
        "normalized": "11010519491231002X",
        "birth_date": "1949-12-31",
        "sex": "F",
        "area_code": "110105",
        "area_name": "北京市",
        "message": "",
    }
    assert body["message"]
    assert AuditEvent.objects.count() == before  # a check, not a write


def test_fifteen_digit_number_is_converted(login_client, county):
    body = check(login_client(Role.TOWNSHIP_DOCTOR), {"id_number": "441823750309011"}).json()
    assert (body["valid"], body["normalized"], body["area_name"]) == (True, "44182319750309011X", "阳山县")


def test_lower_case_and_full_width_input(login_client, county):
    c = login_client(Role.NURSE)
    assert check(c, {"id_number": "11010519491231002x"}).json()["normalized"] == "11010519491231002X"
    assert check(c, {"id_number": "１１０１０５１９４９１２３１００２Ｘ"}).json()["valid"] is True


def test_invalid_number_is_a_200_with_the_reason(login_client, county):
    response = check(
        login_client(Role.VILLAGE_DOCTOR), {"id_number": "110105194912310021"}, Accept_Language="en"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["normalized"] == "110105194912310021"
    assert (body["birth_date"], body["sex"], body["area_code"]) == (None, None, None)
    assert body["message"] == "The check character of the ID number is wrong."


def test_future_birth_date_is_invalid(login_client, county):
    tomorrow = timezone.localdate() + dt.timedelta(days=2)
    body = check(login_client(Role.NURSE), {"id_number": idnumbers.build("441823", tomorrow, 1)}).json()
    assert body["valid"] is False and body["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "id_number"), ({"id_number": 12}, "id_number"), ({"id_number": "1" * 41}, "id_number")],
)
def test_malformed_request_is_422_with_the_field(login_client, county, payload, field):
    response = check(login_client(Role.NURSE), payload)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_id_check_needs_a_login(client, db):
    assert check(client, {"id_number": "11010519491231002X"}).status_code == 401


def test_read_only_roles_may_check(login_client, county):
    assert check(login_client(Role.HEALTH_BUREAU), {"id_number": "11010519491231002X"}).json()["valid"]


def test_session_check_needs_csrf_like_every_post(county):
    c = Client(enforce_csrf_checks=True)
    c.force_login(county.users[Role.NURSE])
    response = check(c, {"id_number": "11010519491231002X"})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"


# --- GET /api/audit ---------------------------------------------------------------------------


@pytest.fixture
def foreign_event(county):
    """An event at another consortium's hospital: nobody here may read it."""
    c = inst.consortium_create(
        actor=None, code="441821001", name="佛冈县医共体", county_code="441821", county_name="佛冈县"
    )
    lead = inst.institution_create(
        actor=None, code="441821000001", name="佛冈县人民医院", kind=K.LEAD_HOSPITAL, consortium=c
    )
    return audit(actor=None, verb="test.foreign", subject=lead, institution_id=lead.pk)


def _office_write(c: Client, county) -> None:
    response = c.patch(
        f"/api/departments/{county.lead.departments.get().pk}", {"beds": 41}, content_type="application/json"
    )
    assert response.status_code == 200


def test_office_reads_the_audit_of_its_consortium(login_client, county, foreign_event):
    c = login_client(Role.CONSORTIUM_OFFICE)
    _office_write(c, county)
    body = c.get("/api/audit").json()
    verbs = [e["verb"] for e in body["items"]]
    assert "department.set_beds" in verbs
    assert "test.foreign" not in verbs
    event = next(e for e in body["items"] if e["verb"] == "department.set_beds")
    assert (event["actor_username"], event["before"], event["after"]) == (
        "t_consortium_office",
        {"beds": 40},
        {"beds": 41},
    )
    assert len(event["hash"]) == 64


def test_audit_filters_and_pagination(login_client, county):
    office = county.users[Role.CONSORTIUM_OFFICE]
    c = login_client(Role.CONSORTIUM_OFFICE)
    _office_write(c, county)
    for n in range(3):
        audit(actor=office, verb="staff.test", object_type="x", object_id=n, institution_id=county.lead.pk)
    assert c.get("/api/audit?verb=staff.test").json()["count"] == 3
    assert c.get("/api/audit?verb=staff.").json()["count"] == 3
    assert c.get("/api/audit?verb=staff").json()["count"] == 0  # exact unless it ends in "."
    assert c.get("/api/audit?actor=T_CONSORTIUM_OFFICE").json()["count"] == 4
    assert c.get("/api/audit?actor=t_nurse").json()["count"] == 0
    page = c.get("/api/audit?verb=staff.&limit=2&offset=1").json()
    assert (page["count"], len(page["items"])) == (3, 2)
    assert page["items"][0]["seq"] > page["items"][1]["seq"]  # newest first
    assert c.get("/api/audit?limit=999").json()["limit"] == 200


def test_bureau_reads_the_county_audit(login_client, county, foreign_event):
    audit(actor=None, verb="test.village", object_type="x", institution_id=county.village.pk)
    verbs = [e["verb"] for e in login_client(Role.HEALTH_BUREAU).get("/api/audit").json()["items"]]
    assert "test.village" in verbs and "test.foreign" not in verbs


@pytest.mark.parametrize(
    "role", [Role.TOWNSHIP_DOCTOR, Role.VILLAGE_DOCTOR, Role.COUNTY_DOCTOR, Role.RESIDENT]
)
def test_others_cannot_read_the_audit(login_client, county, role):
    response = login_client(role).get("/api/audit")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


# --- GET /api/audit/verify --------------------------------------------------------------------


def test_office_verifies_the_chain(login_client, county):
    c = login_client(Role.CONSORTIUM_OFFICE)
    body = c.get("/api/audit/verify").json()
    head = AuditEvent.objects.order_by("-seq").first()
    assert head is not None
    assert body == {
        "ok": True,
        "rows": head.seq,
        "head_seq": head.seq,
        "head_hash": head.hash,
        "problem": None,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(AuditEvent._meta.db_table)} SET verb = %s WHERE seq = %s",  # noqa: S608
            ["forged", 3],
        )
    body = c.get("/api/audit/verify").json()
    assert body["ok"] is False
    assert (body["problem"]["seq"], body["problem"]["kind"]) == (3, "changed")


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.TOWNSHIP_DOCTOR, Role.RESIDENT])
def test_only_the_office_verifies(login_client, county, role):
    assert login_client(role).get("/api/audit/verify").status_code == 403


# --- the error contract -----------------------------------------------------------------------


def test_invalid_json_is_a_400_json_answer(login_client, county):
    c = login_client(Role.CONSORTIUM_OFFICE)
    for body, content_type in [
        ("{not json", "application/json"),
        ("a=1&b=2", "application/x-www-form-urlencoded"),
    ]:
        response = c.post("/api/staff", body, content_type=content_type)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "bad_request"


def test_json_of_the_wrong_shape_is_422(login_client, county):
    c = login_client(Role.CONSORTIUM_OFFICE)
    response = c.post("/api/staff", [1, 2, 3], content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "invalid"


def test_bad_path_parameter_is_422_with_its_name(login_client, county):
    response = login_client(Role.CONSORTIUM_OFFICE).get("/api/staff/not-a-number")
    assert response.status_code == 422
    assert response.json()["field"] == "staff_id"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_errors_answer_in_the_requested_language(login_client, county, language):
    c = login_client(Role.CONSORTIUM_OFFICE)
    headers = {"Accept-Language": language}
    cases = [
        (c.get("/api/institutions/999999999999", headers=headers), 404, "not_found", "code"),
        (check(c, {}, Accept_Language=language), 422, "invalid", "id_number"),
        (Client().get("/api/me", headers=headers), 401, "unauthenticated", None),
        (
            login_client(Role.HEALTH_BUREAU).post(
                "/api/staff", {"name": "x"}, content_type="application/json", headers=headers
            ),
            403,
            "forbidden",
            None,
        ),
    ]
    for response, status, code, field in cases:
        assert response.status_code == status
        assert response["Content-Language"] == language
        body = response.json()
        assert (body["code"], body["field"]) == (code, field)
        assert body["message"].strip()


def test_english_messages(login_client, county):
    c = login_client(Role.CONSORTIUM_OFFICE)
    en = {"Accept-Language": "en"}
    assert (
        c.get("/api/institutions/999999999999", headers=en).json()["message"]
        == "No institution with this code."
    )
    assert check(c, {}, Accept_Language="en").json()["message"] == "id_number is required."
    assert Client().get("/api/me", headers=en).json()["message"] == "Please log in or send a valid API token."
    data = {"code": "441823101003", "name": "村卫生站", "kind": "village_clinic", "parent": "441823101000"}
    response = c.post(
        "/api/institutions", {**data, "kind": "spa"}, content_type="application/json", headers=en
    )
    assert response.json()["message"].startswith("The value of kind is not valid: ")
    bureau = login_client(Role.HEALTH_BUREAU)  # the same test client, now logged in as the bureau
    response = bureau.post("/api/institutions", data, content_type="application/json", headers=en)
    assert response.json()["message"] == "Your role may only read."
    # The role is checked before the body: a read-only role gets its 403 whatever it sends.
    response = bureau.post("/api/institutions", {"kind": "spa"}, content_type="application/json", headers=en)
    assert (response.status_code, response.json()["message"]) == (403, "Your role may only read.")
    village = login_client(Role.VILLAGE_DOCTOR)
    response = village.post("/api/institutions", data, content_type="application/json", headers=en)
    assert response.json()["message"] == "Only the consortium office may change this."


def test_an_unexpected_error_is_a_json_500(login_client, county, monkeypatch):
    import yigongti.core.api as core_api

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(core_api, "verify_chain", broken)
    response = login_client(Role.CONSORTIUM_OFFICE).get("/api/audit/verify")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "boom" not in response.content.decode()


# --- OpenAPI ----------------------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_openapi_document_is_complete_and_consistent(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"dangling {ref}"
    operation_ids: list[str] = []
    for path, item in spec["paths"].items():
        assert path.startswith("/api/")
        for method, op in item.items():
            assert method in {"get", "post", "patch", "put", "delete"}
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            assert "200" in op["responses"] or "201" in op["responses"]
            assert "401" in op["responses"]
            operation_ids.append(op["operationId"])
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(_placeholders(path)), path
    assert len(operation_ids) == len(set(operation_ids))
    expected = {
        ("get", "/api/me"),
        ("get", "/api/memberships"),
        ("get", "/api/institutions"),
        ("post", "/api/institutions"),
        ("get", "/api/institutions/{code}"),
        ("get", "/api/institutions/{code}/departments"),
        ("post", "/api/institutions/{code}/departments"),
        ("patch", "/api/departments/{department_id}"),
        ("get", "/api/staff"),
        ("post", "/api/staff"),
        ("get", "/api/staff/{staff_id}"),
        ("patch", "/api/staff/{staff_id}"),
        ("get", "/api/secondments"),
        ("post", "/api/secondments"),
        ("post", "/api/secondments/{secondment_id}/end"),
        ("post", "/api/id-numbers/check"),
        ("get", "/api/patients/me"),
        ("get", "/api/patients"),
        ("get", "/api/patients/{health_record_number}"),
        ("get", "/api/audit"),
        ("get", "/api/audit/verify"),
    }
    present = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert expected <= present


def test_openapi_document_is_built_once_per_language(client, db, monkeypatch):
    import ninja.main

    from config.api import api

    built: list[str] = []
    real = ninja.main.get_schema

    def counting(**kwargs: Any) -> Any:
        built.append(kwargs["path_prefix"])
        return real(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counting)
    monkeypatch.setattr(api, "_schemas", {})
    first = client.get("/api/openapi.json", headers={"accept-language": "zh-hans"})
    again = client.get("/api/openapi.json", headers={"accept-language": "zh-hans"})
    english = client.get("/api/openapi.json", headers={"accept-language": "en"})
    assert first.status_code == again.status_code == english.status_code == 200
    assert first.json() == again.json()
    assert built == ["/api/", "/api/"]  # zh-hans once, en once


def _placeholders(path: str) -> list[str]:
    import re

    return re.findall(r"{([^}]+)}", path)


def test_error_schema_is_documented(client, db):
    spec = client.get("/api/openapi.json").json()
    op = spec["paths"]["/api/staff"]["post"]
    for status in ("401", "403", "404", "409", "422"):
        ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut")
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == {"code", "message", "field"}


def test_interactive_docs_load_nothing_from_outside(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


# --- GET /api/icd10 ---------------------------------------------------------------------------


def test_icd10_lookup_by_name_and_by_code(login_client, county):
    c = login_client(Role.VILLAGE_DOCTOR)
    by_name = c.get("/api/icd10", {"q": "高血压"}).json()
    assert {"code": "I10", "name": "特发性(原发性)高血压"} in by_name
    by_code = c.get("/api/icd10", {"q": "e11", "limit": 3}).json()
    assert [row["code"] for row in by_code] == ["E11", "E11.2", "E11.3"]


def test_icd10_lookup_needs_a_login_and_a_query(client, login_client, county):
    assert client.get("/api/icd10", {"q": "I10"}).status_code == 401
    refused = login_client(Role.RESIDENT).get("/api/icd10", {"q": ""}, headers={"accept-language": "en"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "q"


@pytest.mark.parametrize("value", ["-842449547275532500992", str(2**63)])
def test_an_integer_wider_than_a_column_is_a_422(login_client, county, value):
    """Found by the API fuzz: on SQLite the driver raised OverflowError (a 500) for ?team=<huge>."""
    response = login_client(Role.VILLAGE_DOCTOR).get(
        "/api/familydoctor/tasks", {"team": value}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 422
    assert "数字过大" in response.json()["message"]


def test_the_widest_column_integer_is_accepted(login_client, county):
    response = login_client(Role.VILLAGE_DOCTOR).get("/api/familydoctor/tasks", {"team": str(2**63 - 1)})
    assert response.status_code == 200
