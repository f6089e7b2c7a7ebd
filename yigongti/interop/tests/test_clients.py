"""Real FHIR clients (fhirpy and fhirclient) against a live server, and the official HL7 FHIR R4
examples for every type we serve: each is accepted and reads back unchanged in every element we
claim, and is found by search; or it is refused with an OperationOutcome naming the element."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhirclient import client as fhirclient_client
from fhirclient.models.organization import Organization as FcOrganization
from fhirclient.models.patient import Patient as FcPatient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.interop.fhir.base import OID_ID_NUMBER, OID_INSURANCE, OID_OUTPATIENT
from yigongti.interop.models import ExportJob
from yigongti.patients.models import Registration

pytestmark = pytest.mark.django_db(transaction=True)
EXAMPLES = Path(__file__).parent / "fixtures" / "r4-examples"
OUR_SYSTEMS = {OID_ID_NUMBER, OID_OUTPATIENT, OID_INSURANCE, "urn:oid:2.16.156.10011.1.12"}


def token(county, role: str) -> str:
    return token_create(actor=None, user=county.users[role], name="live")[1]


@pytest.fixture
def doctor_client(live_server, county) -> SyncFHIRClient:
    return SyncFHIRClient(
        f"{live_server.url}/fhir", authorization=f"Bearer {token(county, Role.COUNTY_DOCTOR)}"
    )


def test_fhirpy_create_read_search(doctor_client, county):
    number = idnumbers.build("441823", dt.date(1972, 8, 15), 3)
    patient = doctor_client.resource(
        "Patient",
        identifier=[{"system": OID_OUTPATIENT, "value": "FP-1"}, {"system": OID_ID_NUMBER, "value": number}],
        name=[{"text": "刘德明"}],
        gender="male",
        birthDate="1972-08-15",
        telecom=[{"system": "phone", "value": "13912345678"}],
    )
    patient.save()
    assert patient.id
    found = doctor_client.resources("Patient").search(identifier=f"{OID_ID_NUMBER}|{number}").fetch()
    assert [p.id for p in found] == [patient.id]
    by_name = doctor_client.resources("Patient").search(name="liudem").fetch()
    assert [p.id for p in by_name] == [patient.id]
    read = doctor_client.reference("Patient", patient.id).to_resource()
    assert read["telecom"][0]["value"] == "13912345678" and read["gender"] == "male"
    with pytest.raises(OperationOutcome) as refused:
        doctor_client.resource("Patient", name=[{"text": "某人"}], maritalStatus={"text": "M"}).save()
    assert "Patient.maritalStatus" in str(refused.value)
    assert AuditEvent.objects.filter(verb="patient.register").count() == 1


def test_fhirclient_reads_and_searches(live_server, county):
    smart = fhirclient_client.FHIRClient(
        settings={"app_id": "ygt-test", "api_base": f"{live_server.url}/fhir"}
    )
    smart.server.session.headers["Authorization"] = f"Bearer {token(county, Role.CONSORTIUM_OFFICE)}"
    org = FcOrganization.read(county.township.code, smart.server)
    assert org.name == county.township.name
    assert org.partOf.reference == f"Organization/{county.lead.code}"
    children = FcOrganization.where(struct={"partof": county.township.code}).perform_resources(smart.server)
    assert sorted(o.id for o in children) == sorted([county.village.code, county.other_village.code])
    smart.server.get_capability()  # parses our CapabilityStatement with fhirclient's R4 models
    assert smart.server.capabilityStatement.fhirVersion == "4.0.1"
    doctor = fhirclient_client.FHIRClient(
        settings={"app_id": "ygt-test", "api_base": f"{live_server.url}/fhir"}
    )
    doctor.server.session.headers["Authorization"] = f"Bearer {token(county, Role.TOWNSHIP_DOCTOR)}"
    new = FcPatient({"name": [{"text": "周小红"}], "gender": "female", "birthDate": "1990-02-03"})
    created = new.create(doctor.server)
    assert created["name"][0]["text"] == "周小红"
    assert FcPatient.read(created["id"], doctor.server).birthDate.isostring == "1990-02-03"


# -- the official examples ----------------------------------------------------------------------

_INDEXED = re.compile(r"^([A-Za-z]+)\[(\d+)\]$")


def _strip(resource: dict[str, Any], path: str) -> bool:
    """Remove the element ``path`` names (its top-level element or list item); False if absent."""
    parts = path.split(".")[1:]
    if not parts:
        return False
    head = parts[0]
    m = _INDEXED.match(head)
    if m:
        items = resource.get(m.group(1))
        if isinstance(items, list) and int(m.group(2)) < len(items):
            items.pop(int(m.group(2)))
            if not items:
                resource.pop(m.group(1))
            return True
        return False
    for key in (head, f"_{head}"):
        if key in resource:
            resource.pop(key)
            return True
    return False


def _name_text(resource: dict[str, Any]) -> str:
    first = resource["name"][0]
    text = first.get("text") or (first.get("family") or "") + "".join(first.get("given") or [])
    return "".join(text.split())


def _claimed(sent: dict[str, Any], back: dict[str, Any]) -> None:
    """Every element we claim reads back as sent."""
    assert back["name"][0]["text"] == _name_text(sent)
    if sent.get("gender") in ("male", "female"):
        assert back["gender"] == sent["gender"]
    if sent.get("birthDate"):
        assert back["birthDate"] == sent["birthDate"]
    if sent.get("telecom"):
        digits = "".join(ch for ch in sent["telecom"][0]["value"] if ch.isdigit())
        assert back["telecom"][0]["value"] == digits  # phone numbers are kept as digits (documented)
    sent_ids = {
        (i["system"], i["value"]) for i in sent.get("identifier", []) if i.get("system") in OUR_SYSTEMS
    }
    back_ids = {(i["system"], i["value"]) for i in back.get("identifier", [])}
    assert sent_ids <= back_ids


def _post(http: httpx.Client, resource: dict[str, Any]) -> httpx.Response:
    return http.post(
        f"/{resource['resourceType']}", json=resource, headers={"Content-Type": "application/fhir+json"}
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("Patient-*.json")), ids=lambda p: p.stem)
def test_official_patient_examples(live_server, county, path):
    example = json.loads(path.read_text(encoding="utf-8"))
    http = httpx.Client(
        base_url=f"{live_server.url}/fhir",
        headers={"Authorization": f"Bearer {token(county, Role.COUNTY_DOCTOR)}"},
    )
    resource = copy.deepcopy(example)
    for _attempt in range(12):
        response = _post(http, resource)
        if response.status_code in (200, 201):
            break
        body = response.json()
        assert body["resourceType"] == "OperationOutcome", body
        named = [e for issue in body["issue"] for e in issue.get("expression", [])]
        assert named, body  # every refusal names the element at fault
        required = [i for i in body["issue"] if i["code"] == "required"]
        if required:  # nothing left to strip: a refusal that names what is missing is the answer
            assert all(i.get("expression") for i in required)
            return
        assert any(_strip(resource, e) for e in named), (named, resource)
    else:
        pytest.fail(f"{path.name} was never accepted")
    created = response.json()
    assert response.headers["Location"].endswith(f"/Patient/{created['id']}")
    back = http.get(f"/Patient/{created['id']}").json()
    _claimed(resource, back)
    found = http.get("/Patient", params={"name": back["name"][0]["text"]}).json()
    assert created["id"] in {e["resource"]["id"] for e in found.get("entry", [])}


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *EXAMPLES.glob("Organization-*.json"),
            *EXAMPLES.glob("Practitioner*-*.json"),
            *EXAMPLES.glob("AuditEvent-*.json"),
        ]
    ),
    ids=lambda p: p.stem,
)
def test_official_examples_of_read_only_types_are_refused_by_name(live_server, county, path):
    example = json.loads(path.read_text(encoding="utf-8"))
    http = httpx.Client(
        base_url=f"{live_server.url}/fhir",
        headers={"Authorization": f"Bearer {token(county, Role.CONSORTIUM_OFFICE)}"},
    )
    response = _post(http, example)
    assert response.status_code == 405
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-supported" and example["resourceType"] in issue["diagnostics"]
    assert http.get(f"/{example['resourceType']}").status_code == 200  # the type itself is served


# -- bulk export -----------------------------------------------------------------------------


def test_export_kick_off_status_manifest_and_files(live_server, county):
    from yigongti.core.testing import add_resident_record

    add_resident_record(county)
    auth = {"Authorization": f"Bearer {token(county, Role.VILLAGE_DOCTOR)}"}
    http = httpx.Client(base_url=f"{live_server.url}/fhir", headers=auth)
    assert http.get("/$export").status_code == 400  # no Prefer: respond-async
    kick = http.get("/Patient/$export", headers={"Prefer": "respond-async"})
    assert kick.status_code == 202
    status_url = kick.headers["Content-Location"]
    for _ in range(100):
        status = http.get(status_url)
        if status.status_code != 202:
            break
        assert status.headers["X-Progress"]
        time.sleep(0.1)
    assert status.status_code == 200, status.text
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True
    files = {o["type"]: o for o in manifest["output"]}
    assert files["Patient"]["count"] == 1
    lines = http.get(files["Patient"]["url"]).text.splitlines()
    assert json.loads(lines[0])["name"][0]["text"] == "陈桂芳"
    assert httpx.get(files["Patient"]["url"]).status_code == 401  # files need the token
    other = httpx.get(status_url, headers={"Authorization": f"Bearer {token(county, Role.TOWNSHIP_DOCTOR)}"})
    assert other.status_code == 404  # another account's job
    job = ExportJob.objects.get()
    assert AuditEvent.objects.filter(verb="interop.export_done", object_id=str(job.pk)).exists()
    assert http.delete(status_url).status_code == 202
    assert http.get(files["Patient"]["url"]).status_code == 404
    assert Registration.objects.count() == 1  # the filing only: an export writes nothing
