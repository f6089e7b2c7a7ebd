"""ServiceRequest + Task over ``referrals``.

A referral is a ServiceRequest (what is asked: the diagnosis, the reason, the receiving
institution) and a Task that tracks it through the FHIR workflow: ``Task.status`` is our state
mapped onto the FHIR task statuses, ``businessStatus`` our own state (finer: arrived, in care,
followed up). ``POST ServiceRequest`` writes a referral-out slip through
``referrals.services.referral_create`` (``referral_input.py``), as the referral pages and
``/api/referrals`` do; ``PUT Task/{id}`` asks for one move of its state machine (``task.py``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from yigongti.referrals.choices import Status
from yigongti.referrals.models import Referral
from yigongti.referrals.selectors import referral_base_for

from . import referral_input, task
from .base import (
    YGT,
    Ctx,
    Include,
    ResourceType,
    SearchParam,
    Written,
    coding,
    instant,
    int_id,
    int_q,
    reference_id,
    split_token,
)

STATUS_SYSTEM = f"{YGT}/CodeSystem/referral-status"
DIRECTION_SYSTEM = f"{YGT}/CodeSystem/referral-direction"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SID_REFERRAL = f"{YGT}/sid/referral-number"
TASK_STATUS: dict[str, str] = {
    Status.DRAFT: "draft",
    Status.SUBMITTED: "requested",
    Status.REDIRECTED: "requested",
    Status.ACCEPTED: "accepted",
    Status.REJECTED: "rejected",
    Status.ARRIVED: "in-progress",
    Status.IN_CARE: "in-progress",
    Status.COMPLETED: "completed",
    Status.FOLLOWED_UP: "completed",
    Status.CANCELLED: "cancelled",
}
REQUEST_STATUS: dict[str, str] = {
    Status.DRAFT: "draft",
    Status.CANCELLED: "revoked",
    Status.REJECTED: "revoked",
    Status.COMPLETED: "completed",
    Status.FOLLOWED_UP: "completed",
}
PRIORITY = {"emergency": "stat", "urgent": "urgent", "routine": "routine"}


def _ref_id(value: str, target: str) -> Q | None:
    ident = reference_id(value, target)
    return int_q("pk", ident) if int_id(ident) is not None else None


class _ReferralBase(ResourceType):
    model = Referral

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return referral_base_for(scope=ctx.scope).select_related(
            "patient", "from_institution", "to_institution", "reason"
        )

    def export_queryset(self, ctx: Ctx, patient_ids: set[int] | None) -> QuerySet[Any] | None:
        if ctx.scope.role == "health_bureau":
            return Referral.objects.none()
        qs = self.queryset(ctx)
        return qs if patient_ids is None else qs.filter(patient_id__in=patient_ids)

    def common(self) -> list[SearchParam]:
        return [
            SearchParam("patient", "reference", "The resident", self._patient),
            SearchParam(
                "requester",
                "reference",
                "Referring institution",
                lambda v, m: Q(from_institution__code=reference_id(v, "Organization")),
            ),
            SearchParam("identifier", "token", "Referral number", lambda v, m: Q(number=split_token(v)[1])),
        ]

    def _patient(self, value: str, modifier: str) -> Q:
        return (_ref_id(value, "Patient") and Q(patient_id=int(reference_id(value, "Patient")))) or Q(
            pk__in=[]
        )

    def include_list(self) -> list[Include]:
        return [
            Include("patient", "Patient", lambda rows: {str(r.patient_id) for r in rows}),
            Include("requester", "Organization", lambda rows: {r.from_institution.code for r in rows}),
        ]

    def header(self, row: Any) -> dict[str, Any]:
        return {
            "id": str(row.pk),
            "meta": self.meta(row),
            "identifier": [{"system": SID_REFERRAL, "value": row.number}],
            "intent": "order",
            "priority": PRIORITY.get(row.urgency, "routine"),
            "authoredOn": instant(row.submitted_at or row.created_at),
            "requester": {
                "reference": f"Organization/{row.from_institution.code}",
                "display": row.from_institution.name,
            },
        }


class ServiceRequestType(_ReferralBase):
    name = "ServiceRequest"
    interactions = ("read", "search-type", "create")
    documentation = (
        "A referral: what is asked, of whom, why (ICD-10). create writes a referral-out slip from "
        "the caller's institution: subject (the resident), performer (the receiving institution), "
        "reasonCode (one ICD-10 diagnosis and one referral criterion of the consortium's "
        "referral-reason code system), priority, note (the history); status draft keeps it a "
        "draft, active submits it."
    )
    accepted = referral_input.ACCEPTED

    def params(self) -> list[SearchParam]:
        return [
            *self.common(),
            SearchParam(
                "performer",
                "reference",
                "Receiving institution",
                lambda v, m: Q(to_institution__code=reference_id(v, "Organization")),
            ),
            SearchParam("status", "token", "draft | active | completed | revoked", self._status),
        ]

    def _status(self, value: str, modifier: str) -> Q:
        code = split_token(value)[1]
        ours = [s for s in Status.values if REQUEST_STATUS.get(s, "active") == code]
        return Q(status__in=ours)

    def create(self, ctx: Ctx, resource: dict[str, Any]) -> Written:
        self.refuse_unknown(resource)
        row = referral_input.create(ctx, resource)
        return Written(row=self.get(ctx, str(row.pk)), created=True)

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        return {
            "resourceType": "ServiceRequest",
            **self.header(row),
            "status": REQUEST_STATUS.get(row.status, "active"),
            "category": [
                {"coding": [coding(DIRECTION_SYSTEM, row.direction, str(row.get_direction_display()))]}
            ],
            "code": {"coding": [coding("http://snomed.info/sct", "3457005", "Patient referral")]},
            "subject": {"reference": f"Patient/{row.patient_id}"},
            "performer": [
                {"reference": f"Organization/{row.to_institution.code}", "display": row.to_institution.name}
            ],
            "reasonCode": [
                {
                    "coding": [coding(ICD10, row.diagnosis_code, row.diagnosis_name)],
                    "text": row.diagnosis_name,
                },
                *(
                    [{"coding": [coding(referral_input.REASON_SYSTEM, row.reason.code, row.reason.name)]}]
                    if row.reason_id
                    else []
                ),
            ],
            **({"note": [{"text": row.history}]} if row.history else {}),
        }


class TaskType(_ReferralBase):
    name = "Task"
    interactions = ("read", "search-type", "update")
    documentation = (
        "The referral's progress: status per the FHIR workflow, businessStatus our own state. "
        "update (PUT) moves the referral one step of its state machine as the token's user: "
        "accepted, rejected (statusReason), in-progress (arrived; businessStatus in_care with "
        "input care-mode), completed (output: return slip), followed_up (note), cancelled "
        "(statusReason). Other elements may not change (422); an illegal move is a 409."
    )

    def params(self) -> list[SearchParam]:
        return [
            *self.common(),
            SearchParam(
                "owner",
                "reference",
                "Receiving institution",
                lambda v, m: Q(to_institution__code=reference_id(v, "Organization")),
            ),
            SearchParam("status", "token", "FHIR task status", self._status),
            SearchParam(
                "business-status", "token", "Our referral state", lambda v, m: Q(status=split_token(v)[1])
            ),
            SearchParam(
                "focus",
                "reference",
                "The ServiceRequest",
                lambda v, m: _ref_id(v, "ServiceRequest") or Q(pk__in=[]),
            ),
        ]

    def include_list(self) -> list[Include]:
        return [
            *super().include_list(),
            Include("owner", "Organization", lambda rows: {r.to_institution.code for r in rows}),
            Include("focus", "ServiceRequest", lambda rows: {str(r.pk) for r in rows}),
        ]

    def _status(self, value: str, modifier: str) -> Q:
        code = split_token(value)[1]
        return Q(status__in=[s for s, t in TASK_STATUS.items() if t == code])

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        resource = {
            "resourceType": "Task",
            **self.header(row),
            "status": TASK_STATUS.get(row.status, "requested"),
            "businessStatus": {"coding": [coding(STATUS_SYSTEM, row.status, str(row.get_status_display()))]},
            "focus": {"reference": f"ServiceRequest/{row.pk}"},
            "for": {"reference": f"Patient/{row.patient_id}"},
            "owner": {
                "reference": f"Organization/{row.to_institution.code}",
                "display": row.to_institution.name,
            },
            "lastModified": instant(row.updated_at),
        }
        if row.status == Status.REJECTED and row.refusal_reason:
            resource["statusReason"] = {"text": row.refusal_reason}
        if row.status == Status.CANCELLED and row.cancel_reason:
            resource["statusReason"] = {"text": row.cancel_reason}
        if row.care_mode:
            resource["input"] = [_parameter("care-mode", {"valueCode": row.care_mode})]
        if row.return_diagnosis_code:
            resource["output"] = _return_slip(row)
        return resource

    def update(self, ctx: Ctx, resource_id: str, resource: dict[str, Any]) -> Written:
        return task.update(self, ctx, resource_id, resource)


def _parameter(code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": {"coding": [coding(task.PARAMETER_SYSTEM, code)]}, **value}


def _return_slip(row: Referral) -> list[dict[str, Any]]:
    """The return slip as ``Task.output`` (what the receiving institution sends back)."""
    out = [
        _parameter(
            "return-diagnosis",
            {
                "valueCodeableConcept": {
                    "coding": [coding(ICD10, row.return_diagnosis_code, row.return_diagnosis_name)],
                    "text": row.return_diagnosis_name,
                }
            },
        )
    ]
    for code, text in (
        ("results", row.return_results),
        ("treatment", row.return_treatment),
        ("advice", row.return_advice),
    ):
        if text:
            out.append(_parameter(code, {"valueString": text}))
    return out
