"""GET /fhir/metadata: a CapabilityStatement generated from the registry, so it cannot claim a
type, interaction, search parameter or include that the code does not have."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from .base import registry
from .bundle import MAX_ENTRIES
from .http import MAX_BODY
from .interactions import conditional_interactions
from .search import MAX_COUNT

SMART_NOTE = (
    "Authorization: Bearer API tokens of the platform (accounts.ApiToken), one user acting in its "
    "first active membership; every read is scoped to that membership. SMART Backend Services "
    "(client_credentials with a signed JWT assertion) are not offered yet; see docs/interop.md."
)


def capability_statement(base: str) -> dict[str, Any]:
    resources = []
    for mapper in registry.types.values():
        resource: dict[str, Any] = {
            "type": mapper.name,
            "documentation": mapper.documentation,
            "interaction": [{"code": code} for code in mapper.interactions],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": "conditional-create" in conditional_interactions(mapper),
            "conditionalRead": "not-supported",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchInclude": sorted(mapper.includes),
            "searchParam": [
                {"name": p.name, "type": p.type, "documentation": p.doc}
                for p in mapper.search_params.values()
            ],
        }
        if mapper.name == "Patient":
            resource["operation"] = [
                {
                    "name": "export",
                    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                }
            ]
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "publisher": "Yigongti",
        "kind": "instance",
        "software": {"name": "Yigongti", "version": getattr(settings, "YGT_VERSION", "0")},
        "implementation": {"description": "Yigongti county medical consortium platform", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Bundles: transaction (all or nothing) and batch of create (POST), update (PUT, for "
                    "the types that claim update), read and search (GET) entries, processed POST, then "
                    "PUT, then GET whatever their order (answered in the entries' order), at most "
                    f"{MAX_ENTRIES} entries and {MAX_BODY // 1048576} MB. "
                    f"Searches: _count up to {MAX_COUNT}, paging by links."
                ),
                "security": {"cors": False, "description": SMART_NOTE},
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                    }
                ],
            }
        ],
    }
