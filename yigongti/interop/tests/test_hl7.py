"""HL7 v2 intake over HTTP and over a real MLLP socket, in UTF-8 and GBK."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
from hl7apy.parser import parse_message

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.interop.hl7.mllp import END, START, Server, frame
from yigongti.interop.models import Hl7Message, LabResult
from yigongti.patients.models import MatchReview, Merge, Patient, Registration

ER7 = "x-application/hl7-v2+er7"
ID_1950 = idnumbers.build("441823", dt.date(1950, 6, 1), 21)


def adt(
    trigger: str = "A04",
    *,
    control: str = "MSG0001",
    facility: str = "441823000001",
    local: str = "MZ1001",
    name: str = "陈^桂芳",
    birth: str = "19500601",
    sex: str = "F",
    charset: str = "UNICODE UTF-8",
    id_number: str = ID_1950,
    pv1: str = "PV1|1|O|||||||||||||||||V20260001|||||||||||||||||||||||||20260301083000",
) -> str:
    segments = [
        f"MSH|^~\\&|HIS|{facility}|YGT|YGT|20260301083000||ADT^{trigger}^ADT_A01|{control}|P|2.5|||||CHN|{charset}",
        f"EVN|{trigger}|20260301083000",
        f"PID|1||{local}^^^{facility}^PI~{id_number}^^^^NNCHN||{name}||{birth}|{sex}|||东山村3号||13800000001",
    ]
    if pv1:
        segments.append(pv1)
    return "\r".join(segments) + "\r"


def post(client, text: str, encoding: str = "utf-8", token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post("/api/interop/hl7", data=text.encode(encoding), content_type=ER7, **headers)


def msa(body: bytes, encoding: str = "utf-8"):
    ack = parse_message(body.decode(encoding).replace("\n", "\r"), find_groups=False)
    return ack


@pytest.fixture
def doctor(tokens):
    return tokens[Role.COUNTY_DOCTOR]


def test_a04_registers_through_the_master_index_and_records_the_visit(client, county, doctor):
    response = post(client, adt(), token=doctor)
    assert response.status_code == 200
    ack = msa(response.content)
    assert ack.msa.msa_1.value == "AA", response.content.decode()
    assert ack.msa.msa_2.value == "MSG0001"
    reg = Registration.objects.get(institution=county.lead, local_number="MZ1001")
    assert reg.patient.name == "陈桂芳" and reg.patient.id_number == ID_1950
    log = Hl7Message.objects.get(control_id="MSG0001")
    assert (
        log.outcome == "AA"
        and log.institution == county.lead
        and log.user == county.users[Role.COUNTY_DOCTOR]
    )
    assert AuditEvent.objects.filter(verb="patient.register", object_id=str(reg.patient_id)).exists()
    assert AuditEvent.objects.filter(verb="interop.hl7_receive", object_id=str(log.pk)).exists()
    from yigongti.encounters.models import Encounter

    enc = Encounter.objects.get(external_id="V20260001")
    assert enc.patient_id == reg.patient_id and enc.kind == "outpatient" and enc.source == "hl7"
    # the same message again: acknowledged, nothing new
    again = post(client, adt(), token=doctor)
    assert msa(again.content).msa.msa_1.value == "AA"
    assert Registration.objects.filter(local_number="MZ1001").count() == 1
    assert Encounter.objects.filter(external_id="V20260001").count() == 1


def test_a04_from_another_hospital_links_not_duplicates(client, county, tokens):
    post(client, adt(), token=tokens[Role.COUNTY_DOCTOR])
    response = post(
        client,
        adt(facility="441823101000", local="T-77", control="T1", pv1=""),
        token=tokens[Role.TOWNSHIP_DOCTOR],
    )
    assert msa(response.content).msa.msa_1.value == "AA"
    assert Patient.objects.filter(name="陈桂芳").count() == 1
    assert Registration.objects.get(local_number="T-77").decision == "linked"


def test_gbk_message_is_read_and_answered_in_gbk(client, county, doctor):
    response = post(
        client, adt(charset="GBK", control="GBK1", local="GBK-1", name="欧阳^娜娜"), "gbk", doctor
    )
    assert "gbk" in response["Content-Type"]
    ack = msa(response.content, "gbk")
    assert ack.msa.msa_1.value == "AA"
    assert Registration.objects.get(local_number="GBK-1").patient.name == "欧阳娜娜"


def test_broken_segment_is_refused_naming_it(client, county, doctor):
    text = adt(control="BAD1").replace("PID|1|", "P!D|1|")
    response = post(client, text, token=doctor)
    ack = msa(response.content)
    assert ack.msa.msa_1.value == "AE"
    assert ack.msa.msa_2.value == "BAD1"
    assert ack.err.err_2.value == "P!D^3"
    assert "P!D" in ack.err.err_8.value
    assert not Registration.objects.filter(local_number="MZ1001").exists()
    assert Hl7Message.objects.get(control_id="BAD1").outcome == "AE"


def test_bad_birth_date_names_pid_7_and_writes_nothing(client, county, doctor):
    response = post(client, adt(control="BAD2", birth="19501399"), token=doctor)
    ack = msa(response.content)
    assert ack.msa.msa_1.value == "AE"
    assert ack.err.err_2.value == "PID^1^7"
    assert ack.err.err_3.value.startswith("102")
    assert not Registration.objects.filter(local_number="MZ1001").exists()
    log = Hl7Message.objects.get(control_id="BAD2")
    assert log.outcome == "AE" and "PID-7" in log.error


def test_visit_without_county_of_residence_names_pid_11(client, county, doctor):
    response = post(client, adt(control="C1", id_number=""), token=doctor)
    ack = msa(response.content)
    assert ack.msa.msa_1.value == "AE" and ack.err.err_2.value == "PID^1^11"
    assert not Registration.objects.exists()  # the registration rolled back with the visit
    with_county = adt(control="C2", id_number="").replace("东山村3号", "东山村3号^^^^^^^^441823")
    assert msa(post(client, with_county, token=doctor).content).msa.msa_1.value == "AA"


def test_nul_character_is_rejected_and_logged(client, county, doctor):
    ack = msa(post(client, adt(control="NUL1").replace("东山村", "东\x00山村"), token=doctor).content)
    assert ack.msa.msa_1.value == "AR"
    assert Hl7Message.objects.get(control_id="NUL1").outcome == "AR"


def test_unsupported_type_is_rejected(client, county, doctor):
    text = adt(control="X1").replace("ADT^A04^ADT_A01", "ADT^A03^ADT_A03")
    ack = msa(post(client, text, token=doctor).content)
    assert ack.msa.msa_1.value == "AR" and ack.err.err_2.value == "MSH^1^9"


def test_facility_outside_scope_is_rejected(client, county, doctor):
    ack = msa(post(client, adt(facility="441823101000", control="F1"), token=doctor).content)
    assert ack.msa.msa_1.value == "AR" and ack.err.err_2.value == "MSH^1^4"
    assert not Registration.objects.exists()


def test_empty_body_is_a_400(client, county, doctor):
    response = post(client, "", token=doctor)
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_read_only_role_and_no_token_are_refused(client, county, tokens):
    assert post(client, adt()).status_code == 401
    assert post(client, adt(), token=tokens[Role.HEALTH_BUREAU]).status_code == 403
    assert not Registration.objects.exists()


def test_oru_results_are_kept(client, county, doctor):
    text = (
        "MSH|^~\\&|LIS|441823000001|YGT|YGT|20260301090000||ORU^R01^ORU_R01|LAB1|P|2.5|||||CHN|"
        "UNICODE UTF-8\r"
        f"PID|1||MZ1001^^^441823000001^PI~{ID_1950}^^^^NNCHN||陈^桂芳||19500601|F\r"
        "OBR|1|ORD1|LAB-778|GLU^血糖^L\r"
        "OBX|1|NM|GLU^葡萄糖||7.8|mmol/L|3.9-6.1|H|||F|||20260301085500\r"
        "OBX|2|NM|HBA1C^糖化血红蛋白||6.9|%|4.0-6.0|H|||F|||20260301085500\r"
    )
    ack = msa(post(client, text, token=doctor).content)
    assert ack.msa.msa_1.value == "AA"
    rows = list(LabResult.objects.order_by("code"))
    assert [(r.code, r.value, r.unit, r.abnormal_flag) for r in rows] == [
        ("GLU", "7.8", "mmol/L", "H"),
        ("HBA1C", "6.9", "%", "H"),
    ]
    assert rows[0].patient is not None and rows[0].patient.name == "陈桂芳"
    assert rows[0].order_number == "LAB-778"
    assert AuditEvent.objects.filter(verb="interop.results_store").exists()


def test_a40_merges_for_the_office_and_is_refused_to_a_doctor(client, county, tokens):
    post(client, adt(control="M1", local="A-1", id_number="", pv1=""), token=tokens[Role.COUNTY_DOCTOR])
    second = post(
        client,
        adt(control="M2", local="A-2", id_number="", name="陈^贵芳", birth="19500610", pv1=""),
        token=tokens[Role.COUNTY_DOCTOR],
    )
    assert msa(second.content).msa.msa_1.value == "AA", second.content.decode()
    survivor = Registration.objects.get(local_number="A-1").patient
    merged = Registration.objects.get(local_number="A-2").patient
    assert survivor.pk != merged.pk
    a40 = (
        "MSH|^~\\&|HIS|441823000001|YGT|YGT|20260302090000||ADT^A40^ADT_A39|MRG1|P|2.5|||||CHN|"
        "UNICODE UTF-8\r"
        "EVN|A40|20260302090000\r"
        "PID|1||A-1^^^441823000001^PI||陈^桂芳\r"
        "MRG|A-2^^^441823000001^PI\r"
    )
    refused = msa(post(client, a40, token=tokens[Role.COUNTY_DOCTOR]).content)
    assert refused.msa.msa_1.value == "AE"
    assert not Merge.objects.exists()
    done = msa(post(client, a40.replace("MRG1", "MRG2"), token=tokens[Role.CONSORTIUM_OFFICE]).content)
    assert done.msa.msa_1.value == "AA"
    assert Merge.objects.get().merged_id == merged.pk
    assert AuditEvent.objects.filter(verb="patient.merge").exists()


@pytest.mark.django_db(transaction=True)
def test_mllp_socket_in_utf8_and_gbk(county):
    user = county.users[Role.COUNTY_DOCTOR]
    server = Server(("127.0.0.1", 0), user, idle_timeout=10)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            answers = []
            for text, encoding in (
                (adt(control="S1", local="S-1", pv1=""), "utf-8"),
                (
                    adt(
                        control="S2",
                        local="S-2",
                        name="黄^小燕",
                        birth="19800101",
                        id_number="",
                        charset="GBK",
                        pv1="",
                    ),
                    "gbk",
                ),
                (adt(control="S3", local="S-3").replace("PID|1|", "PI|1|"), "utf-8"),
            ):
                sock.sendall(frame(text.encode(encoding)))
                data = b""
                while not data.endswith(END):
                    data += sock.recv(65536)
                assert data.startswith(START)
                answers.append(msa(data[1:-2], encoding))
        assert [a.msa.msa_1.value for a in answers] == ["AA", "AA", "AE"]
        assert [a.msa.msa_2.value for a in answers] == ["S1", "S2", "S3"]
        assert Registration.objects.get(local_number="S-2").patient.name == "黄小燕"
        assert "PI" in answers[2].err.err_8.value, answers[2].to_er7()
        assert Hl7Message.objects.filter(channel="mllp").count() == 3
    finally:
        server.shutdown()
        server.server_close()


def test_a08_with_changed_details_updates_the_registration(client, county, doctor):
    assert msa(post(client, adt(control="U1", pv1=""), token=doctor).content).msa.msa_1.value == "AA"
    reg = Registration.objects.get(institution=county.lead, local_number="MZ1001")
    a08 = adt("A08", control="U2", pv1="").replace("||13800000001", "||13900000002")
    response = post(client, a08, token=doctor)
    ack = msa(response.content)
    assert ack.msa.msa_1.value == "AA", response.content.decode()
    assert Hl7Message.objects.get(control_id="U2").outcome == "AA"
    update = AuditEvent.objects.get(verb="registration.update")
    assert update.after is not None and update.after["outcome"] == "updated"
    reg.refresh_from_db()
    assert reg.phone == "13900000002" and Patient.objects.get(pk=reg.patient_id).phone == "13900000002"
    assert AuditEvent.objects.filter(verb="registration.update", object_id=str(reg.pk)).exists()
    # the same details again under a new control id: acknowledged, nothing written
    again = msa(post(client, a08.replace("|U2|", "|U3|"), token=doctor).content)
    assert again.msa.msa_1.value == "AA"
    assert AuditEvent.objects.filter(verb="registration.update").count() == 1


def test_a08_contradicting_the_resident_is_refused_naming_the_reason(client, county, tokens):
    doctor = tokens[Role.COUNTY_DOCTOR]
    post(client, adt(control="K1", pv1=""), token=doctor)
    post(
        client,
        adt(facility="441823101000", local="T-77", control="K2", pv1=""),
        token=tokens[Role.TOWNSHIP_DOCTOR],
    )
    reg = Registration.objects.get(institution=county.lead, local_number="MZ1001")
    assert (
        reg.decision == "new" and Registration.objects.get(local_number="T-77").patient_id == reg.patient_id
    )
    stranger = idnumbers.build("441823", dt.date(1950, 6, 1), 44)  # valid, nobody's
    response = post(client, adt("A08", control="K3", pv1="", id_number=stranger), token=doctor)
    ack = msa(response.content)
    assert ack.msa.msa_1.value == "AE", response.content.decode()
    assert ack.err.err_2.value == "PID^1^3"
    log = Hl7Message.objects.get(control_id="K3")
    assert log.outcome == "AE" and ("ID number" in log.error or "身份证号不同" in log.error)
    reg.refresh_from_db()
    assert reg.id_number == ID_1950


def test_a08_with_another_residents_details_is_accepted_and_reviewed(client, county, tokens):
    doctor = tokens[Role.COUNTY_DOCTOR]
    post(client, adt(control="R1", pv1=""), token=doctor)
    other_id = idnumbers.build("441823", dt.date(1975, 11, 20), 246)
    post(
        client,
        adt(
            facility="441823101000",
            local="T-5",
            control="R2",
            pv1="",
            name="李^秀兰",
            birth="19751120",
            id_number=other_id,
        ),
        token=tokens[Role.TOWNSHIP_DOCTOR],
    )
    mine = Registration.objects.get(institution=county.lead, local_number="MZ1001")
    response = post(
        client,
        adt("A08", control="R3", pv1="", name="李^秀兰", birth="19751120", id_number=other_id),
        token=doctor,
    )
    assert msa(response.content).msa.msa_1.value == "AA", response.content.decode()
    update = AuditEvent.objects.get(verb="registration.update")
    assert update.after is not None and update.after["outcome"] == "review"
    assert Hl7Message.objects.get(control_id="R3").result  # MSA-3 names the reasons
    review = MatchReview.objects.get()
    assert review.status == "open" and review.registration_id == mine.pk
    assert Registration.objects.get(pk=mine.pk).patient_id == mine.patient_id
