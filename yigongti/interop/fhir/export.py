"""Bulk data export ($export, FHIR Bulk Data Access 2.0), asynchronous.

Kick-off (``GET /fhir/$export`` or ``/fhir/Patient/$export`` with ``Prefer: respond-async``)
records an ``ExportJob`` and answers 202 with ``Content-Location`` of the status URL. When the
kick-off's transaction commits, a background thread of the same process runs the job: one
NDJSON file per type under ``VAR_DIR/fhir-export/<job>/``, written through the same scoped
querysets and mappers as the interactive API, so an export never shows more than a search would.
The status URL answers 202 with ``X-Progress`` while the job is queued or running and 200 with
the manifest when done; files are downloaded with the same Bearer token. A job whose process
died stays queued or running: ``manage.py fhir_export --run-pending`` runs it again.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from yigongti.core.access import scope_for

from ..choices import ExportStatus
from ..models import ExportJob
from ..services import export_job_create, export_job_move
from .base import Ctx, registry
from .outcome import FhirError

log = logging.getLogger(__name__)
CHUNK = 1_000


def export_dir(job_id: Any) -> Path:
    return Path(settings.VAR_DIR) / "fhir-export" / str(job_id)


def exportable_types() -> list[str]:
    return [name for name, mapper in registry.types.items() if mapper.exportable]


def _types(raw: str, level: str) -> list[str]:
    allowed = exportable_types()
    if not raw:
        return allowed
    asked = [t.strip() for t in raw.split(",") if t.strip()]
    unknown = [t for t in asked if t not in allowed]
    if unknown:
        raise FhirError(
            400,
            "not-supported",
            _("These types cannot be exported: %(types)s.") % {"types": ", ".join(unknown)[:200]},
        )
    if level == "patient" and "Patient" not in asked:
        asked.insert(0, "Patient")
    return asked


def kick_off(ctx: Ctx, *, level: str, type_param: str, since_param: str, prefer: str, url: str) -> ExportJob:
    if "respond-async" not in prefer:
        raise FhirError(400, "invalid", _("$export needs the header Prefer: respond-async."))
    since = None
    if since_param:
        since = parse_datetime(since_param)
        if since is None or since.tzinfo is None:
            raise FhirError(400, "invalid", _("_since must be an instant with a time zone."))
    types = _types(type_param, level)
    with transaction.atomic():
        job = export_job_create(
            actor=ctx.user, membership=ctx.membership, level=level, types=types, since=since, request_url=url
        )
        base = ctx.base
        transaction.on_commit(lambda: start_thread(job.pk, base))
    return job


def _in_memory_database() -> bool:
    is_in_memory = getattr(connection, "is_in_memory_db", None)
    return connection.vendor == "sqlite" and callable(is_in_memory) and bool(is_in_memory())


def start_thread(job_id: uuid.UUID, base: str) -> None:
    """Run the job in a background thread; with an in-memory SQLite database (the test suite's)
    run it here instead, after the kick-off's commit: such a database cannot be shared safely
    with a second thread (its writes fail with "database table is locked")."""
    if _in_memory_database():
        run_job(job_id, base, own_connection=False)
        return
    threading.Thread(target=run_job, args=(job_id, base), name=f"fhir-export-{job_id}", daemon=True).start()


def run_job(job_id: uuid.UUID, base: str, *, own_connection: bool = True) -> None:
    """Run one job to the end (the background thread's body; also the management command's).
    ``own_connection``: the job's thread opens and closes its own database connection (run
    inline in a request, it leaves the request's connection alone)."""
    if own_connection:
        close_old_connections()
    try:
        job = ExportJob.objects.select_related("user", "membership").get(pk=job_id)
        if job.status != ExportStatus.QUEUED:
            return
        export_job_move(actor=job.user, job_id=job.pk, status=ExportStatus.RUNNING, progress=_("starting"))
        output = _write_files(job, base)
        job.refresh_from_db()
        if job.status == ExportStatus.RUNNING:
            export_job_move(
                actor=job.user, job_id=job.pk, status=ExportStatus.DONE, progress="100%", output=output
            )
    except Exception as exc:  # the job records the failure; the thread must not die silently
        log.exception("FHIR export %s failed", job_id)
        try:
            export_job_move(actor=None, job_id=job_id, status=ExportStatus.FAILED, error=str(exc)[:1000])
        except Exception:
            log.exception("FHIR export %s: could not record the failure", job_id)
    finally:
        if own_connection:
            connection.close()


def _write_files(job: ExportJob, base: str) -> list[dict[str, Any]]:
    scope = scope_for(job.user, job.membership)
    ctx = Ctx(user=job.user, scope=scope, base=base)
    folder = export_dir(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    patient_ids: set[int] | None = None
    if job.level == "patient":
        patients = registry.get("Patient").export_queryset(ctx, None)
        patient_ids = set(patients.values_list("pk", flat=True)) if patients is not None else set()
    output = []
    for position, name in enumerate(job.types):
        mapper = registry.get(name)
        qs = mapper.export_queryset(ctx, patient_ids)
        if qs is None:
            continue
        if job.since is not None and hasattr(mapper.model, "updated_at"):
            qs = qs.filter(updated_at__gte=job.since)
        count = _write_one(ctx, mapper, qs.order_by(*mapper.order()), folder / f"{name}.ndjson")
        output.append({"type": name, "url": f"{base}/$export-file/{job.pk}/{name}.ndjson", "count": count})
        done = int(100 * (position + 1) / len(job.types))
        export_job_move(actor=job.user, job_id=job.pk, status=ExportStatus.RUNNING, progress=f"{done}%")
    return output


def _write_one(ctx: Ctx, mapper: Any, qs: Any, path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        batch: list[Any] = []
        for row in qs.iterator(chunk_size=CHUNK):
            batch.append(row)
            if len(batch) == CHUNK:
                count += _flush(ctx, mapper, batch, handle)
                batch = []
        count += _flush(ctx, mapper, batch, handle)
    return count


def _flush(ctx: Ctx, mapper: Any, rows: list[Any], handle: Any) -> int:
    if not rows:
        return 0
    mapper.prepare(ctx, rows)
    with transaction.atomic():
        mapper.after_read(ctx, rows)
    for row in rows:
        handle.write(json.dumps(mapper.to_fhir(row, ctx), ensure_ascii=False, separators=(",", ":")))
        handle.write("\n")
    return len(rows)


def job_for(ctx: Ctx, job_id: str) -> ExportJob:
    """The caller's own job, or 404 (another account's job is not theirs to see)."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        key = None
    job = ExportJob.objects.filter(pk=key, user=ctx.user).first() if key else None
    if job is None:
        raise FhirError(404, "not-found", _("No export job with this id."))
    return job


def manifest(job: ExportJob) -> dict[str, Any]:
    finished = job.finished_at or timezone.now()
    return {
        "transactionTime": timezone.localtime(job.created_at).isoformat(timespec="seconds"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": o["type"], "url": o["url"], "count": o["count"]} for o in job.output],
        "error": [],
        "extension": {"finished": timezone.localtime(finished).isoformat(timespec="seconds")},
    }


def cancel(ctx: Ctx, job: ExportJob) -> None:
    export_job_move(actor=ctx.user, job_id=job.pk, status=ExportStatus.CANCELLED)
    shutil.rmtree(export_dir(job.pk), ignore_errors=True)


def file_path(job: ExportJob, name: str) -> Path:
    if job.status != ExportStatus.DONE:
        raise FhirError(404, "not-found", _("This export is not finished."))
    names = {f"{o['type']}.ndjson" for o in job.output}
    if name not in names:
        raise FhirError(404, "not-found", _("No such file in this export."))
    return export_dir(job.pk) / name
