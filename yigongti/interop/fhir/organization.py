"""Organization (institutions, as a tree), Practitioner and PractitionerRole (staff), read-only.

Institutions and staff are reference data that the consortium office keeps in the browser and
``/api/``; the facade serves them so that systems can resolve references.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from yigongti.core.access import filter_institutions
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution, Staff
from yigongti.institutions.selectors import staff_list_for

from .base import (
    SID_EMPLOYEE,
    SID_INSTITUTION,
    YGT,
    Ctx,
    Include,
    ResourceType,
    SearchParam,
    coding,
    int_q,
    reference_id,
    split_token,
    string_q,
)

KIND_SYSTEM = f"{YGT}/CodeSystem/institution-kind"
PROFESSION_SYSTEM = f"{YGT}/CodeSystem/profession"
TITLE_SYSTEM = f"{YGT}/CodeSystem/professional-title"
DEPARTMENT_SYSTEM = f"{YGT}/CodeSystem/department-category"
GENDER_OUT = {"M": "male", "F": "female"}


class OrganizationType(ResourceType):
    name = "Organization"
    model = Institution
    documentation = (
        "Member institutions of the consortium (and external hospitals) as a tree: partOf is the parent."
    )

    def id_of(self, row: Any) -> str:
        return row.code

    def id_q(self, value: str, modifier: str = "") -> Q:
        return Q(code=value)

    def order(self) -> tuple[str, ...]:
        return ("code",)

    def params(self) -> list[SearchParam]:
        return [
            SearchParam("identifier", "token", "Institution code (12 digits)", self._identifier),
            SearchParam(
                "name",
                "string",
                "Name or short name",
                lambda v, m: string_q(("name", "short_name"), v, m),
                ("contains", "exact"),
            ),
            SearchParam("type", "token", "Kind of institution", self._type),
            SearchParam(
                "partof",
                "reference",
                "Parent institution",
                lambda v, m: Q(parent__code=reference_id(v, "Organization")),
            ),
            SearchParam("active", "token", "true | false", lambda v, m: Q(is_active=v == "true")),
        ]

    def include_list(self) -> list[Include]:
        return [Include("partof", "Organization", lambda rows: {r.parent.code for r in rows if r.parent_id})]

    def _identifier(self, value: str, modifier: str) -> Q:
        system, code = split_token(value)
        if system not in (None, SID_INSTITUTION):
            return Q(pk__in=[])
        return Q(code=code)

    def _type(self, value: str, modifier: str) -> Q:
        system, code = split_token(value)
        if system not in (None, KIND_SYSTEM):
            return Q(pk__in=[])
        return Q(kind=code)

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return filter_institutions(Institution.objects.all(), ctx.scope).select_related("parent")

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Organization",
            "id": row.code,
            "meta": self.meta(row),
            "identifier": [{"system": SID_INSTITUTION, "value": row.code}],
            "active": row.is_active,
            "type": [{"coding": [coding(KIND_SYSTEM, row.kind, str(InstitutionKind(row.kind).label))]}],
            "name": row.name,
        }
        if row.short_name:
            resource["alias"] = [row.short_name]
        if row.phone:
            resource["telecom"] = [{"system": "phone", "value": row.phone}]
        if row.address:
            resource["address"] = [{"text": row.address}]
        if row.parent_id:
            resource["partOf"] = {"reference": f"Organization/{row.parent.code}", "display": row.parent.name}
        return resource


class PractitionerType(ResourceType):
    name = "Practitioner"
    model = Staff
    documentation = "Active staff of institutions in scope (and staff seconded to them now)."

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "identifier", "token", "Employee number", lambda v, m: Q(employee_no=split_token(v)[1])
            ),
            SearchParam(
                "name", "string", "Name", lambda v, m: string_q(("name",), v, m), ("contains", "exact")
            ),
            SearchParam(
                "gender",
                "token",
                "male | female",
                lambda v, m: Q(sex={"male": "M", "female": "F"}.get(v, "?")),
            ),
        ]

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return staff_list_for(scope=ctx.scope).order_by()

    def order(self) -> tuple[str, ...]:
        return ("pk",)

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": str(row.pk),
            "meta": self.meta(row),
            "identifier": [{"system": f"{SID_EMPLOYEE}/{row.institution.code}", "value": row.employee_no}],
            "active": row.is_active,
            "name": [{"use": "official", "text": row.name}],
        }
        if row.phone:
            resource["telecom"] = [{"system": "phone", "value": row.phone}]
        if row.sex in GENDER_OUT:
            resource["gender"] = GENDER_OUT[row.sex]
        if row.birth_date:
            resource["birthDate"] = row.birth_date.isoformat()
        if row.title:
            resource["qualification"] = [
                {"code": {"coding": [coding(TITLE_SYSTEM, row.title, str(row.get_title_display()))]}}
            ]
        return resource


class PractitionerRoleType(ResourceType):
    name = "PractitionerRole"
    model = Staff
    documentation = "One role per staff member: the institution, profession and department."

    def params(self) -> list[SearchParam]:
        return [
            SearchParam("practitioner", "reference", "The Practitioner", self._practitioner),
            SearchParam(
                "organization",
                "reference",
                "The institution",
                lambda v, m: Q(institution__code=reference_id(v, "Organization")),
            ),
            SearchParam("role", "token", "Profession", lambda v, m: Q(profession=split_token(v)[1])),
        ]

    def _practitioner(self, value: str, modifier: str) -> Q:
        ident = reference_id(value, "Practitioner")
        return int_q("pk", ident)

    def include_list(self) -> list[Include]:
        return [
            Include("practitioner", "Practitioner", lambda rows: {str(r.pk) for r in rows}),
            Include("organization", "Organization", lambda rows: {r.institution.code for r in rows}),
        ]

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return staff_list_for(scope=ctx.scope).order_by()

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "PractitionerRole",
            "id": str(row.pk),
            "meta": self.meta(row),
            "active": row.is_active,
            "practitioner": {"reference": f"Practitioner/{row.pk}", "display": row.name},
            "organization": {
                "reference": f"Organization/{row.institution.code}",
                "display": row.institution.name,
            },
            "code": [
                {"coding": [coding(PROFESSION_SYSTEM, row.profession, str(row.get_profession_display()))]}
            ],
        }
        if row.department_id:
            dept = row.department
            resource["specialty"] = [
                {
                    "coding": [coding(DEPARTMENT_SYSTEM, dept.category, str(dept.get_category_display()))],
                    "text": dept.name,
                }
            ]
        if row.phone:
            resource["telecom"] = [{"system": "phone", "value": row.phone}]
        return resource
