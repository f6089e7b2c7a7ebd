"""Encounter over ``encounters``: reads through its scoped selector (audited like its own
detail page), creates through ``encounter_record`` (source "fhir", keyed by the sending
institution and the resource's identifier, so a resent resource updates rather than duplicates).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from yigongti.core.audit import audit
from yigongti.core.errors import DomainError
from yigongti.encounters.choices import EncounterKind, EncounterSource
from yigongti.encounters.models import Encounter
from yigongti.encounters.selectors import encounter_list_for
from yigongti.encounters.services import encounter_record

from .base import (
    YGT,
    Ctx,
    Include,
    ResourceType,
    SearchParam,
    Written,
    coding,
    date_q,
    instant,
    int_q,
    reference_id,
    split_token,
)
from .outcome import FhirError, from_domain
from .validate import validate_structure

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS_OF_KIND = {
    EncounterKind.OUTPATIENT: ("AMB", "ambulatory"),
    EncounterKind.EMERGENCY: ("EMER", "emergency"),
    EncounterKind.INPATIENT: ("IMP", "inpatient encounter"),
    EncounterKind.HOME_VISIT: ("HH", "home health"),
    EncounterKind.ONLINE: ("VR", "virtual"),
    EncounterKind.AI_CONSULTATION: ("VR", "virtual"),
}
KIND_OF_CLASS = {
    "AMB": EncounterKind.OUTPATIENT,
    "EMER": EncounterKind.EMERGENCY,
    "IMP": EncounterKind.INPATIENT,
    "HH": EncounterKind.HOME_VISIT,
    "VR": EncounterKind.ONLINE,
}
KIND_SYSTEM = f"{YGT}/CodeSystem/encounter-kind"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
COST_URL = f"{YGT}/StructureDefinition/encounter-total-cost"
SID_VISIT = f"{YGT}/sid/visit-number"


class EncounterType(ResourceType):
    name = "Encounter"
    model = Encounter
    interactions = ("read", "search-type", "create")
    documentation = (
        "Visits and stays. Create records through the encounters service (source fhir); identifier[0].value "
        "is the sender's visit number, the key that makes a resend an update. The total cost is the "
        f"extension {COST_URL} (valueMoney, CNY); without it the visit is recorded at 0."
    )
    accepted = frozenset(
        {
            "identifier",
            "status",
            "class",
            "type",
            "subject",
            "period",
            "serviceProvider",
            "reasonCode",
            "extension",
        }
    )

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "patient",
                "reference",
                "The resident",
                lambda v, m: int_q("patient_id", reference_id(v, "Patient")),
            ),
            SearchParam(
                "subject",
                "reference",
                "The resident",
                lambda v, m: int_q("patient_id", reference_id(v, "Patient")),
            ),
            SearchParam(
                "date", "date", "Start of the visit", lambda v, m: date_q("started_at", v, is_datetime=True)
            ),
            SearchParam("class", "token", "AMB | EMER | IMP | HH | VR", self._class),
            SearchParam(
                "service-provider",
                "reference",
                "The institution",
                lambda v, m: Q(institution__code=reference_id(v, "Organization")),
            ),
            SearchParam("identifier", "token", "Visit number", lambda v, m: Q(external_id=split_token(v)[1])),
        ]

    def _class(self, value: str, modifier: str) -> Q:
        code = split_token(value)[1]
        kinds = [k for k, (c, _d) in CLASS_OF_KIND.items() if c == code]
        return Q(kind__in=kinds)

    def include_list(self) -> list[Include]:
        return [
            Include("patient", "Patient", lambda rows: {str(r.patient_id) for r in rows}),
            Include("subject", "Patient", lambda rows: {str(r.patient_id) for r in rows}),
            Include(
                "service-provider",
                "Organization",
                lambda rows: {r.institution.code for r in rows if r.institution_id},
            ),
        ]

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return encounter_list_for(scope=ctx.scope).order_by()

    def export_queryset(self, ctx: Ctx, patient_ids: set[int] | None) -> QuerySet[Any] | None:
        if ctx.scope.is_oversight:
            return Encounter.objects.none()
        qs = self.queryset(ctx)
        return qs if patient_ids is None else qs.filter(patient_id__in=patient_ids)

    def after_read(self, ctx: Ctx, rows: list[Any]) -> None:
        for row in rows:
            audit(
                actor=ctx.user,
                verb="encounter.read",
                subject=row,
                after={"patient_id": row.patient_id},
                membership=ctx.membership,
            )

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        klass, display = CLASS_OF_KIND.get(row.kind, ("AMB", "ambulatory"))
        in_progress = row.kind == EncounterKind.INPATIENT and row.discharged_on is None
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": str(row.pk),
            "meta": self.meta(row),
            "status": "in-progress" if in_progress else "finished",
            "class": coding(ACT_CODE, klass, display),
            "type": [{"coding": [coding(KIND_SYSTEM, row.kind, str(row.get_kind_display()))]}],
            "subject": {"reference": f"Patient/{row.patient_id}"},
            "period": {"start": instant(row.started_at)},
            "extension": [
                {"url": COST_URL, "valueMoney": {"value": float(row.total_cost), "currency": "CNY"}}
            ],
        }
        if row.external_id:
            resource["identifier"] = [{"system": SID_VISIT, "value": row.external_id}]
        if row.discharged_on:
            resource["period"]["end"] = row.discharged_on.isoformat()
        if row.institution_id:
            resource["serviceProvider"] = {
                "reference": f"Organization/{row.institution.code}",
                "display": row.institution.name,
            }
        if row.diagnosis_code:
            resource["reasonCode"] = [{"coding": [coding(ICD10, row.diagnosis_code)]}]
        return resource

    def create(self, ctx: Ctx, resource: dict[str, Any]) -> Written:
        self.refuse_unknown(resource)
        validate_structure(resource, "Encounter")
        scope = ctx.scope
        if scope.membership is None or not scope.can_write or scope.is_oversight or scope.self_patient_only:
            raise FhirError(403, "forbidden", _("Only staff of an institution record encounters."))
        from .base import registry

        patient_ref = str((resource.get("subject") or {}).get("reference") or "")
        patient_id = reference_id(patient_ref, "Patient")
        patient = registry.get("Patient").queryset(ctx).filter(int_q("pk", patient_id)).first()
        if patient is None:
            raise FhirError(
                422,
                "not-found",
                _("The reference %(ref)s does not resolve.") % {"ref": patient_ref[:100] or "-"},
                expression="Encounter.subject",
            )
        institution = scope.membership.institution
        provider = str((resource.get("serviceProvider") or {}).get("reference") or "")
        if provider and reference_id(provider, "Organization") != institution.code:
            raise FhirError(
                422,
                "business-rule",
                _("You may record encounters only at your own institution."),
                expression="Encounter.serviceProvider",
            )
        values = _values(resource)
        try:
            row, created = encounter_record(
                actor=None,  # authorised here: the caller's institution, a resident the caller may read
                patient=patient,
                institution=institution,
                source=EncounterSource.FHIR,
                source_system=f"fhir@{institution.code}",
                **values,
            )
        except DomainError as exc:
            raise from_domain(exc, prefix="Encounter.") from None
        audit(
            actor=ctx.user,
            verb="interop.encounter_write",
            subject=row,
            membership=ctx.membership,
            after={"created": created, "external_id": row.external_id},
        )
        row = self.queryset(ctx).filter(pk=row.pk).first() or row
        return Written(row=row, created=created)


def _values(resource: dict[str, Any]) -> dict[str, Any]:
    klass = (resource.get("class") or {}).get("code", "")
    kind = KIND_OF_CLASS.get(klass)
    if kind is None:
        raise FhirError(
            422,
            "code-invalid",
            _("Encounter.class must be AMB, EMER, IMP, HH or VR."),
            expression="Encounter.class",
        )
    period = resource.get("period") or {}
    start = parse_datetime(str(period.get("start") or "")) if "T" in str(period.get("start") or "") else None
    if start is None:
        raise FhirError(
            422,
            "required",
            _("Encounter.period.start must be a date and time."),
            expression="Encounter.period.start",
        )
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    end = str(period.get("end") or "")[:10]
    identifiers = resource.get("identifier") or []
    external = str(identifiers[0].get("value") or "") if identifiers else ""
    reasons = resource.get("reasonCode") or []
    icd = ""
    for c in (reasons[0].get("coding") or []) if reasons else []:
        if c.get("system") == ICD10:
            icd = str(c.get("code") or "")
    cost: Any = Decimal("0.00")
    for ext in resource.get("extension") or []:
        if ext.get("url") != COST_URL:
            raise FhirError(
                422,
                "not-supported",
                _("The extension %(url)s is not supported.") % {"url": str(ext.get("url"))[:100]},
                expression="Encounter.extension",
            )
        try:
            cost = Decimal(str((ext.get("valueMoney") or {}).get("value")))
        except InvalidOperation:
            raise FhirError(
                422, "value", _("The total cost is not a number."), expression="Encounter.extension"
            ) from None
    return {
        "kind": kind,
        "started_at": start,
        "admitted_on": start.date() if kind == EncounterKind.INPATIENT else None,
        "discharged_on": dt.date.fromisoformat(end) if end and kind == EncounterKind.INPATIENT else None,
        "total_cost": cost,
        "diagnosis_code": icd,
        "external_id": external[:64],
    }
