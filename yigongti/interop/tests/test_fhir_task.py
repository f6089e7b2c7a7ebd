"""PUT /fhir/Task/{id}: a hospital system moves a referral through its state machine (as the
token's user, through the referral services), over Django's test client, in Bundles, and with a
real FHIR client (fhirpy) against a live server."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core.audit import verify_chain
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.interop.fhir.task import PARAMETER_SYSTEM, STATUS_SYSTEM
from yigongti.patients.models import Registration
from yigongti.referrals import services as referrals
from yigongti.referrals.models import Referral, ReferralReason

from .test_fhir_api import issues, patient

ICD10 = "http://hl7.org/fhir/sid/icd-10"


_SEQ = iter(range(1, 1000))


def _referral(county, *, village=None, actor_role: str | None = Role.VILLAGE_DOCTOR) -> Referral:
    village = village or county.village
    resident = make_patient(village, next(_SEQ), "王桂兰", dt.date(1956, 4, 2))
    return referrals.referral_create(
        actor=county.users[actor_role] if actor_role else None,
        from_institution=None if actor_role else village,
        patient=resident,
        to_institution=county.lead,
        diagnosis_code="I10",
        diagnosis_name="原发性高血压",
        reason=ReferralReason.objects.get(code="U01"),
        history="血压控制不佳三月",
        submit=True,
    )


def _business(task: dict[str, Any]) -> str:
    return task["businessStatus"]["coding"][0]["code"]


def _moved(task: dict[str, Any], status: str, business: str | None = None, **extra: Any) -> dict[str, Any]:
    body = copy.deepcopy(task) | extra
    body["status"] = status
    if business:
        body["businessStatus"] = {"coding": [{"system": STATUS_SYSTEM, "code": business}]}
    return body


def _param(code: str, **value: Any) -> dict[str, Any]:
    return {"type": {"coding": [{"system": PARAMETER_SYSTEM, "code": code}]}, **value}


def _put(client, task: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    response = client.put(f"/fhir/Task/{task['id']}", task)
    assert response.status_code == expect, response.content
    return response.json()


def test_each_move_of_an_upward_referral(county, fhir):
    referral = _referral(county)
    lead = fhir(Role.COUNTY_DOCTOR)
    task = lead.get(f"/fhir/Task/{referral.pk}").json()
    assert task["status"] == "requested"

    task = _put(lead, _moved(task, "accepted"))
    assert task["status"] == "accepted" and _business(task) == "accepted"
    event = AuditEvent.objects.get(verb="referral.accept", object_id=str(referral.pk))
    assert event.actor_id == county.users[Role.COUNTY_DOCTOR].pk

    task = _put(lead, _moved(task, "in-progress"))
    assert _business(task) == "arrived"
    # arrived → in care: the finer state by businessStatus, the care mode as an input
    no_mode = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "in-progress", "in_care"))
    assert no_mode.status_code == 422 and issues(no_mode)[0]["expression"] == ["Task.input"]
    task = _put(
        lead,
        _moved(task, "in-progress", "in_care", input=[_param("care-mode", valueCode="admitted")]),
    )
    assert _business(task) == "in_care" and task["input"][0]["valueCode"] == "admitted"

    slip = [
        _param("return-diagnosis", valueCodeableConcept={"coding": [{"system": ICD10, "code": "I10"}]}),
        _param("advice", valueString="低盐饮食，每周测血压"),
    ]
    no_advice = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "completed", output=slip[:1]))
    assert no_advice.status_code == 422 and issues(no_advice)[0]["expression"] == ["Task.output"]
    task = _put(lead, _moved(task, "completed", output=slip))
    assert task["status"] == "completed" and _business(task) == "completed"
    assert {o["type"]["coding"][0]["code"] for o in task["output"]} == {"return-diagnosis", "advice"}
    referral.refresh_from_db()
    assert referral.return_advice == "低盐饮食，每周测血压" and referral.care_mode == "admitted"

    # the grassroots closes the loop: completed → followed up, the finding as a note
    village = fhir(Role.VILLAGE_DOCTOR)
    task = village.get(f"/fhir/Task/{referral.pk}").json()
    done = _moved(task, "completed", "followed_up", note=[{"text": "血压稳定，继续随访"}])
    task = _put(village, done)
    assert _business(task) == "followed_up"
    # asking for the present state again changes nothing and writes nothing
    before = AuditEvent.objects.count()
    again = village.put(f"/fhir/Task/{task['id']}", task)
    assert again.status_code == 200 and AuditEvent.objects.count() == before
    verbs = set(AuditEvent.objects.filter(object_id=str(referral.pk)).values_list("verb", flat=True))
    assert {"referral.arrive", "referral.start_care", "referral.complete", "referral.follow_up"} <= verbs
    assert verify_chain().problem is None


def test_reject_needs_a_reason_and_cancel_takes_it_from_the_note(county, fhir):
    lead = fhir(Role.COUNTY_DOCTOR)
    task = lead.get(f"/fhir/Task/{_referral(county).pk}").json()
    bare = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "rejected"))
    assert bare.status_code == 422 and issues(bare)[0]["expression"] == ["Task.statusReason"]
    said = lead.put(
        f"/fhir/Task/{task['id']}",
        _moved(task, "rejected", statusReason={"text": "本院无床位"}),
        HTTP_PREFER="return=OperationOutcome",
    )
    assert said.status_code == 200 and "now Rejected" in issues(said)[0]["diagnostics"]
    rejected = lead.get(f"/fhir/Task/{task['id']}").json()
    assert rejected["statusReason"]["text"] == "本院无床位" and _business(rejected) == "rejected"
    assert Referral.objects.get(pk=task["id"]).refusal_reason == "本院无床位"
    # a closed referral: another reason is a change, another status an illegal move
    other = lead.put(f"/fhir/Task/{task['id']}", _moved(rejected, "rejected", statusReason={"text": "x"}))
    assert other.status_code == 422 and issues(other)[0]["expression"] == ["Task.statusReason"]
    closed = lead.put(f"/fhir/Task/{task['id']}", _moved(rejected, "accepted"))
    assert closed.status_code == 409 and "none" in issues(closed)[0]["diagnostics"]

    sender = fhir(Role.VILLAGE_DOCTOR)
    second = _referral(county)
    task = sender.get(f"/fhir/Task/{second.pk}").json()
    cancelled = _put(sender, _moved(task, "cancelled", note=[{"text": "患者决定不去"}]))
    assert _business(cancelled) == "cancelled" and cancelled["statusReason"]["text"] == "患者决定不去"
    assert AuditEvent.objects.filter(verb="referral.cancel", object_id=str(second.pk)).exists()


def test_illegal_moves_are_409_in_the_callers_language(county, fhir):
    referral = _referral(county)
    lead = fhir(Role.COUNTY_DOCTOR)
    task = lead.get(f"/fhir/Task/{referral.pk}").json()
    skip = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "completed"))
    assert skip.status_code == 409
    issue = issues(skip)[0]
    assert issue["code"] == "business-rule" and issue["expression"] == ["Task.status"]
    assert "accepted (accepted)" in issue["diagnostics"] and "rejected (rejected)" in issue["diagnostics"]
    unused = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "received"))
    assert unused.status_code == 409 and "received" in issues(unused)[0]["diagnostics"]
    chinese = fhir(Role.COUNTY_DOCTOR, language="zh-hans").put(
        f"/fhir/Task/{task['id']}", _moved(task, "completed")
    )
    assert chinese.status_code == 409 and "的转诊不能变为" in issues(chinese)[0]["diagnostics"]
    bogus = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "finished"))
    assert bogus.status_code in (400, 422)
    mismatch = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "accepted", "arrived"))
    assert mismatch.status_code == 422 and issues(mismatch)[0]["expression"] == ["Task.businessStatus"]
    referral.refresh_from_db()
    assert referral.status == "submitted"
    assert not AuditEvent.objects.filter(verb__startswith="referral.", object_id=str(referral.pk)).exclude(
        verb__in=["referral.create", "referral.submit"]
    )


def test_other_elements_may_not_change(county, fhir):
    referral = _referral(county)
    lead = fhir(Role.COUNTY_DOCTOR)
    task = lead.get(f"/fhir/Task/{referral.pk}").json()
    priority = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "accepted", priority="stat"))
    assert priority.status_code == 422 and issues(priority)[0]["expression"] == ["Task.priority"]
    owner = _moved(task, "accepted", owner={"reference": f"Organization/{county.township.code}"})
    added = lead.put(f"/fhir/Task/{task['id']}", owner | {"description": "改派"})
    assert added.status_code == 422
    assert {i["expression"][0] for i in issues(added)} == {"Task.owner", "Task.description"}
    note = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "accepted", note=[{"text": "收到"}]))
    assert note.status_code == 422 and issues(note)[0]["expression"] == ["Task.note"]
    wrong_id = lead.put(f"/fhir/Task/{task['id']}", _moved(task, "accepted", id="999999"))
    assert wrong_id.status_code == 400
    # left-out elements are kept, display texts may be in another language
    minimal = {
        "resourceType": "Task",
        "id": task["id"],
        "status": "accepted",
        "intent": "order",
        "owner": {"reference": task["owner"]["reference"], "display": "another text"},
    }
    assert _put(lead, minimal)["owner"]["reference"] == f"Organization/{county.lead.code}"


def test_scope_sender_and_out_of_scope_tokens(county, fhir):
    referral = _referral(county)
    task = fhir(Role.COUNTY_DOCTOR).get(f"/fhir/Task/{referral.pk}").json()
    # the sender may not accept its own referral
    sender = fhir(Role.VILLAGE_DOCTOR).put(f"/fhir/Task/{task['id']}", _moved(task, "accepted"))
    assert sender.status_code == 403 and issues(sender)[0]["code"] == "forbidden"
    # the township sees its villages' referrals but does not receive this one
    town = fhir(Role.TOWNSHIP_DOCTOR).put(f"/fhir/Task/{task['id']}", _moved(task, "accepted"))
    assert town.status_code == 403
    # a referral of another township's village is not even visible
    foreign = _referral(county, village=county.foreign_village, actor_role=None)
    hidden = fhir(Role.TOWNSHIP_DOCTOR).put(
        f"/fhir/Task/{foreign.pk}", _moved(task, "accepted", id=str(foreign.pk))
    )
    assert hidden.status_code == 404
    assert (
        fhir(Role.HEALTH_BUREAU).put(f"/fhir/Task/{task['id']}", _moved(task, "accepted")).status_code == 403
    )
    assert fhir(None).put(f"/fhir/Task/{task['id']}", _moved(task, "accepted")).status_code == 401
    referral.refresh_from_db()
    assert referral.status == "submitted"


def test_task_update_in_transaction_and_batch_bundles(county, fhir):
    first, second = _referral(county), _referral(county, village=county.foreign_village, actor_role=None)
    lead = fhir(Role.COUNTY_DOCTOR)
    task = lead.get(f"/fhir/Task/{first.pk}").json()
    # the GET is listed first but runs after the PUT (FHIR's order); answers keep the entries' order
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": f"Task/{first.pk}"}},
            {"resource": _moved(task, "accepted"), "request": {"method": "PUT", "url": f"Task/{first.pk}"}},
        ],
    }
    body = lead.post("/fhir", bundle).json()
    assert [e["response"]["status"] for e in body["entry"]] == ["200 OK", "200 OK"]
    assert _business(body["entry"][0]["resource"]) == "accepted"
    assert _business(body["entry"][1]["resource"]) == "accepted"
    # a transaction with an illegal move writes nothing, not even the Patient created before it
    other = lead.get(f"/fhir/Task/{second.pk}").json()
    failing = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": _moved(other, "accepted"), "request": {"method": "PUT", "url": f"Task/{second.pk}"}},
            {"resource": patient(local="TX-1"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": _moved(other, "completed", "completed"),
                "request": {"method": "PUT", "url": f"Task/{second.pk}"},
            },
        ],
    }
    refused = lead.post("/fhir", failing)
    assert refused.status_code == 409, refused.content
    assert issues(refused)[0]["expression"] == ["Bundle.entry[2].Task.status"]
    second.refresh_from_db()
    assert second.status == "submitted"
    assert not Registration.objects.filter(local_number="TX-1").exists()
    # a batch answers each entry
    failing["type"] = "batch"
    answered = lead.post("/fhir", failing).json()
    assert [e["response"]["status"][:3] for e in answered["entry"]] == ["200", "201", "409"]
    second.refresh_from_db()
    assert second.status == "accepted"


def test_bundle_runs_post_before_put_before_get(county, fhir):
    lead = fhir(Role.COUNTY_DOCTOR)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": "Patient?identifier=MZ-ORDER"}},
            {
                "fullUrl": "urn:uuid:6f1c",
                "resource": patient(local="MZ-ORDER"),
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    body = lead.post("/fhir", bundle).json()
    assert [e["response"]["status"] for e in body["entry"]] == ["200 OK", "201 Created"]
    assert body["entry"][0]["resource"]["total"] == 1  # the search saw the patient created "after" it
    pid = body["entry"][1]["resource"]["id"]
    # PUT before GET: the read sees the corrected phone although it is listed first
    changed = patient(local="MZ-ORDER", id=pid, telecom=[{"system": "phone", "value": "13911112222"}])
    second = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": f"Patient/{pid}"}},
            {"resource": changed, "request": {"method": "PUT", "url": f"Patient/{pid}"}},
        ],
    }
    body = lead.post("/fhir", second).json()
    assert body["entry"][0]["resource"]["telecom"][0]["value"] == "13911112222"


def test_capability_statement_claims_update_for_task_only(client):
    body = client.get("/fhir/metadata").json()
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {"code": "update"} in types["Task"]["interaction"]
    assert {"code": "update"} not in types["ServiceRequest"]["interaction"]
    assert types["Task"]["updateCreate"] is False


@pytest.mark.django_db(transaction=True)
def test_fhirpy_moves_a_task(live_server, county):
    referral = _referral(county)
    token = token_create(actor=None, user=county.users[Role.COUNTY_DOCTOR], name="live")[1]
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    task = client.reference("Task", str(referral.pk)).to_resource()
    task["status"] = "accepted"
    task.save()  # fhirpy PUTs a resource that has an id
    assert task["status"] == "accepted"
    fetched = client.reference("Task", str(referral.pk)).to_resource()
    assert fetched["businessStatus"]["coding"][0]["code"] == "accepted"
    task = fetched
    task["status"] = "completed"
    with pytest.raises(OperationOutcome, match="business-rule"):
        task.save()
    found = client.resources("Task").search(status="accepted").fetch_all()
    assert [t.id for t in found] == [str(referral.pk)]
    referral.refresh_from_db()
    assert referral.status == "accepted"
