"""Transaction and batch Bundles.

A transaction is one database transaction: every entry succeeds or nothing is written, and the
answer names the entry that failed. A batch runs each entry in its own savepoint and answers
each. Entries are processed in FHIR's order, whatever their order in the Bundle: POST (create),
then PUT (update), then GET (read, search); the response lists them in the request's order.
``urn:uuid:`` fullUrls are resolved between entries: a POST that references another POST's
fullUrl is processed after it, and the reference is rewritten to the created resource.
At most ``MAX_ENTRIES`` entries (and ``http.MAX_BODY`` bytes) per Bundle.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from django.utils.translation import gettext as _

from yigongti.core.audit import deferred
from yigongti.core.batching import coalesced
from yigongti.core.errors import DomainError

from . import interactions
from .base import Ctx, EntryFailed
from .outcome import FhirError, Issue, from_domain, outcome

MAX_ENTRIES = 1_000
REASONS = {
    200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed", 422: "Unprocessable Entity",
}  # fmt: skip


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(400, "structure", _("Bundle.entry must be a list."), expression="Bundle.entry")
    if len(entries) > MAX_ENTRIES:
        raise FhirError(
            413,
            "too-costly",
            _("A Bundle may hold at most %(max)s entries; this one has %(n)s. Split it.")
            % {"max": MAX_ENTRIES, "n": len(entries)},
            expression="Bundle.entry",
        )
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            raise FhirError(
                400, "structure", _("Each entry needs a request."), expression=f"Bundle.entry[{i}].request"
            )
    return entries


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref.startswith("urn:uuid:"):
            found.add(ref)
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _rewrite(value: Any, resolved: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, resolved) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in resolved:
            out["reference"] = resolved[ref]
        return out
    if isinstance(value, list):
        return [_rewrite(v, resolved) for v in value]
    return value


#: FHIR's processing order of a transaction (http.html#trules): DELETE, then POST, then PUT and
#: PATCH, then GET and HEAD, whatever the order of the entries. Unknown methods go last (and fail).
PHASE = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def _phase(entry: dict[str, Any]) -> int:
    return PHASE.get(str(entry["request"].get("method") or "").upper(), 4)


def _order(entries: list[dict[str, Any]]) -> list[int]:
    """The order entries are processed in: by FHIR's method phases, and within a phase each entry
    after the entries whose fullUrl it references (a reference to a later phase's entry cannot
    resolve and is refused when its entry runs)."""
    full = {e.get("fullUrl"): i for i, e in enumerate(entries) if isinstance(e.get("fullUrl"), str)}
    phases = [_phase(e) for e in entries]
    needs = {
        i: {
            full[r]
            for r in _references(e.get("resource"))
            if r in full and full[r] != i and phases[full[r]] == phases[i]
        }
        for i, e in enumerate(entries)
    }
    done: list[int] = []
    placed: set[int] = set()
    for phase in sorted(set(phases)):
        members = [i for i in range(len(entries)) if phases[i] == phase]
        while any(i not in placed for i in members):
            ready = [i for i in members if i not in placed and needs[i] <= placed]
            if not ready:
                stuck = min(i for i in members if i not in placed)
                raise FhirError(
                    400,
                    "invalid",
                    _("The entries reference each other in a circle."),
                    expression=f"Bundle.entry[{stuck}]",
                )
            done += ready
            placed |= set(ready)
    return done


def _resource(entry: dict[str, Any], resolved: dict[str, str], missing_text: str) -> dict[str, Any]:
    """The entry's resource with its ``urn:uuid:`` references rewritten to created resources."""
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        raise FhirError(400, "required", missing_text, expression="resource")
    missing = sorted(r for r in _references(resource) if r not in resolved)
    if missing:
        raise FhirError(
            422,
            "not-found",
            _("The reference %(ref)s does not resolve.") % {"ref": missing[0][:100]},
            expression="resource",
        )
    return _rewrite(resource, resolved)


def _one(ctx: Ctx, entry: dict[str, Any], resolved: dict[str, str]) -> interactions.Answer:
    request = entry["request"]
    method = str(request.get("method") or "").upper()
    url = str(request.get("url") or "").lstrip("/")
    path, _sep, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    if method == "POST" and len(parts) == 1:
        resource = _resource(entry, resolved, _("A POST entry needs a resource."))
        return interactions.create(
            ctx, parts[0], resource, if_none_exist=str(request.get("ifNoneExist") or "")
        )
    if method == "PUT" and len(parts) == 2:
        resource = _resource(entry, resolved, _("A PUT entry needs a resource."))
        return interactions.update(ctx, parts[0], parts[1], resource)
    if method == "GET" and len(parts) == 2:
        return interactions.read(ctx, parts[0], parts[1])
    if method == "GET" and len(parts) == 1:
        return interactions.search_type(ctx, parts[0], parse_qsl(query, keep_blank_values=True), strict=False)
    raise FhirError(
        405,
        "not-supported",
        _(
            "%(method)s %(url)s is not supported in a Bundle "
            "(POST to create, PUT to update, GET to read or search)."
        )
        % {"method": method[:10] or "-", "url": url[:100]},
    )


def _response(answer: interactions.Answer, *, with_outcome: bool) -> dict[str, Any]:
    response: dict[str, Any] = {"status": f"{answer.status} {REASONS.get(answer.status, '')}".strip()}
    if answer.location:
        response["location"] = answer.location
    if with_outcome and answer.issues:
        response["outcome"] = outcome(answer.issues)
    entry: dict[str, Any] = {"response": response}
    if answer.resource is not None:
        entry["resource"] = answer.resource
        if answer.location:
            entry["fullUrl"] = answer.location
    return entry


def _error_entry(exc: FhirError) -> dict[str, Any]:
    return {
        "response": {
            "status": f"{exc.status} {REASONS.get(exc.status, '')}".strip(),
            "outcome": outcome(exc.issues),
        }
    }


def _located(exc: FhirError, index: int) -> FhirError:
    for issue in exc.issues:
        issue.expression = [f"Bundle.entry[{index}].{e}" for e in issue.expression] or [
            f"Bundle.entry[{index}]"
        ]
        issue.diagnostics = _("Entry %(i)s: %(text)s") % {"i": index, "text": issue.diagnostics}
    return exc


def process(ctx: Ctx, bundle: dict[str, Any]) -> dict[str, Any]:
    if bundle.get("resourceType") != "Bundle":
        raise FhirError(400, "invalid", _("POST to the base URL takes a Bundle."), expression="resourceType")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise FhirError(
            400,
            "not-supported",
            _("Only transaction and batch Bundles are processed here."),
            expression="Bundle.type",
        )
    entries = _entries(bundle)
    results: list[dict[str, Any] | None] = [None] * len(entries)
    resolved: dict[str, str] = {}
    if kind == "transaction":
        # One transaction whose audit rows are chained together at its end (core.audit.deferred):
        # the chain's lock is held from that flush to the commit, not for the whole Bundle. The
        # follow-up work of each entry (the indicator cells of a new resident's village) is
        # coalesced and done once, for every entry, at the end of the same transaction.
        with deferred(), coalesced():
            together = _patients_together(ctx, entries, resolved, results)
            for i in _order(entries):
                if i in together:
                    continue
                try:
                    answer = _one(ctx, entries[i], resolved)
                except FhirError as exc:
                    raise _located(exc, i) from None
                except DomainError as exc:
                    raise _located(from_domain(exc), i) from None
                _remember(entries[i], answer, resolved)
                results[i] = _response(answer, with_outcome=True)
    else:
        for i in _order(entries):
            try:
                with deferred():
                    answer = _one(ctx, entries[i], resolved)
                _remember(entries[i], answer, resolved)
                results[i] = _response(answer, with_outcome=True)
            except FhirError as exc:
                results[i] = _error_entry(exc)
            except DomainError as exc:
                results[i] = _error_entry(from_domain(exc))
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": results}


def _patients_together(
    ctx: Ctx, entries: list[dict[str, Any]], resolved: dict[str, str], results: list[dict[str, Any] | None]
) -> set[int]:
    """A transaction's plain Patient creates (no condition, no reference to another entry), filed
    through the master index together before the other entries, in their order; they reference
    nobody, and entries that reference them find them created. Their indexes are returned."""
    picked = [
        i
        for i, e in enumerate(entries)
        if str(e["request"].get("method") or "").upper() == "POST"
        and str(e["request"].get("url") or "").strip("/") == "Patient"
        and not e["request"].get("ifNoneExist")
        and isinstance(e.get("resource"), dict)
        and not _references(e["resource"])
    ]
    if len(picked) < 2:
        return set()
    try:
        answers = interactions.create_many(ctx, "Patient", [entries[i]["resource"] for i in picked])
    except EntryFailed as exc:
        raise _located(exc.error, picked[exc.index]) from None
    for i, answer in zip(picked, answers, strict=True):
        _remember(entries[i], answer, resolved)
        results[i] = _response(answer, with_outcome=True)
    return set(picked)


def _remember(entry: dict[str, Any], answer: interactions.Answer, resolved: dict[str, str]) -> None:
    full = entry.get("fullUrl")
    if isinstance(full, str) and full.startswith("urn:uuid:") and answer.location:
        resolved[full] = "/".join(answer.location.rsplit("/", 2)[-2:])


__all__ = ["MAX_ENTRIES", "Issue", "process"]
