"""OperationOutcome: the body of every FHIR error (and of informational answers).

``FhirError`` carries an HTTP status, a FHIR issue code and a translated diagnostics text, and
optionally the FHIRPath ``expression`` of the element at fault, so that a client can tell which
element we refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yigongti.core.errors import DomainError

#: Our DomainError codes as FHIR issue types.
ISSUE_OF_DOMAIN = {
    "invalid": "invalid",
    "bad_request": "invalid",
    "not_found": "not-found",
    "forbidden": "forbidden",
    "conflict": "conflict",
    "throttled": "throttled",
}


@dataclass
class Issue:
    severity: str  # fatal | error | warning | information
    code: str  # FHIR issue type
    diagnostics: str
    expression: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            data["expression"] = self.expression
        return data


class FhirError(Exception):
    """An error answered as an OperationOutcome with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: Any,
        *,
        expression: list[str] | str | None = None,
        issues: list[Issue] | None = None,
    ) -> None:
        super().__init__(str(diagnostics))
        self.status = status
        if isinstance(expression, str):
            expression = [expression]
        self.issues = issues or [Issue("error", code, str(diagnostics), list(expression or []))]

    @property
    def diagnostics(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)


def outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_dict() for i in issues]}


def from_domain(exc: DomainError, *, prefix: str = "", elements: dict[str, str] | None = None) -> FhirError:
    """A service's DomainError as a FhirError (the field, if named, as the expression; renamed
    by ``elements`` where the resource's element has another name)."""
    name = (elements or {}).get(exc.field or "", exc.field)
    expression = [f"{prefix}{name}"] if prefix and name else []
    return FhirError(
        exc.status, ISSUE_OF_DOMAIN.get(exc.code, "invalid"), str(exc.message), expression=expression
    )
