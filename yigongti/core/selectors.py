"""Reads of the kernel's own protected rows: the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from yigongti.accounts.choices import Role

from .access import Scope
from .models import AuditEvent

#: Oversight roles read the audit trail; everyone else sees none of it.
AUDIT_READERS = frozenset({Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU})


def audit_list_for(*, scope: Scope, verb: str = "", actor: str = "") -> QuerySet[AuditEvent]:
    """Audit rows recorded at institutions in the scope, newest first.

    Rows without an institution (the system's own actions, failed logins of unknown users) belong
    to no consortium and are read with ``manage.py verify_audit`` and the admin, not here: in a
    deployment with several consortia they would otherwise leak across.
    ``verb`` is an exact verb or, ending in ".", a prefix ("staff." for every staff change).
    """
    if scope.role not in AUDIT_READERS or not scope.institution_ids:
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.filter(institution_id__in=scope.institution_ids)
    if verb:
        qs = qs.filter(verb__startswith=verb) if verb.endswith(".") else qs.filter(verb=verb)
    if actor:
        qs = qs.filter(actor_username__iexact=actor)
    return qs.order_by("-seq")
