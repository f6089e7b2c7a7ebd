"""Run FHIR bulk-export jobs left queued or running by a process that stopped:
``manage.py fhir_export --run-pending [--base https://ygt.example/fhir]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from yigongti.interop.choices import ExportStatus
from yigongti.interop.fhir.export import run_job
from yigongti.interop.models import ExportJob
from yigongti.interop.services import export_job_move


class Command(BaseCommand):
    help = "Run pending FHIR bulk-export jobs in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run-pending", action="store_true")
        parser.add_argument(
            "--base", default="http://localhost:8000/fhir", help="Base URL written into the manifest"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["run_pending"]:
            self.stdout.write("Nothing to do (use --run-pending).")
            return
        for job in ExportJob.objects.filter(status=ExportStatus.RUNNING):
            export_job_move(
                actor=None, job_id=job.pk, status=ExportStatus.FAILED, error="process stopped; rerun"
            )
        done = 0
        for job in ExportJob.objects.filter(status=ExportStatus.QUEUED).order_by("created_at"):
            run_job(job.pk, options["base"].rstrip("/"))
            done += 1
        self.stdout.write(f"{done} jobs run.")
