"""Writes of the interop tables; every one audited in the caller's transaction.

Residents, registrations, merges and institutions are written by their own apps' services;
these functions only record what the interfaces received and produced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.audit import audit
from yigongti.core.errors import Conflict

from .choices import EXPORT_TRANSITIONS, ExportStatus
from .models import ExportJob, Hl7Message, LabResult, RegistrationIdentifier

RAW_MAX = 65_536


@transaction.atomic
def registration_identifier_record(*, actor: Any, registration: Any, system: str) -> RegistrationIdentifier:
    """Remember under which national identifier system a local record number arrived."""
    row, _created = RegistrationIdentifier.objects.update_or_create(
        registration=registration, defaults={"system": system}
    )
    audit(
        actor=actor,
        verb="interop.identifier_system",
        subject=registration,
        institution_id=registration.institution_id,
        after={"system": system},
    )
    return row


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; a logged message keeps a visible replacement instead."""
    return value.replace("\x00", "\ufffd")


@transaction.atomic
def hl7_message_record(
    *,
    actor: Any,
    channel: str,
    sender: str,
    institution: Any,
    message_type: str,
    control_id: str,
    encoding: str,
    outcome: str,
    error: str,
    result: str,
    raw: str,
) -> Hl7Message:
    """Log one received message with the answer we gave."""
    sender, message_type, control_id, error, result, raw = (
        _text(v) for v in (sender, message_type, control_id, error, result, raw)
    )
    row = Hl7Message.objects.create(
        received_at=timezone.now(),
        channel=channel,
        sender=sender[:120],
        institution=institution,
        message_type=message_type[:20],
        control_id=control_id[:64],
        encoding=encoding[:20],
        outcome=outcome,
        error=error,
        result=result[:200],
        raw=raw[:RAW_MAX],
        user=actor if getattr(actor, "pk", None) else None,
    )
    audit(
        actor=actor,
        verb="interop.hl7_receive",
        subject=row,
        institution_id=getattr(institution, "pk", None),
        after={
            "type": row.message_type,
            "control_id": row.control_id,
            "outcome": outcome,
            "error": error[:500],
        },
    )
    return row


@transaction.atomic
def lab_results_store(*, actor: Any, message: Hl7Message, rows: Sequence[LabResult]) -> list[LabResult]:
    """Keep an ORU^R01's results (rows built by the HL7 handler, not yet saved)."""
    for row in rows:
        row.message = message
    saved = LabResult.objects.bulk_create(list(rows))
    audit(
        actor=actor,
        verb="interop.results_store",
        subject=message,
        institution_id=message.institution_id,
        after={"results": len(saved), "patient_ids": sorted({r.patient_id for r in saved if r.patient_id})},
    )
    return saved


@transaction.atomic
def export_job_create(
    *, actor: Any, membership: Any, level: str, types: list[str], since: dt.datetime | None, request_url: str
) -> ExportJob:
    job = ExportJob.objects.create(
        user=actor,
        membership=membership,
        level=level,
        types=types,
        since=since,
        request_url=request_url[:500],
    )
    audit(
        actor=actor,
        verb="interop.export_start",
        subject=job,
        membership=membership,
        after={"level": level, "types": types, "since": since.isoformat() if since else None},
    )
    return job


@transaction.atomic
def export_job_move(
    *,
    actor: Any,
    job_id: Any,
    status: str,
    progress: str = "",
    output: list[dict[str, Any]] | None = None,
    error: str = "",
) -> ExportJob:
    """Move a job to ``status`` (a legal transition only), recording progress or the files."""
    job = ExportJob.objects.select_for_update().get(pk=job_id)
    if status != job.status and status not in EXPORT_TRANSITIONS[job.status]:
        raise Conflict(_("This export job cannot change to that state."), field="status")
    before = job.status
    job.status = status
    if progress:
        job.progress = progress[:100]
    if output is not None:
        job.output = output
    if error:
        job.error = error
    if status in (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.CANCELLED):
        job.finished_at = timezone.now()
    job.save()
    if before != status:
        audit(
            actor=actor,
            verb=f"interop.export_{status}",
            subject=job,
            membership=job.membership,
            before={"status": before},
            after={"status": status, "files": [o.get("type") for o in job.output], "error": error[:500]},
        )
    return job
