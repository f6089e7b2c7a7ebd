"""PUT /fhir/Patient/{id}: the caller's institution's registration corrected through the
master index's ``registration_update`` (never a silent move), over Django's test client and a
real FHIR client (fhirpy) against a live server."""

from __future__ import annotations

import datetime as dt

import pytest
from fhirpy import SyncFHIRClient

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core import idnumbers
from yigongti.core.audit import verify_chain
from yigongti.core.models import AuditEvent
from yigongti.interop.fhir.base import OID_ID_NUMBER, OID_OUTPATIENT
from yigongti.patients.models import MatchReview, Patient, Registration

from .test_fhir_api import ID_1960, issues, patient

OTHER_ID = idnumbers.build("441823", dt.date(1975, 11, 20), 246)  # a woman


def _created(fhir, role=Role.COUNTY_DOCTOR, **kwargs) -> dict:
    response = fhir(role).post("/fhir/Patient", patient(**kwargs))
    assert response.status_code in (200, 201), response.content
    return response.json()


@pytest.mark.django_db
def test_put_corrects_the_registration_and_answers_like_create(county, fhir):
    body = _created(fhir)
    pid = body["id"]
    doctor = fhir(Role.COUNTY_DOCTOR)
    changed = patient(id=pid, telecom=[{"system": "phone", "value": "13911112222"}])
    response = doctor.put(f"/fhir/Patient/{pid}", changed)
    assert response.status_code == 200, response.content
    assert response["X-MPI-Decision"] == "updated"
    assert response.json()["telecom"][0]["value"] == "13911112222"
    reg = Registration.objects.get(institution=county.lead, local_number="MZ001")
    assert reg.phone == "13911112222" and str(reg.patient_id) == pid
    assert AuditEvent.objects.filter(verb="registration.update", object_id=str(reg.pk)).exists()
    # the same again: nothing changes, the header says so
    again = doctor.put(f"/fhir/Patient/{pid}", changed)
    assert again.status_code == 200 and again["X-MPI-Decision"] == "unchanged"
    assert AuditEvent.objects.filter(verb="registration.update").count() == 1


@pytest.mark.django_db
def test_put_with_another_id_in_the_body_is_400(county, fhir):
    pid = _created(fhir)["id"]
    doctor = fhir(Role.COUNTY_DOCTOR)
    response = doctor.put(f"/fhir/Patient/{pid}", patient(id="999999"))
    assert response.status_code == 400 and issues(response)[0]["expression"] == ["Patient.id"]
    assert doctor.put(f"/fhir/Patient/{pid}", patient()).status_code == 400  # no id at all
    assert not AuditEvent.objects.filter(verb="registration.update").exists()


@pytest.mark.django_db
def test_put_without_our_registration_is_404_and_another_patients_number_422(county, fhir):
    pid = _created(fhir)["id"]
    other = _created(fhir, local="MZ002", name="李秀兰", id_number=OTHER_ID)["id"]
    doctor = fhir(Role.COUNTY_DOCTOR)
    unknown = doctor.put(f"/fhir/Patient/{pid}", patient(local="MZ-404", id=pid))
    assert unknown.status_code == 404 and issues(unknown)[0]["expression"] == ["Patient.identifier"]
    foreign = doctor.put(f"/fhir/Patient/{pid}", patient(local="MZ002", id=pid))
    assert foreign.status_code == 422 and other in issues(foreign)[0]["diagnostics"]
    nothing = doctor.put(f"/fhir/Patient/{pid}", patient(local="", id=pid) | {"identifier": []})
    assert nothing.status_code == 422
    # a hospital that never registered the resident does not even see it
    assert fhir(Role.TOWNSHIP_DOCTOR).put(f"/fhir/Patient/{pid}", patient(id=pid)).status_code == 404
    assert not AuditEvent.objects.filter(verb="registration.update").exists()


@pytest.mark.django_db
def test_put_with_another_residents_details_opens_a_review_and_moves_nothing(county, fhir):
    other = _created(fhir, role=Role.TOWNSHIP_DOCTOR, local="T-5", name="李秀兰", id_number=OTHER_ID) | {}
    other_id = other["id"]
    mine = _created(fhir)["id"]
    resource = patient(id=mine, name="李秀兰", id_number=OTHER_ID)
    resource["birthDate"] = "1960-01-02"
    response = fhir(Role.COUNTY_DOCTOR).put(
        f"/fhir/Patient/{mine}", resource, HTTP_PREFER="return=OperationOutcome"
    )
    assert response.status_code == 200 and response["X-MPI-Decision"] == "review"
    info = issues(response)[0]
    assert info["severity"] == "information" and info["expression"][0].endswith("#review")
    review = MatchReview.objects.get()
    assert review.status == "open" and {str(review.patient_id), str(review.candidate_id)} == {mine, other_id}
    assert str(Registration.objects.get(institution=county.lead, local_number="MZ001").patient_id) == mine
    assert Patient.objects.get(pk=mine).name == "王小明"


@pytest.mark.django_db(transaction=True)
def test_fhirpy_save_of_a_read_patient_is_an_update(live_server, county):
    token = token_create(actor=None, user=county.users[Role.COUNTY_DOCTOR], name="live")[1]
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    created = client.resource(
        "Patient",
        identifier=[
            {"system": OID_OUTPATIENT, "value": "FP-9"},
            {"system": OID_ID_NUMBER, "value": ID_1960},
        ],
        name=[{"text": "王小明"}],
        gender="male",
        birthDate="1960-01-02",
    )
    created.save()
    mine = client.resource(
        "Patient",
        id=created.id,
        identifier=[
            {"system": OID_OUTPATIENT, "value": "FP-9"},
            {"system": OID_ID_NUMBER, "value": ID_1960},
        ],
        name=[{"text": "王小明"}],
        gender="male",
        birthDate="1960-01-02",
        address=[{"text": "阳山县城关镇东门路8号"}],
    )
    mine.save()  # fhirpy PUTs a resource that has an id
    assert mine.id == created.id
    fetched = client.reference("Patient", created.id).to_resource()
    assert fetched["address"][0]["text"] == "阳山县城关镇东门路8号"
    reg = Registration.objects.get(institution=county.lead, local_number="FP-9")
    assert reg.address == "阳山县城关镇东门路8号"


def _put(resource: dict) -> dict:
    return {"resource": resource, "request": {"method": "PUT", "url": f"Patient/{resource['id']}"}}


@pytest.mark.django_db
def test_put_entries_in_a_transaction_update_with_the_others_or_not_at_all(county, fhir):
    pid = _created(fhir)["id"]
    doctor = fhir(Role.COUNTY_DOCTOR)
    changed = patient(id=pid, telecom=[{"system": "phone", "value": "13911113333"}])
    new = {
        "resource": patient(local="MZ002", id_number="", name="钱七"),
        "request": {"method": "POST", "url": "Patient"},
    }
    unknown = _put(patient(id=pid, local="MZ404"))  # no registration of ours with this number
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [new, _put(changed), unknown]}
    refused = doctor.post("/fhir/", bundle)
    assert refused.status_code == 404 and issues(refused)[0]["expression"][0].startswith("Bundle.entry[2]")
    assert not Registration.objects.filter(local_number="MZ002").exists()
    assert Registration.objects.get(local_number="MZ001").phone != "13911113333"
    assert not AuditEvent.objects.filter(verb="registration.update").exists()

    bundle["entry"] = [new, _put(changed)]
    response = doctor.post("/fhir/", bundle)
    assert response.status_code == 200, response.content
    answers = response.json()["entry"]
    assert [e["response"]["status"] for e in answers] == ["201 Created", "200 OK"]
    assert answers[1]["resource"]["telecom"][0]["value"] == "13911113333"
    assert Registration.objects.get(local_number="MZ001").phone == "13911113333"
    assert AuditEvent.objects.filter(verb="registration.update").count() == 1
    assert verify_chain().problem is None


@pytest.mark.django_db
def test_put_entries_in_a_batch_are_answered_each(county, fhir):
    pid = _created(fhir)["id"]
    doctor = fhir(Role.COUNTY_DOCTOR)
    changed = patient(id=pid, telecom=[{"system": "phone", "value": "13911114444"}])
    entries = [_put(changed), _put(patient(id="999999")), {"request": {"method": "PUT", "url": "Patient/1"}}]
    body = doctor.post("/fhir/", {"resourceType": "Bundle", "type": "batch", "entry": entries}).json()
    assert [e["response"]["status"][:3] for e in body["entry"]] == ["200", "404", "400"]
    assert Registration.objects.get(local_number="MZ001").phone == "13911114444"
    assert verify_chain().problem is None
