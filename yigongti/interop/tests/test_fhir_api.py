"""The FHIR facade through Django's test client: every interaction allowed, refused and out of
scope, errors as OperationOutcome, writes through the master index with their audit rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.core.testing import add_resident_record
from yigongti.interop.fhir.base import OID_ID_NUMBER, OID_INPATIENT, OID_OUTPATIENT
from yigongti.patients.models import Patient, Registration

ID_1960 = idnumbers.build("441823", dt.date(1960, 1, 2), 5)


def patient(local: str = "MZ001", name: str = "王小明", id_number: str = ID_1960, **extra):
    identifiers = [{"system": OID_OUTPATIENT, "value": local}]
    if id_number:
        identifiers.append({"system": OID_ID_NUMBER, "value": id_number})
    return {
        "resourceType": "Patient",
        "identifier": identifiers,
        "name": [{"text": name}],
        "gender": "male",
        "birthDate": "1960-01-02",
        **extra,
    }


def issues(response) -> list[dict]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]


def test_no_token_is_401_outcome_even_with_a_session(client, county, fhir):
    response = fhir(None).get("/fhir/Patient")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/fhir+json")
    assert issues(response)[0]["code"] == "login"
    client.force_login(county.users[Role.CONSORTIUM_OFFICE])
    assert client.get("/fhir/Organization").status_code == 401  # a browser session does not count
    assert client.post("/fhir/Patient", data="{}", content_type="application/fhir+json").status_code == 401


def test_metadata_lists_exactly_the_registry(fhir):
    body = fhir(None).get("/fhir/metadata").json()
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(types) >= {"Patient", "Organization", "Practitioner", "PractitionerRole", "AuditEvent"}
    assert {i["code"] for i in types["Patient"]["interaction"]} == {"read", "search-type", "create", "update"}
    assert all(
        "update" not in {i["code"] for i in t["interaction"]}
        for n, t in types.items()
        if n not in ("Patient", "Task", "Appointment")
    )
    assert {i["code"] for i in types["Task"]["interaction"]} == {"read", "search-type", "update"}
    assert {i["code"] for i in types["Appointment"]["interaction"]} == {
        "read",
        "search-type",
        "create",
        "update",
    }
    assert {i["code"] for i in types["AuditEvent"]["interaction"]} == {"read", "search-type"}
    assert types["Patient"]["conditionalCreate"] is True
    assert "Patient:organization" in types["Patient"]["searchInclude"]
    assert {p["name"] for p in types["Patient"]["searchParam"]} >= {
        "identifier", "name", "family", "given", "birthdate", "gender", "phone", "address",
    }  # fmt: skip


def test_diagnostics_follow_accept_language(fhir):
    zh = fhir(None, language="zh-hans").get("/fhir/Patient")
    en = fhir(None, language="en").get("/fhir/Patient")
    assert issues(zh)[0]["diagnostics"] != issues(en)[0]["diagnostics"]
    assert "API" in issues(en)[0]["diagnostics"]


def test_create_registers_through_the_master_index(county, fhir):
    response = fhir(Role.COUNTY_DOCTOR).post("/fhir/Patient", patient())
    assert response.status_code == 201
    assert response["X-MPI-Decision"] == "new"
    body = response.json()
    assert response["Location"].endswith(f"/fhir/Patient/{body['id']}")
    assert body["name"][0]["text"] == "王小明" and body["name"][0]["family"] == "王"
    assert body["name"][1]["text"] == "wangxiaoming"
    assert {"system": OID_OUTPATIENT, "value": "MZ001"}.items() <= body["identifier"][1].items()
    reg = Registration.objects.get(local_number="MZ001", institution=county.lead)
    assert reg.source == "api" and str(reg.patient_id) == body["id"]
    assert AuditEvent.objects.filter(verb="patient.register", object_id=body["id"]).exists()
    # the same person from the township: linked, not duplicated, and the answer says so
    again = fhir(Role.TOWNSHIP_DOCTOR).post(
        "/fhir/Patient", patient(local="T-9"), HTTP_PREFER="return=OperationOutcome"
    )
    assert again.status_code == 200 and again["X-MPI-Decision"] == "linked"
    info = issues(again)[0]
    assert info["severity"] == "information" and info["expression"][0].endswith("#linked")
    assert Patient.objects.count() == 1


def test_inpatient_number_reads_back_under_its_system(fhir):
    body = (
        fhir(Role.COUNTY_DOCTOR)
        .post(
            "/fhir/Patient",
            patient(identifier=None) | {"identifier": [{"system": OID_INPATIENT, "value": "ZY7"}]},
        )
        .json()
    )
    assert [i["system"] for i in body["identifier"] if i["value"] == "ZY7"] == [OID_INPATIENT]
    assert AuditEvent.objects.filter(verb="interop.identifier_system").exists()


def test_conditional_create_is_idempotent(county, fhir):
    doctor = fhir(Role.COUNTY_DOCTOR)
    query = f"identifier={OID_ID_NUMBER}|{ID_1960}"
    first = doctor.post("/fhir/Patient", patient(), HTTP_IF_NONE_EXIST=query)
    second = doctor.post("/fhir/Patient", patient(local="OTHER"), HTTP_IF_NONE_EXIST=query)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert not Registration.objects.filter(local_number="OTHER").exists()


def test_read_allowed_denied_and_out_of_scope(county, fhir):
    resident = add_resident_record(county)
    url = f"/fhir/Patient/{resident.pk}"
    assert fhir(Role.VILLAGE_DOCTOR).get(url).status_code == 200
    assert AuditEvent.objects.filter(verb="patient.read", object_id=str(resident.pk)).exists()
    assert fhir(Role.RESIDENT).get(url).status_code == 200  # oneself
    for role in (Role.CONSORTIUM_OFFICE, Role.COUNTY_DOCTOR, Role.HEALTH_BUREAU):
        refused = fhir(role).get(url)
        assert refused.status_code == 404 and issues(refused)[0]["code"] == "not-found"
    assert fhir(Role.VILLAGE_DOCTOR).get("/fhir/Patient/999999").status_code == 404


def test_a_read_and_a_search_show_the_village_registrations_and_merges(county, fhir):
    """What a Patient shows besides its own row (village, the caller's institutions' registrations
    with their identifier system, links between merged residents) is the same whether read alone,
    found by a search of many, or read right after the create."""
    from yigongti.core.testing import make_patient
    from yigongti.patients.matching.merging import patients_merge

    doctor = fhir(Role.COUNTY_DOCTOR)
    created = doctor.post(
        "/fhir/Patient",
        patient(identifier=None) | {"identifier": [{"system": OID_INPATIENT, "value": "ZY9"}]}
        | {"managingOrganization": {"reference": f"Organization/{county.village.code}"}},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    survivor_id = int(body["id"])
    other = make_patient(county.village, 77, "王小明", dt.date(1960, 1, 2))
    patients_merge(actor=None, survivor_id=survivor_id, merged_id=other.pk)
    read = doctor.get(f"/fhir/Patient/{survivor_id}").json()
    assert read["managingOrganization"] == {
        "reference": f"Organization/{county.village.code}",
        "display": county.village.name,
    }
    assert {"reference": f"Patient/{other.pk}"} in [link["other"] for link in read["link"]]
    assert {link["type"] for link in read["link"]} == {"replaces"}
    mine = [i for i in read["identifier"] if i.get("assigner")]
    assert [(i["system"], i["value"]) for i in mine] == [(OID_INPATIENT, "ZY9")]
    assert mine[0]["assigner"]["reference"] == f"Organization/{county.lead.code}"
    assert [i for i in body["identifier"] if i.get("assigner")] == mine  # as the create answered
    found = doctor.get(f"/fhir/Patient?_id={survivor_id}").json()
    assert found["entry"][0]["resource"] == read | {"meta": found["entry"][0]["resource"]["meta"]}
    village = fhir(Role.VILLAGE_DOCTOR)
    both = village.get(f"/fhir/Patient?_id={survivor_id},{other.pk}").json()
    by_id = {e["resource"]["id"]: e["resource"] for e in both["entry"]}
    assert by_id[str(other.pk)]["link"] == [
        {"other": {"reference": f"Patient/{survivor_id}"}, "type": "replaced-by"}
    ]
    assert by_id[str(survivor_id)]["link"] == read["link"]
    assert not [i for i in by_id[str(survivor_id)]["identifier"] if i.get("assigner")]  # not the village's


def test_out_of_scope_organization_is_404(county, fhir):
    assert fhir(Role.VILLAGE_DOCTOR).get(f"/fhir/Organization/{county.village.code}").status_code == 200
    assert fhir(Role.VILLAGE_DOCTOR).get(f"/fhir/Organization/{county.lead.code}").status_code == 404
    org = fhir(Role.CONSORTIUM_OFFICE).get(f"/fhir/Organization/{county.village.code}").json()
    assert org["partOf"]["reference"] == f"Organization/{county.township.code}"
    assert org["type"][0]["coding"][0]["code"] == "village_clinic"


def test_search_parameters_paging_and_include(county, fhir):
    add_resident_record(county)
    village = fhir(Role.VILLAGE_DOCTOR)
    id_number = idnumbers.build("441823", dt.date(1950, 6, 1), 21)
    for query, expected in [
        ("name=陈", 1), ("name=chengui", 1), ("name=cgf", 1), ("family=陈", 1), ("given=桂芳", 1),
        ("gender=female", 1), ("gender=male", 0), ("birthdate=1950", 1), ("birthdate=ge1951-01-01", 0),
        ("birthdate=1950-06-01", 1), ("identifier=44182310100100001", 1),
        (f"identifier={OID_ID_NUMBER}|{id_number}", 1), ("address=东山", 0), ("name=王", 0),
        (f"organization=Organization/{county.village.code}", 1),
    ]:  # fmt: skip
        bundle = village.get(f"/fhir/Patient?{query}").json()
        assert bundle["total"] == expected, query
    bundle = village.get("/fhir/Patient?name=陈&_include=Patient:organization").json()
    modes = sorted(e["search"]["mode"] for e in bundle["entry"])
    assert modes == ["include", "match"]
    orgs = fhir(Role.CONSORTIUM_OFFICE).get("/fhir/Organization?_count=2").json()
    assert orgs["total"] == 8 and len(orgs["entry"]) == 2
    nxt = next(link["url"] for link in orgs["link"] if link["relation"] == "next")
    page2 = fhir(Role.CONSORTIUM_OFFICE).get(nxt.replace("http://testserver", "")).json()
    assert {e["resource"]["id"] for e in page2["entry"]}.isdisjoint(
        {e["resource"]["id"] for e in orgs["entry"]}
    )
    assert fhir(Role.CONSORTIUM_OFFICE).get("/fhir/Organization?_count=100000").json()["total"] == 8
    kids = fhir(Role.CONSORTIUM_OFFICE).get(
        f"/fhir/Organization?partof={county.township.code}&_include=Organization:partof"
    )
    assert kids.json()["total"] == 2
    assert fhir(Role.CONSORTIUM_OFFICE).get("/fhir/Organization?type=township_centre").json()["total"] == 2


def test_unknown_search_parameter_warns_or_is_refused_when_strict(county, fhir):
    office = fhir(Role.CONSORTIUM_OFFICE)
    bundle = office.get("/fhir/Organization?nonsense=1").json()
    assert bundle["entry"][-1]["search"]["mode"] == "outcome"
    strict = office.get("/fhir/Organization?nonsense=1", HTTP_PREFER="handling=strict")
    assert strict.status_code == 400 and "nonsense" in issues(strict)[0]["diagnostics"]
    bad_date = office.get("/fhir/AuditEvent?date=yesterday")
    assert bad_date.status_code == 400


def test_practitioner_and_role_with_includes(county, fhir):
    office = fhir(Role.CONSORTIUM_OFFICE)
    doctor = county.staff["county_doctor"]
    bundle = office.get(
        f"/fhir/PractitionerRole?practitioner={doctor.pk}&_include=PractitionerRole:practitioner"
        "&_include=PractitionerRole:organization"
    ).json()
    types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert types == ["Organization", "Practitioner", "PractitionerRole"]
    assert office.get("/fhir/Practitioner?name=李").json()["total"] == 1
    assert fhir(Role.VILLAGE_DOCTOR).get(f"/fhir/Practitioner/{doctor.pk}").status_code == 404


def test_audit_events_read_only_for_oversight(county, fhir):
    fhir(Role.COUNTY_DOCTOR).post("/fhir/Patient", patient())
    office = fhir(Role.CONSORTIUM_OFFICE)
    bundle = office.get("/fhir/AuditEvent?subtype=patient.register").json()
    assert bundle["total"] >= 1
    event = bundle["entry"][0]["resource"]
    assert event["action"] == "C" and event["agent"][0]["altId"] == "t_county_doctor"
    assert office.get(f"/fhir/AuditEvent/{event['id']}").status_code == 200
    assert fhir(Role.COUNTY_DOCTOR).get("/fhir/AuditEvent").json()["total"] == 0
    refused = office.post("/fhir/AuditEvent", {"resourceType": "AuditEvent"})
    assert refused.status_code == 405 and issues(refused)[0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 400, "JSON"),
        ('{"resourceType": "Patient", "name": [{"text": "\\u0000"}]}', 400, "NUL"),
        ("[" * 100_000, 400, "JSON"),
        ("[]", 400, "object"),
        (json.dumps({"resourceType": "Organization", "name": "x"}), 400, "Organization"),
        (json.dumps(patient() | {"maritalStatus": {"text": "M"}}), 422, "Patient.maritalStatus"),
        (
            json.dumps(patient() | {"managingOrganization": {"reference": "Organization/999999999999"}}),
            422,
            "does not resolve",
        ),
        (json.dumps(patient(id_number="441823196001020050")), 422, "Patient.identifier[1].value"),
        (json.dumps(patient() | {"birthDate": "1960-13-01"}), 400, "Patient.birthDate"),
        (
            json.dumps(patient() | {"identifier": [{"system": "urn:oid:1.2.3", "value": "1"}]}),
            422,
            "Patient.identifier[0].system",
        ),
    ],
)
def test_bad_input_is_an_operation_outcome_naming_the_problem(county, fhir, body, status, needle):
    response = fhir(Role.COUNTY_DOCTOR).post("/fhir/Patient", body)
    assert response.status_code == status
    found = issues(response)
    assert any(needle in i["diagnostics"] or needle in " ".join(i.get("expression", [])) for i in found), (
        found
    )
    assert not Registration.objects.exists()


def test_wrong_content_type_and_methods(county, fhir):
    doctor = fhir(Role.COUNTY_DOCTOR)
    assert doctor.post("/fhir/Patient", json.dumps(patient()), content_type="text/plain").status_code == 415
    assert doctor.put("/fhir/Organization/1", {"resourceType": "Organization", "id": "1"}).status_code == 405
    assert doctor.delete("/fhir/Patient/1").status_code == 405
    assert doctor.get("/fhir/Patient/1/_history/2").status_code == 405
    assert doctor.get("/fhir/Observation").status_code == 404


def test_read_only_role_cannot_create(county, fhir):
    refused = fhir(Role.HEALTH_BUREAU).post("/fhir/Patient", patient())
    assert refused.status_code == 403
    assert fhir(Role.CONSORTIUM_OFFICE).post("/fhir/Patient", patient()).status_code == 403
    assert not Registration.objects.exists()


def _entry(body: dict, full_url: str | None = None, if_none_exist: str = "") -> dict:
    entry: dict = {"resource": body, "request": {"method": "POST", "url": "Patient"}}
    if full_url:
        entry["fullUrl"] = full_url
    if if_none_exist:
        entry["request"]["ifNoneExist"] = if_none_exist
    return entry


def test_transaction_is_all_or_nothing(county, fhir):
    doctor = fhir(Role.COUNTY_DOCTOR)
    good = [_entry(patient(local=f"B{i}", name=f"张三{chr(0x4E00 + i)}", id_number="")) for i in range(3)]
    bad = _entry(patient(local="B9", name="李四") | {"photo": [{"url": "x"}]})
    response = doctor.post("/fhir/", {"resourceType": "Bundle", "type": "transaction", "entry": [*good, bad]})
    assert response.status_code == 422
    found = issues(response)
    assert found[0]["expression"][0].startswith("Bundle.entry[3]")
    assert not Registration.objects.exists()
    ok = doctor.post("/fhir/", {"resourceType": "Bundle", "type": "transaction", "entry": good})
    assert ok.status_code == 200
    body = ok.json()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 3
    assert Registration.objects.count() == 3


def test_a_transactions_patients_are_filed_together_as_one_after_another(county, fhir):
    """The Patients of a transaction go through the master index together: the second record of a
    person links to the first, a local number sent again with the same details changes nothing, an
    Encounter of the Bundle finds its Patient by urn:uuid, and a refused Patient names its entry."""
    village = fhir(Role.VILLAGE_DOCTOR)
    same = idnumbers.build("441823", dt.date(1960, 1, 2), 7)
    first = patient(local="T1", name="周建华", id_number=same) | {
        "telecom": [{"system": "phone", "value": "13512345678"}],
        "managingOrganization": {"reference": f"Organization/{county.village.code}"},
    }
    entries = [
        _entry(first, "urn:uuid:1f0c8c1e-0000-4000-8000-0000000000a1"),
        {
            "fullUrl": "urn:uuid:1f0c8c1e-0000-4000-8000-0000000000e1",
            "resource": {
                "resourceType": "Encounter",
                "identifier": [{"value": "TV-1"}],
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": {"reference": "urn:uuid:1f0c8c1e-0000-4000-8000-0000000000a1"},
                "period": {"start": "2026-03-01T09:00:00+08:00"},
            },
            "request": {"method": "POST", "url": "Encounter"},
        },
        _entry(patient(local="T2", name="周建華", id_number=same)),  # the same person, another record
        _entry(patient(local="T3", name="吴丽", id_number="")),
        _entry(first),  # T1 again, same details
    ]
    body = village.post("/fhir/", {"resourceType": "Bundle", "type": "transaction", "entry": entries}).json()
    assert "entry" in body, body
    statuses = [e["response"]["status"][:3] for e in body["entry"]]
    assert statuses == ["201", "201", "200", "201", "200"], body
    ids = [e["resource"]["id"] for e in body["entry"]]
    assert ids[0] == ids[2] == ids[4] != ids[3]
    assert body["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{ids[0]}"
    decision = body["entry"][2]["response"]["outcome"]["issue"][0]["expression"][0]
    assert decision.endswith("#linked")
    assert Registration.objects.filter(local_number__in=["T1", "T2", "T3"]).count() == 3
    refused = [
        _entry(patient(local="T7", name="郑一", id_number="")),
        _entry(patient(local="T8", id_number="x")),
    ]
    response = village.post("/fhir/", {"resourceType": "Bundle", "type": "transaction", "entry": refused})
    assert response.status_code == 422
    assert issues(response)[0]["expression"][0].startswith("Bundle.entry[1]")
    assert not Registration.objects.filter(local_number__in=["T7", "T8"]).exists()


def test_a_transaction_sent_again_reads_its_residents_back_together(county, fhir):
    """Every Patient of a Bundle sent again is an existing resident read back through the scope:
    in one query for all of them, so 3 and 12 entries cost the same statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    village = fhir(Role.VILLAGE_DOCTOR)

    def statements(n: int) -> int:
        people = [patient(local=f"R{n}-{i}", name=f"何{chr(0x4E00 + i)}", id_number="") for i in range(n)]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(p) for p in people]}
        assert village.post("/fhir/", bundle).status_code == 200
        with CaptureQueriesContext(connection) as again:
            body = village.post("/fhir/", bundle).json()
        assert [e["response"]["status"][:3] for e in body["entry"]] == ["200"] * n
        assert all(e["resource"]["name"][0]["text"].startswith("何") for e in body["entry"])
        return len(again.captured_queries)

    assert statements(12) == statements(3)


def test_batch_answers_each_entry(county, fhir):
    doctor = fhir(Role.COUNTY_DOCTOR)
    entries = [
        _entry(patient(local="C1", id_number="")),
        _entry(patient(local="C2", name="") | {"name": []}),
        {"request": {"method": "GET", "url": "Organization/441823000001"}},
        {"request": {"method": "DELETE", "url": "Patient/1"}},
    ]
    body = doctor.post("/fhir/", {"resourceType": "Bundle", "type": "batch", "entry": entries}).json()
    statuses = [e["response"]["status"][:3] for e in body["entry"]]
    assert statuses == ["201", "422", "200", "405"]
    assert Registration.objects.filter(local_number="C1").exists()


def test_urn_uuid_references_resolve_between_entries(county, fhir):
    office_doc = fhir(Role.VILLAGE_DOCTOR)
    entries = [
        _entry(patient(local="U1", id_number=""), "urn:uuid:1f0c8c1e-0000-4000-8000-000000000001"),
        _entry(
            patient(local="U2", name="赵六", id_number="")
            | {"managingOrganization": {"reference": "urn:uuid:nope"}}
        ),
    ]
    response = office_doc.post("/fhir/", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert response.status_code == 422 and "urn:uuid:nope" in issues(response)[0]["diagnostics"]


def test_bundle_limits(county, fhir):
    doctor = fhir(Role.COUNTY_DOCTOR)
    huge = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "Organization/1"}}] * 100_000,
    }
    response = doctor.post("/fhir/", huge)
    assert response.status_code == 413
    assert "1000" in issues(response)[0]["diagnostics"].replace(",", "")
    too_big = '{"resourceType":"Bundle","type":"batch","entry":[' + " " * (17 * 1024 * 1024) + "]}"
    assert doctor.post("/fhir/", too_big).status_code == 413
    assert doctor.post("/fhir/", {"resourceType": "Bundle", "type": "collection"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Patient?_id=²",  # a digit to str.isdigit, not to int()
        "/fhir/Encounter?patient=Patient/²",
        "/fhir/Appointment?slot=Slot/²",
        "/fhir/Task?focus=ServiceRequest/²",
        "/fhir/AuditEvent?_id=١٢",
        f"/fhir/Patient?_id={'9' * 40}",
    ],
)
def test_ids_that_name_no_row_find_nothing(county, fhir, path):
    response = fhir(Role.CONSORTIUM_OFFICE if "AuditEvent" in path else Role.VILLAGE_DOCTOR).get(path)
    assert response.status_code == 200 and response.json()["total"] == 0
