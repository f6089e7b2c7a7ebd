"""The interface console page: the office and the bureau see their institutions' messages and
export jobs; other roles are refused."""

from __future__ import annotations

import datetime as dt

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.interop.choices import AckCode, Channel
from yigongti.interop.services import hl7_message_record


def _message(county, institution, outcome: str, control: str, error: str = "") -> None:
    hl7_message_record(
        actor=None,
        channel=Channel.HTTP,
        sender=f"HIS@{institution.code}",
        institution=institution,
        message_type="ADT^A04",
        control_id=control,
        encoding="utf-8",
        outcome=outcome,
        error=error,
        result="" if error else "ok",
        raw=f"MSH|...|{idnumbers.build('441823', dt.date(1970, 1, 1), 1)}",
    )


def test_office_sees_messages_and_filters(county, login_client):
    _message(county, county.lead, AckCode.ACCEPT, "OK-1")
    _message(county, county.township, AckCode.ERROR, "BAD-1", "PID-7 不是日期")
    client = login_client(Role.CONSORTIUM_OFFICE)
    page = client.get("/fhir/console/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "OK-1" in text and "BAD-1" in text and "PID-7 不是日期" in text
    only_errors = client.get("/fhir/console/?outcome=AE").content.decode()
    assert "BAD-1" in only_errors and "OK-1" not in only_errors
    assert client.get("/fhir/console/?outcome=zz&page=x").status_code == 200


def test_bureau_reads_and_staff_are_refused(county, login_client):
    _message(county, county.lead, AckCode.ACCEPT, "OK-2")
    assert "OK-2" in login_client(Role.HEALTH_BUREAU).get("/fhir/console/").content.decode()
    for role in (Role.COUNTY_DOCTOR, Role.VILLAGE_DOCTOR, Role.RESIDENT):
        client = login_client(role)
        assert client.get("/fhir/console/").status_code == 403
        client.logout()


def test_anonymous_is_sent_to_login(client, county):
    response = client.get("/fhir/console/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
