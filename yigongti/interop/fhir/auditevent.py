"""AuditEvent, read-only: the audit trail as the consortium office and the bureau read it."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from yigongti.core.models import AuditEvent
from yigongti.core.selectors import audit_list_for

from .base import YGT, Ctx, ResourceType, SearchParam, coding, date_q, instant, int_q, split_token

VERB_SYSTEM = f"{YGT}/CodeSystem/audit-verb"
ACTIONS = {
    "create": "C", "register": "C", "grant": "C", "start": "C",
    "read": "R", "search": "R", "login": "E", "logout": "E",
    "delete": "D", "revoke": "D", "merge": "U", "unmerge": "U",
}  # fmt: skip


def action_of(verb: str) -> str:
    last = verb.rsplit(".", 1)[-1].split("_")[0]
    return ACTIONS.get(last, "U")


class AuditEventType(ResourceType):
    name = "AuditEvent"
    model = AuditEvent
    exportable = False
    documentation = (
        "The hash-chained audit trail, read-only, for the consortium office and the health bureau."
    )

    def id_q(self, value: str, modifier: str = "") -> Q:
        return int_q("seq", value)

    def id_of(self, row: Any) -> str:
        return str(row.seq)

    def order(self) -> tuple[str, ...]:
        return ("-seq",)

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "date", "date", "When it happened", lambda v, m: date_q("occurred_at", v, is_datetime=True)
            ),
            SearchParam(
                "subtype",
                "token",
                "Our verb (patient.read, staff.create, ...)",
                lambda v, m: Q(verb=split_token(v)[1]),
            ),
            SearchParam("action", "token", "C | R | U | D | E", self._action),
            SearchParam(
                "altid",
                "token",
                "Username of the actor",
                lambda v, m: Q(actor_username__iexact=split_token(v)[1]),
            ),
        ]

    def _action(self, value: str, modifier: str) -> Q:
        verbs = AuditEvent.objects.values_list("verb", flat=True).distinct()
        return Q(verb__in=[v for v in verbs if action_of(v) == value])

    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        return audit_list_for(scope=ctx.scope).order_by()

    def meta(self, row: Any) -> dict[str, Any]:
        return {"lastUpdated": instant(row.occurred_at)}

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        agent: dict[str, Any] = {
            "who": {"display": row.actor_username},
            "altId": row.actor_username,
            "requestor": True,
        }
        if row.role:
            agent["role"] = [{"text": row.role}]
        if row.ip:
            agent["network"] = {"address": row.ip, "type": "2"}
        resource: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": str(row.seq),
            "meta": self.meta(row),
            "type": coding(
                "http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"
            ),
            "subtype": [coding(VERB_SYSTEM, row.verb)],
            "action": action_of(row.verb),
            "recorded": instant(row.occurred_at),
            "outcome": "0",
            "agent": [agent],
            "source": {"observer": {"display": "Yigongti"}},
            "entity": [
                {
                    "what": {
                        "identifier": {"system": f"{YGT}/sid/{row.object_type}", "value": row.object_id}
                    },
                    "type": coding(
                        "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"
                    ),
                }
            ],
        }
        if row.institution_id:
            resource["source"]["site"] = str(row.institution_id)
        return resource
