"""A ServiceRequest received (``POST /fhir/ServiceRequest``) as a referral-out slip.

The caller's institution refers (``requester``, if given, must be it) the resident in
``subject`` to the one institution in ``performer``, for the ICD-10 diagnosis and the
consortium's coded criterion in ``reasonCode``; ``priority`` is the urgency (``stat`` an
emergency), ``note`` the history, ``status`` draft keeps it a draft and active submits it.
Everything else a slip holds (department, green channel, appointment, treatment) is written in
the referral pages and ``/api/referrals``; the service checks the rest (scope, direction and
criterion, the receiver) exactly as there.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.errors import DomainError
from yigongti.patients.models import Patient
from yigongti.referrals import lookups
from yigongti.referrals.choices import Urgency
from yigongti.referrals.models import Referral
from yigongti.referrals.services import referral_create

from .base import YGT, Ctx, int_q, reference_id
from .outcome import FhirError, from_domain
from .validate import validate_structure

ICD10 = "http://hl7.org/fhir/sid/icd-10"
REASON_SYSTEM = f"{YGT}/CodeSystem/referral-reason"
REFERRAL_CODE = ("http://snomed.info/sct", "3457005")
URGENCY = {
    "routine": Urgency.ROUTINE,
    "urgent": Urgency.URGENT,
    "asap": Urgency.URGENT,
    "stat": Urgency.EMERGENCY,
}
ACCEPTED = frozenset(
    {"status", "intent", "priority", "subject", "requester", "performer", "reasonCode", "note", "code"}
)
#: the service's fields as the resource's elements, for the OperationOutcome's expression
ELEMENTS = {
    "patient": "subject",
    "to_institution": "performer",
    "diagnosis_code": "reasonCode",
    "diagnosis_name": "reasonCode",
    "reason": "reasonCode",
    "reason_note": "reasonCode",
    "urgency": "priority",
    "history": "note",
}


def _refuse(element: str, message: str, status: int = 422, code: str = "business-rule") -> FhirError:
    return FhirError(status, code, message, expression=f"ServiceRequest.{element}")


def create(ctx: Ctx, resource: dict[str, Any]) -> Referral:
    validate_structure(resource, "ServiceRequest")
    scope = ctx.scope
    if scope.membership is None or not scope.can_write or scope.is_oversight or scope.self_patient_only:
        raise FhirError(
            403, "forbidden", _("Referrals are written by the clinical staff of a member institution.")
        )
    status = resource.get("status")
    if status not in ("draft", "active"):
        raise _refuse("status", _("A new referral is draft (kept) or active (submitted)."))
    if resource.get("intent") != "order":
        raise _refuse("intent", _("A referral is an order (intent order)."))
    codes = {(c.get("system"), c.get("code")) for c in (resource.get("code") or {}).get("coding") or []}
    if codes and REFERRAL_CODE not in codes:
        raise _refuse("code", _("Only referrals (SNOMED CT 3457005) are received here."))
    institution = scope.membership.institution
    requester = str((resource.get("requester") or {}).get("reference") or "")
    if requester and reference_id(requester, "Organization") != institution.code:
        raise _refuse("requester", _("You may refer only from your own institution."))
    performers = [str(p.get("reference") or "") for p in resource.get("performer") or []]
    if len(performers) != 1 or not performers[0].startswith("Organization/"):
        raise _refuse(
            "performer", _("Name exactly one receiving institution (an Organization)."), code="required"
        )
    subject = str((resource.get("subject") or {}).get("reference") or "")
    patient_id = reference_id(subject, "Patient")
    patient = Patient.objects.filter(int_q("pk", patient_id), merged_into__isnull=True).first()
    if patient is None:
        raise _refuse(
            "subject",
            _("The reference %(ref)s does not resolve.") % {"ref": subject[:100] or "-"},
            code="not-found",
        )
    diagnosis, reason = _reasons(resource.get("reasonCode") or [])
    notes = [str(n.get("text") or "").strip() for n in resource.get("note") or []]
    try:  # in the interaction's transaction
        return referral_create(
            actor=ctx.user,
            patient=patient,
            to_institution=lookups.institution_by_code(scope, reference_id(performers[0], "Organization")),
            diagnosis_code=diagnosis[0],
            diagnosis_name=diagnosis[1],
            reason=lookups.reason_by_code(reason),
            urgency=URGENCY.get(str(resource.get("priority") or "routine"), ""),
            history="\n".join(n for n in notes if n),
            submit=status == "active",
        )
    except DomainError as exc:
        raise from_domain(exc, prefix="ServiceRequest.", elements=ELEMENTS) from None


def _reasons(concepts: list[dict[str, Any]]) -> tuple[tuple[str, str], str]:
    """(ICD-10 code, its name) and the referral criterion's code from ``reasonCode``."""
    diagnoses: list[tuple[str, str]] = []
    criteria: list[str] = []
    for concept in concepts:
        for c in concept.get("coding") or []:
            if c.get("system") == ICD10:
                diagnoses.append(
                    (str(c.get("code") or ""), str(concept.get("text") or c.get("display") or ""))
                )
            elif c.get("system") == REASON_SYSTEM:
                criteria.append(str(c.get("code") or ""))
            else:
                raise _refuse(
                    "reasonCode",
                    _(
                        "Codes of %(system)s are not understood here: use ICD-10 (%(icd)s) for the "
                        "diagnosis and %(reasons)s for the criterion."
                    )
                    % {"system": str(c.get("system") or "-")[:100], "icd": ICD10, "reasons": REASON_SYSTEM},
                )
    if len(diagnoses) != 1:
        raise _refuse("reasonCode", _("Give exactly one ICD-10 diagnosis."), code="required")
    if len(criteria) != 1:
        raise _refuse(
            "reasonCode",
            _("Give exactly one referral criterion (%(system)s).") % {"system": REASON_SYSTEM},
            code="required",
        )
    return diagnoses[0], criteria[0]
