"""The interactions themselves, shared by the HTTP views and the Bundle processor:
read, search, create and conditional create; update (PUT) for the types that claim it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from django.utils.translation import gettext as _

from yigongti.core.audit import deferred

from . import search
from .base import Ctx, EntryFailed, ResourceType, Written, registry
from .outcome import FhirError, Issue, outcome

MAX_ID = 64


@dataclass
class Answer:
    """One interaction's result: status, body, Location and other headers, information."""

    status: int
    resource: dict[str, Any] | None
    location: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def require(mapper: ResourceType, interaction: str) -> None:
    if interaction not in mapper.interactions:
        raise FhirError(
            405,
            "not-supported",
            _("The interaction %(i)s is not supported for %(type)s.")
            % {"i": interaction, "type": mapper.name},
        )


def read(ctx: Ctx, type_name: str, resource_id: str) -> Answer:
    mapper = registry.get(type_name)
    require(mapper, "read")
    if len(resource_id) > MAX_ID:
        raise FhirError(404, "not-found", _("No resource has this id."))
    row = mapper.get(ctx, resource_id)
    mapper.prepare(ctx, [row])
    body = mapper.to_fhir(row, ctx)
    # Audited last, after the data is read and before it is sent: outside a Bundle the row is
    # group-committed with other requests' rows (core.audit), the chain's lock held briefly.
    mapper.after_read(ctx, [row])
    return Answer(200, body)


def search_type(ctx: Ctx, type_name: str, params: list[tuple[str, str]], *, strict: bool) -> Answer:
    mapper = registry.get(type_name)
    require(mapper, "search-type")
    return Answer(200, search.run(ctx, mapper, params, strict=strict, path=f"/{type_name}"))


def _check_type(mapper: ResourceType, resource: dict[str, Any]) -> None:
    given = resource.get("resourceType")
    if given != mapper.name:
        raise FhirError(
            400,
            "invalid",
            _("The resourceType is %(given)s but this URL takes %(type)s.")
            % {"given": str(given)[:60] if given else "-", "type": mapper.name},
            expression="resourceType",
        )


def create(ctx: Ctx, type_name: str, resource: dict[str, Any], *, if_none_exist: str = "") -> Answer:
    """Create (or, with ``If-None-Exist``, find) a resource; one transaction."""
    mapper = registry.get(type_name)
    require(mapper, "create")
    _check_type(mapper, resource)
    # One transaction; its audit rows are chained at its end, so the chain's lock is not held
    # while the master index matches.
    with deferred():
        if if_none_exist:
            found = _conditional(ctx, mapper, if_none_exist)
            if found is not None:
                return Answer(
                    200,
                    mapper.to_fhir(found, ctx),
                    f"{ctx.base}/{mapper.name}/{mapper.id_of(found)}",
                    issues=[
                        Issue(
                            "information", "duplicate", _("A matching resource exists; nothing was created.")
                        )
                    ],
                )
        return _created(ctx, mapper, mapper.create(ctx, resource))


def _created(ctx: Ctx, mapper: ResourceType, written: Written) -> Answer:
    """What a create answers: 201 with the new resource (200 when an existing one was used)."""
    return Answer(
        201 if written.created else 200,
        mapper.to_fhir(written.row, ctx),
        f"{ctx.base}/{mapper.name}/{mapper.id_of(written.row)}",
        written.headers,
        written.issues,
    )


def create_many(ctx: Ctx, type_name: str, resources: list[dict[str, Any]]) -> list[Answer]:
    """Plain creates of one type, in order, in the caller's transaction (a transaction Bundle's):
    what ``create`` answers for each, with the type's own way of writing many at once. A failure
    raises ``EntryFailed`` naming the resource."""
    mapper = registry.get(type_name)
    require(mapper, "create")
    for i, resource in enumerate(resources):
        try:
            _check_type(mapper, resource)
        except FhirError as exc:
            raise EntryFailed(i, exc) from None
    with deferred():
        written = mapper.create_many(ctx, resources)
        mapper.prepare(ctx, [w.row for w in written])  # the details of all rows in one go
        return [_created(ctx, mapper, w) for w in written]


def update(ctx: Ctx, type_name: str, resource_id: str, resource: dict[str, Any]) -> Answer:
    """Update the resource ``resource_id`` (never creates: ``updateCreate`` is false); one
    transaction. The resource's ``id`` must be the URL's."""
    mapper = registry.get(type_name)
    require(mapper, "update")
    _check_type(mapper, resource)
    given = resource.get("id")
    if given is None or str(given) != resource_id:
        raise FhirError(
            400,
            "invalid",
            _("The resource id %(given)s differs from the id in the URL (%(url)s).")
            % {"given": str(given)[:60] if given is not None else "-", "url": resource_id[:MAX_ID]},
            expression=f"{mapper.name}.id",
        )
    if len(resource_id) > MAX_ID:
        raise FhirError(404, "not-found", _("No resource has this id."))
    with deferred():
        written = mapper.update(ctx, resource_id, resource)
        body = mapper.to_fhir(written.row, ctx)
    return Answer(200, body, "", written.headers, written.issues)


def _conditional(ctx: Ctx, mapper: ResourceType, query: str) -> Any:
    if "conditional-create" not in conditional_interactions(mapper):
        raise FhirError(412, "not-supported", _("Conditional create is not supported for this type."))
    query = query.split("?", 1)[-1]
    params = parse_qsl(query, keep_blank_values=True)
    if not params:
        raise FhirError(400, "invalid", _("If-None-Exist needs search parameters."))
    condition, _used, _warnings = search.conditions(mapper, params, strict=True)
    matches = list(mapper.queryset(ctx).filter(condition).order_by(*mapper.order())[:2])
    if len(matches) > 1:
        raise FhirError(412, "multiple-matches", _("If-None-Exist matches more than one resource."))
    if matches:
        mapper.prepare(ctx, matches)
        mapper.after_read(ctx, matches)
        return matches[0]
    return None


def conditional_interactions(mapper: ResourceType) -> set[str]:
    return {"conditional-create"} if mapper.conditional_create else set()


def render(answer: Answer, prefer: str) -> tuple[int, Any]:
    """The body a client asked for with ``Prefer: return=...``."""
    if "return=minimal" in prefer:
        return answer.status, None
    if "return=OperationOutcome" in prefer:
        issues = answer.issues or [Issue("information", "informational", _("Done."))]
        return answer.status, outcome(issues)
    return answer.status, answer.resource
