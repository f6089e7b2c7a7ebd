"""``manage.py import_encounters FILE``: encounters from a CSV file (format: docs/encounters.md).

Bad rows are reported with their line, field and reason and skipped; good rows are written in
chunks of whole transactions. Every row has an ``external_id``: running the same file again
writes nothing new (changed rows are updated), so an interrupted import is finished by running
it again.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from yigongti.core.errors import DomainError
from yigongti.encounters.bulk import DEFAULT_CHUNK, ImportReport, encounters_import
from yigongti.encounters.choices import EncounterSource
from yigongti.encounters.importing import count_rows, read_csv

SHOW_ERRORS = 50


class Command(BaseCommand):
    help = "Import encounters (visits and stays) from a CSV file, UTF-8 or GBK."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file (UTF-8 or GBK), see docs/encounters.md")
        parser.add_argument(
            "--source-system",
            default="",
            help="name of the system the file comes from; with external_id, the key that makes re-runs safe "
            "(default: the file name without its extension)",
        )
        parser.add_argument(
            "--source",
            choices=[
                EncounterSource.CSV,
                EncounterSource.INSURANCE,
                EncounterSource.HL7,
                EncounterSource.FHIR,
            ],
            default=EncounterSource.CSV,
            help="csv (a hospital's export, default) or insurance (settlement data: only completed stays)",
        )
        parser.add_argument(
            "--chunk", type=int, default=DEFAULT_CHUNK, help=f"rows per transaction (default {DEFAULT_CHUNK})"
        )
        parser.add_argument("--errors-out", type=Path, help="write every rejected row here (CSV)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("The file does not exist: %(path)s") % {"path": path})
        if options["chunk"] < 1:
            raise CommandError(_("--chunk must be at least 1."))
        source_system = (options["source_system"] or path.stem).strip()[:40]
        quiet = options["no_progress"] or options["verbosity"] < 1
        bar = tqdm(total=count_rows(path), unit=_("rows"), disable=quiet, dynamic_ncols=True, mininterval=0.5)

        def on_progress(done: int) -> None:
            bar.update(done - bar.n)

        try:
            report = encounters_import(
                read_csv(path),
                source=options["source"],
                source_system=source_system,
                chunk=options["chunk"],
                on_progress=on_progress,
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        except KeyboardInterrupt:
            raise CommandError(
                _("Interrupted. Whole chunks already written are kept; run the same command again to finish.")
            ) from None
        finally:
            bar.close()
        if options["errors_out"]:
            self._write_errors(options["errors_out"], report)
        self._summary(report, source_system)

    def _write_errors(self, target: Path, report: ImportReport) -> None:
        with target.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "external_id", "field", "message"])
            for error in report.errors:
                writer.writerow([error.line, error.external_id, error.field or "", error.message])

    def _summary(self, report: ImportReport, source_system: str) -> None:
        rate = report.rows / max(report.seconds, 1e-9)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(rows)s rows from %(system)s in %(seconds).1f s (%(rate)s rows/s): %(created)s new, "
                    "%(updated)s updated, %(unchanged)s already imported, %(rejected)s rejected."
                )
                % {
                    "rows": f"{report.rows:,}",
                    "system": source_system,
                    "seconds": report.seconds,
                    "rate": f"{rate:,.0f}",
                    "created": f"{report.created:,}",
                    "updated": f"{report.updated:,}",
                    "unchanged": f"{report.unchanged:,}",
                    "rejected": f"{len(report.errors):,}",
                }
            )
        )
        for error in report.errors[:SHOW_ERRORS]:
            self.stdout.write(
                _("  line %(line)s %(id)s [%(field)s]: %(message)s")
                % {
                    "line": error.line,
                    "id": error.external_id or "-",
                    "field": error.field or "-",
                    "message": error.message,
                }
            )
        if len(report.errors) > SHOW_ERRORS:
            self.stdout.write(
                _("  ... and %(count)s more rejected rows (see --errors-out).")
                % {"count": len(report.errors) - SHOW_ERRORS}
            )
