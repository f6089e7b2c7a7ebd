"""The registry's contents: every resource type the facade serves.

A type enters here only when its mapper works end to end (the CapabilityStatement is generated
from this list). Observation and DiagnosticReport join when the diagnostics capability lands.
"""

from __future__ import annotations

from .auditevent import AuditEventType
from .base import registry
from .encounter import EncounterType
from .organization import OrganizationType, PractitionerRoleType, PractitionerType
from .patient import PatientType
from .referral import ServiceRequestType, TaskType
from .scheduling import AppointmentType, ScheduleType, SlotType

for mapper in (
    PatientType(),
    OrganizationType(),
    PractitionerType(),
    PractitionerRoleType(),
    EncounterType(),
    ServiceRequestType(),
    TaskType(),
    ScheduleType(),
    SlotType(),
    AppointmentType(),
    AuditEventType(),
):
    registry.add(mapper)
