"""The FHIR endpoints (plain Django views: FHIR has its own content type, errors and paging)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import bundle as bundles
from . import export, interactions, types  # noqa: F401 - fills the registry
from .base import Ctx, registry
from .capability import capability_statement
from .http import error_response, fhir_view, read_json, respond
from .outcome import FhirError


def _answer(request: HttpRequest, answer: interactions.Answer) -> HttpResponse:
    status, body = interactions.render(answer, request.headers.get("Prefer", ""))
    headers = dict(answer.headers)
    if answer.location:
        headers["Location"] = answer.location
    if body is None:
        response = HttpResponse(status=status)
        for key, value in headers.items():
            response[key] = value
        return response
    return respond(body, status, headers)


def _pairs(query: Any) -> list[tuple[str, str]]:
    return [(key, value) for key, values in query.lists() for value in values]


def _not_allowed(method: str) -> FhirError:
    return FhirError(
        405, "not-supported", _("The method %(method)s is not supported here.") % {"method": method[:10]}
    )


def _strict(request: HttpRequest) -> bool:
    return "handling=strict" in request.headers.get("Prefer", "")


@csrf_exempt
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement is public (it holds no data), as FHIR clients expect."""
    if request.method not in ("GET", "HEAD"):
        return error_response(_not_allowed(request.method or ""))
    return respond(capability_statement(request.build_absolute_uri("/fhir").rstrip("/")))


@fhir_view
def root(request: HttpRequest, ctx: Ctx) -> HttpResponse:
    if request.method != "POST":
        raise _not_allowed(request.method or "")
    return respond(bundles.process(ctx, read_json(request)))


@fhir_view
def type_level(request: HttpRequest, ctx: Ctx, resource_type: str) -> HttpResponse:
    if request.method == "GET":
        answer = interactions.search_type(ctx, resource_type, _pairs(request.GET), strict=_strict(request))
        return _answer(request, answer)
    if request.method == "POST":
        answer = interactions.create(
            ctx, resource_type, read_json(request), if_none_exist=request.headers.get("If-None-Exist", "")
        )
        return _answer(request, answer)
    raise _not_allowed(request.method or "")


@fhir_view
def search_post(request: HttpRequest, ctx: Ctx, resource_type: str) -> HttpResponse:
    if request.method != "POST":
        raise _not_allowed(request.method or "")
    params = [*_pairs(request.GET), *_pairs(request.POST)]
    return _answer(request, interactions.search_type(ctx, resource_type, params, strict=_strict(request)))


@fhir_view
def instance(request: HttpRequest, ctx: Ctx, resource_type: str, resource_id: str) -> HttpResponse:
    if request.method == "GET":
        return _answer(request, interactions.read(ctx, resource_type, resource_id))
    if request.method == "PUT":
        return _answer(request, interactions.update(ctx, resource_type, resource_id, read_json(request)))
    if request.method in ("PATCH", "DELETE"):
        mapper = registry.get(resource_type)
        verb = {"PATCH": "patch", "DELETE": "delete"}[request.method]
        interactions.require(mapper, verb)
    raise _not_allowed(request.method or "")


@fhir_view
def history(
    request: HttpRequest, ctx: Ctx, resource_type: str, resource_id: str = "", rest: str = ""
) -> HttpResponse:
    raise FhirError(
        405, "not-supported", _("History and versioned reads (vread) are not supported: we keep no versions.")
    )


@fhir_view
def export_kick_off(request: HttpRequest, ctx: Ctx, level: str = "system") -> HttpResponse:
    if request.method != "GET":
        raise _not_allowed(request.method or "")
    job = export.kick_off(
        ctx,
        level=level,
        type_param=request.GET.get("_type", ""),
        since_param=request.GET.get("_since", ""),
        prefer=request.headers.get("Prefer", ""),
        url=request.build_absolute_uri(),
    )
    response = HttpResponse(status=202)
    response["Content-Location"] = f"{ctx.base}/$export-status/{job.pk}"
    return response


@fhir_view
def export_status(request: HttpRequest, ctx: Ctx, job_id: str) -> HttpResponse:
    job = export.job_for(ctx, job_id)
    if request.method == "DELETE":
        export.cancel(ctx, job)
        return HttpResponse(status=202)
    if request.method != "GET":
        raise _not_allowed(request.method or "")
    if job.status in ("queued", "running"):
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.status
        response["Retry-After"] = "2"
        return response
    if job.status == "done":
        return respond(export.manifest(job))
    if job.status == "cancelled":
        raise FhirError(404, "not-found", _("This export was cancelled."))
    raise FhirError(500, "exception", _("The export failed: %(error)s") % {"error": job.error[:300]})


@fhir_view
def export_file(request: HttpRequest, ctx: Ctx, job_id: str, name: str) -> HttpResponseBase:
    if request.method != "GET":
        raise _not_allowed(request.method or "")
    path = export.file_path(export.job_for(ctx, job_id), name)
    return FileResponse(path.open("rb"), content_type="application/fhir+ndjson")
