"""``manage.py import_residents FILE --links-out LINKS.csv``: legacy records into the master index.

FILE is CSV (``source_id,name,sex,birth_date,id_number,phone,address``; UTF-8 or GBK) or FHIR
Patients (NDJSON or a Bundle). Each row is linked to a resident, sent to review, filed as a new
resident or rejected with its line number and reason; a bad row never stops the import.
LINKS.csv gets ``source_id,patient_id,decision`` for every row (``rejected`` rows have no
patient_id). Rows are written in chunks of whole transactions: after an interruption, run the
same command again and it resumes; re-running a finished file changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from yigongti.core.errors import DomainError
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.matching.importer import count_records, import_file

SHOW_REJECTED = 50


class Command(BaseCommand):
    help = "Import residents from CSV or FHIR into the master patient index, writing a links file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV (UTF-8 or GBK) or FHIR NDJSON / Bundle")
        parser.add_argument(
            "--links-out", type=Path, required=True, help="where to write source_id,patient_id,decision"
        )
        parser.add_argument(
            "--institution",
            default="",
            help="code of the institution the records come from (default: the lead hospital)",
        )
        parser.add_argument(
            "--chunk", type=int, default=5000, help="registrations per transaction (default 5000)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--parallel",
            choices=("auto", "yes", "no"),
            default="auto",
            help="clean rows in a second process (auto: for files over 2 MB on a multi-core machine)",
        )

    def _institution(self, code: str) -> Institution:
        qs = Institution.objects.all()
        found = (
            qs.filter(code=code).first()
            if code
            else qs.filter(kind=InstitutionKind.LEAD_HOSPITAL).order_by("pk").first()
        )
        if found is None:
            raise CommandError(
                _("No institution has this code.") if code else _("There is no lead hospital yet.")
            )
        return found

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("The file does not exist: %(path)s") % {"path": path})
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1.")
        institution = self._institution(options["institution"])
        quiet = options["no_progress"] or options["verbosity"] < 1
        bar = tqdm(
            total=count_records(path), unit=_("rows"), disable=quiet, dynamic_ncols=True, mininterval=0.5
        )
        loading = tqdm(unit=_("registrations loaded"), disable=quiet, mininterval=0.5)

        def on_row(done: int) -> None:
            bar.update(done - bar.n)

        def on_load(done: int) -> None:
            loading.update(done - loading.n)

        try:
            report = import_file(
                path,
                institution=institution,
                links_out=options["links_out"],
                chunk=options["chunk"],
                on_row=on_row,
                on_load=on_load,
                parallel={"auto": None, "yes": True, "no": False}[options["parallel"]],
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        except KeyboardInterrupt:
            raise CommandError(
                _("Interrupted. Whole chunks already written are kept; run the same command again to resume.")
            ) from None
        finally:
            loading.close()
            bar.close()
        self._summary(report)

    def _summary(self, report: Any) -> None:
        counts = report.counts
        rate = report.rows / max(report.seconds, 1e-9)
        if report.resumed_from:
            self.stdout.write(_("Resumed after line %(line)s.") % {"line": report.resumed_from})
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(rows)s rows in %(seconds).1f s (%(rate)s rows/s): %(new)s new, %(linked)s linked, "
                    "%(review)s to review, %(rejected)s rejected, %(unchanged)s already imported."
                )
                % {
                    "rows": f"{report.rows:,}",
                    "seconds": report.seconds,
                    "rate": f"{rate:,.0f}",
                    "new": f"{counts.get('new', 0):,}",
                    "linked": f"{counts.get('linked', 0):,}",
                    "review": f"{counts.get('review', 0):,}",
                    "rejected": f"{counts.get('rejected', 0):,}",
                    "unchanged": f"{counts.get('unchanged', 0):,}",
                }
            )
        )
        for outcome in report.rejected[:SHOW_REJECTED]:
            self.stdout.write(
                _("  line %(line)s %(source)s: %(reason)s")
                % {"line": outcome.line, "source": outcome.source_id or "-", "reason": outcome.reason}
            )
        if len(report.rejected) > SHOW_REJECTED:
            self.stdout.write(
                _("  ... and %(count)s more rejected rows (see the links file).")
                % {"count": len(report.rejected) - SHOW_REJECTED}
            )
