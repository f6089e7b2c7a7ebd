"""The pages: dashboard, breakdown, records, Excel and PDF exports, the local plotly.js."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from yigongti.accounts.choices import Role

pytestmark = pytest.mark.django_db


def test_dashboard_for_the_office_with_lights_and_no_data(data, login_client):
    client = login_client(Role.CONSORTIUM_OFFICE)
    page = client.get("/indicators/", {"period": "2025", "by": "institution"}).content.decode()
    assert "县域内基层医疗卫生机构门急诊占比" in page
    assert 'data-light="green"' in page  # the village clinic: all its visits are grassroots
    empty = client.get("/indicators/", {"period": "2023"}).content.decode()
    assert "无数据" in empty and "0.00 %" not in empty


def test_bad_period_is_a_clear_refusal(data, login_client):
    response = login_client(Role.HEALTH_BUREAU).get("/indicators/", {"period": "2025-14"})
    assert response.status_code == 422
    assert "2025-Q1" in response.content.decode()


def test_residents_may_not_open_the_dashboard(data, login_client, client):
    assert login_client(Role.RESIDENT).get("/indicators/").status_code == 403
    client.logout()
    assert client.get("/indicators/").status_code == 302


def test_excel_export_of_the_dashboard(data, login_client):
    response = login_client(Role.HEALTH_BUREAU).get(
        "/indicators/", {"period": "2025", "by": "level", "format": "xlsx"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][0] == "编码" and any(r[0] == "grassroots_visit_share" for r in rows[1:])


def test_breakdown_page_drills_to_records(data, login_client):
    client = login_client(Role.CONSORTIUM_OFFICE)
    page = client.get("/indicators/grassroots_visit_share/", {"period": "2025-03"}).content.decode()
    records_url = f"/indicators/grassroots_visit_share/records/?period=2025-03&institution={data.village.pk}"
    assert records_url in page and "/indicators/plotly.min.js" in page
    records = client.get(records_url).content.decode()
    assert 'data-testid="record-row"' in records and data.patients["people"][0].name not in records
    assert (
        client.get(
            "/indicators/grassroots_visit_share/records/", {"period": "2025-03", "institution": "999999"}
        ).status_code
        == 404
    )
    assert client.get("/indicators/nope/").status_code == 404
    for odd in ("²", "١٢", "9" * 40):  # digits to str.isdigit, not ids: no such institution
        url = "/indicators/grassroots_visit_share/records/"
        assert client.get(url, {"period": "2025-03", "institution": odd}).status_code == 404


def test_staff_records_outside_their_institution_are_not_found(data, login_client):
    client = login_client(Role.VILLAGE_DOCTOR)
    ok = client.get(
        "/indicators/grassroots_visit_share/records/", {"period": "2025-03", "institution": data.village.pk}
    )
    assert ok.status_code == 200 and data.patients["people"][0].name in ok.content.decode()
    other = client.get(
        "/indicators/grassroots_visit_share/records/", {"period": "2025-03", "institution": data.lead.pk}
    )
    assert other.status_code == 404


def test_monthly_report_pdf(data, login_client):
    response = login_client(Role.CONSORTIUM_OFFICE).get("/indicators/report.pdf", {"period": "2025-03"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert (
        login_client(Role.CONSORTIUM_OFFICE).get("/indicators/report.pdf", {"period": "2025"}).status_code
        == 422
    )


def test_plotly_is_served_locally(client):
    response = client.get("/indicators/plotly.min.js")
    assert response.status_code == 200 and b"plotly.js" in b"".join(response.streaming_content)[:200]
