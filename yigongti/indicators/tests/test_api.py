"""The JSON endpoints: allowed, denied and out of scope; no data and bad input."""

from __future__ import annotations

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_values_by_institution_for_the_office(data, login_client):
    client = login_client(Role.CONSORTIUM_OFFICE)
    response = client.get("/api/indicators", {"period": "2025", "by": "institution"})
    assert response.status_code == 200, response.content
    rows = response.json()
    row = next(
        r for r in rows if r["code"] == "grassroots_visit_share" and r["group"] == str(data.village.pk)
    )
    assert {"code", "name", "value", "numerator", "denominator", "target", "unit", "light"} <= set(row)
    assert row["value"] == 100.0 and row["target"] == 65.0 and row["light"] == "green"


def test_a_period_without_data_answers_no_data(data, login_client):
    rows = login_client(Role.HEALTH_BUREAU).get("/api/indicators", {"period": "2023-Q2"}).json()
    share = next(r for r in rows if r["code"] == "grassroots_visit_share")
    assert share["value"] is None and share["reason"] == "no_data"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"period": "2025-13"}, 422),
        ({"period": "2025", "by": "village"}, 422),
        ({"period": "2025", "code": "nope"}, 404),
    ],
)
def test_bad_input_is_refused(data, login_client, params, status):
    response = login_client(Role.CONSORTIUM_OFFICE).get("/api/indicators", params)
    assert response.status_code == status, response.content
    assert response.json()["code"]


def test_residents_and_anonymous_callers_are_refused(data, client, login_client):
    assert client.get("/api/indicators", {"period": "2025"}).status_code == 401
    assert login_client(Role.RESIDENT).get("/api/indicators/catalogue").status_code == 403


def test_staff_get_their_own_institution_only(data, login_client):
    rows = (
        login_client(Role.VILLAGE_DOCTOR)
        .get("/api/indicators", {"period": "2025", "by": "consortium"})
        .json()
    )
    assert rows and {r["group"] for r in rows} == {str(data.village.pk)}


def test_catalogue_and_breakdown(data, login_client):
    client = login_client(Role.HEALTH_BUREAU)
    codes = [i["code"] for i in client.get("/api/indicators/catalogue").json()]
    assert "in_county_admission_share" in codes
    body = client.get(
        "/api/indicators/cost_per_inpatient/breakdown", {"period": "2025-Q1", "by": "level"}
    ).json()
    assert body["by"] == "level" and len(body["trend"]) == 12 and body["trend"][0]["month"] == "2025-01"
    assert {r["group"] for r in body["rows"]} <= {"county", "township", "village", "external"}
    assert client.get("/api/indicators/nope/breakdown", {"period": "2025"}).status_code == 404


def test_records_masked_audited_and_scoped(data, login_client):
    client = login_client(Role.CONSORTIUM_OFFICE)
    params = {"period": "2025-03", "institution": str(data.village.pk)}
    page = client.get("/api/indicators/grassroots_visit_share/records", params).json()
    assert page["source"] == "encounters" and page["count"] >= 1
    name = data.patients["people"][0].name
    assert all(item["fields"]["patient"] != name for item in page["items"])
    assert AuditEvent.objects.filter(verb="indicator.records_read").exists()
    village = login_client(Role.VILLAGE_DOCTOR)
    other = {"period": "2025-03", "institution": str(data.lead.pk)}
    assert village.get("/api/indicators/grassroots_visit_share/records", other).status_code == 404
    assert (
        village.get("/api/indicators/grassroots_visit_share/records", {**params, "part": "x"}).status_code
        == 422
    )
