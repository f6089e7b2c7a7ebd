"""The registry's contents: every resource type the facade serves.

A type enters here only when its mapper works end to end (the CapabilityStatement is generated
from this list). Encounter, ServiceRequest/Task and Schedule/Slot/Appointment join when their
apps' services exist.
"""

from __future__ import annotations

from .auditevent import AuditEventType
from .base import registry
from .organization import OrganizationType, PractitionerRoleType, PractitionerType
from .patient import PatientType

for mapper in (
    PatientType(),
    OrganizationType(),
    PractitionerType(),
    PractitionerRoleType(),
    AuditEventType(),
):
    registry.add(mapper)
