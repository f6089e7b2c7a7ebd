"""Search: parameters to ORM conditions, paging with links, ``_include``.

Paging is by offset (``_offset``, in the links we give out), at most ``MAX_COUNT`` a page.
Parameters we do not know are ignored and reported in an OperationOutcome entry of the bundle,
or refused when the client sends ``Prefer: handling=strict`` (as the FHIR search page says).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.utils.translation import gettext as _

from .base import Ctx, ResourceType, registry
from .outcome import FhirError, Issue, outcome

DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_OFFSET = 100_000
MAX_INCLUDED = 1_000
#: Parameters of the search framework, not of a type.
CONTROL = {"_count", "_offset", "_include", "_format", "_summary", "_total"}


def _int(params: list[tuple[str, str]], name: str, default: int, high: int) -> int:
    values = [v for k, v in params if k == name]
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        raise FhirError(400, "invalid", _("%(name)s must be a whole number.") % {"name": name}) from None
    if number < 0:
        raise FhirError(400, "invalid", _("%(name)s must not be negative.") % {"name": name})
    return min(number, high)


def conditions(
    mapper: ResourceType, params: list[tuple[str, str]], *, strict: bool
) -> tuple[Q, list[str], list[Issue]]:
    """AND over parameters, OR over comma-separated values; (condition, used params, warnings)."""
    condition = Q()
    used: list[str] = []
    warnings: list[Issue] = []
    for key, value in params:
        if key in CONTROL:
            continue
        name, _sep, modifier = key.partition(":")
        param = mapper.search_params.get(name)
        if param is None or (modifier and modifier not in param.modifiers):
            text = _("The search parameter %(name)s is not supported for %(type)s.") % {
                "name": key[:60],
                "type": mapper.name,
            }
            if strict:
                raise FhirError(400, "not-supported", text)
            warnings.append(Issue("warning", "not-supported", text))
            continue
        either = Q(pk__in=[])
        for part in value.split(","):
            either |= param.to_q(part.strip(), modifier)
        condition &= either
        used.append(key)
    return condition, used, warnings


def run(
    ctx: Ctx,
    mapper: ResourceType,
    params: list[tuple[str, str]],
    *,
    strict: bool,
    path: str,
) -> dict[str, Any]:
    """A searchset Bundle for ``params`` (list of pairs, repeats allowed)."""
    count = _int(params, "_count", DEFAULT_COUNT, MAX_COUNT)
    offset = _int(params, "_offset", 0, MAX_OFFSET)
    condition, used, warnings = conditions(mapper, params, strict=strict)
    includes = [v for k, v in params if k == "_include"]
    for inc in includes:
        if inc not in mapper.includes:
            text = _("_include=%(inc)s is not supported.") % {"inc": inc[:80]}
            if strict:
                raise FhirError(400, "not-supported", text)
            warnings.append(Issue("warning", "not-supported", text))
    qs = mapper.queryset(ctx).filter(condition).order_by(*mapper.order())
    rows = list(qs[offset : offset + count]) if count else []
    # A page that is not full (and not past the end) tells the total without a COUNT query.
    short = 0 < len(rows) < count or (offset == 0 and count > 0 and not rows)
    total = offset + len(rows) if short else qs.count()
    mapper.prepare(ctx, rows)
    entries = [
        {
            "fullUrl": f"{ctx.base}/{mapper.name}/{mapper.id_of(r)}",
            "resource": mapper.to_fhir(r, ctx),
            "search": {"mode": "match"},
        }
        for r in rows
    ]
    included, audited = _included(ctx, mapper, rows, [i for i in includes if i in mapper.includes])
    entries += included
    # Audited last (see interactions.read): the matches, then each included type's rows; outside
    # a Bundle each row is group-committed with the other requests' (core.audit).
    mapper.after_read(ctx, rows)
    for target, found in audited:
        target.after_read(ctx, found)
    if warnings:
        entries.append({"resource": outcome(warnings), "search": {"mode": "outcome"}})
    kept = [(k, v) for k, v in params if k in used or (k == "_include" and v in mapper.includes)]

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*kept, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{ctx.base}{path}?{query}"}

    links = [link("self", offset), link("first", 0)]
    if offset + count < total and count:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


def _included(
    ctx: Ctx, mapper: ResourceType, rows: list[Any], includes: list[str]
) -> tuple[list[dict[str, Any]], list[tuple[ResourceType, list[Any]]]]:
    """The included entries, and the rows read per type (for the caller to audit)."""
    out: list[dict[str, Any]] = []
    audited: list[tuple[ResourceType, list[Any]]] = []
    seen: set[tuple[str, str]] = set()
    for inc in includes:
        spec = mapper.includes[inc]
        target = registry.get(spec.target)
        ids = sorted(spec.ids(rows))[:MAX_INCLUDED]
        if not ids:
            continue
        either = Q(pk__in=[])
        for ident in ids:
            either |= target.id_q(ident)
        found = list(target.queryset(ctx).filter(either))
        target.prepare(ctx, found)
        audited.append((target, found))
        for row in found:
            key = (target.name, target.id_of(row))
            if key in seen:
                continue
            seen.add(key)
            out.append(
                {
                    "fullUrl": f"{ctx.base}/{target.name}/{key[1]}",
                    "resource": target.to_fhir(row, ctx),
                    "search": {"mode": "include"},
                }
            )
    return out, audited
