"""The interface console for the consortium office and the bureau: HL7 messages received (with
the reason of every NAK) and FHIR bulk-export jobs, newest first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from yigongti.core.views import paginate, require_oversight_scope, translate_domain_errors

from .choices import AckCode
from .selectors import export_job_list_for, hl7_message_list_for

JOBS_SHOWN = 20


@login_required
@require_GET
@translate_domain_errors
def console(request: HttpRequest) -> HttpResponse:
    scope = require_oversight_scope(request)
    outcome = request.GET.get("outcome", "")
    if outcome not in AckCode.values:
        outcome = ""
    page = paginate(request, hl7_message_list_for(scope=scope, outcome=outcome))
    jobs = list(export_job_list_for(scope=scope)[:JOBS_SHOWN])
    return render(
        request,
        "interop/console.html",
        {
            "page_obj": page,
            "rows": page.object_list,
            "jobs": jobs,
            "outcome": outcome,
            "outcomes": AckCode.choices,
        },
    )
