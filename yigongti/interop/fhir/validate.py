"""Structure validation with the fhir.resources R4B models (the library, not our own parser)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from .outcome import FhirError, Issue

MAX_ISSUES = 20


def _path(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}"
    return path


def validate_structure(resource: dict[str, Any], resource_type: str | None = None) -> None:
    """Refuse (400, naming each element) a resource that is not valid R4 structure."""
    name = resource_type or str(resource.get("resourceType") or "")
    try:
        model = get_fhir_model_class(name)
    except (KeyError, ValueError):
        raise FhirError(
            400, "not-supported", _("The resource type %(type)s is not supported.") % {"type": name[:64]}
        ) from None
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        issues = []
        for err in exc.errors()[:MAX_ISSUES]:
            where = _path(name, tuple(err.get("loc") or ()))
            issues.append(
                Issue(
                    "error",
                    "structure",
                    _("%(path)s is not valid FHIR R4: %(reason)s")
                    % {"path": where, "reason": err.get("msg", "")},
                    [where],
                )
            )
        raise FhirError(
            400, "structure", issues[0].diagnostics if issues else str(exc), issues=issues
        ) from None
    except (TypeError, ValueError) as exc:
        raise FhirError(
            400, "structure", _("Not a valid FHIR resource: %(reason)s") % {"reason": str(exc)[:200]}
        ) from None
