"""``manage.py generate_county``: the demo county modelled on Yangshan, Guangdong (441823 阳山县).

It builds the consortium (阳山县医共体总医院) led by 阳山县人民医院 with its 120 centre, the TCM,
maternal-child and chronic-disease hospitals, 13 township centres and 159 village clinics, the
county health bureau and three external hospitals; departments and beds; about 1,550 staff; about
30 county doctors seconded to township centres; one login per role (see ``demo_logins``); and
``--residents`` residents in households, with valid ID and health-record numbers.

The same ``--seed`` and ``--as-of`` give the same county row for row (``--as-of`` defaults to
today, because ages are counted from it). Residents are streamed in chunks, so a million take
flat memory. The run is one transaction and writes one summary audit row (``demo.generate``)
besides the rows the institution and account services audit; residents are not audited one by one.
On PostgreSQL the command then runs ``VACUUM (ANALYZE)``, as after any bulk load.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from yigongti.core.errors import DomainError
from yigongti.demo.generator import generate_county
from yigongti.institutions.models import Institution
from yigongti.patients.services import BULK_METHODS


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of must be a date like 2024-06-30, not {value!r}") from None


class Command(BaseCommand):
    help = "Generate the demo county (Yangshan, Guangdong): institutions, staff, logins and residents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--residents", type=int, default=20_000, help="number of residents (default 20000)"
        )
        parser.add_argument("--seed", type=int, default=2024, help="random seed (default 2024)")
        parser.add_argument(
            "--as-of", type=_date, default=None, help="reference date for ages (default today)"
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if institutions exist")
        parser.add_argument("--chunk-size", type=int, default=5000, help="residents per bulk insert")
        parser.add_argument(
            "--method",
            choices=BULK_METHODS,
            default="auto",
            help="bulk insert: COPY on PostgreSQL by default",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Institution.objects.exists():
            if options["if_empty"]:
                self.stdout.write("The demo county already exists; nothing to do.")
                return
            raise CommandError(
                "The database already holds institutions; use an empty database or --if-empty."
            )
        total = options["residents"]
        if total < 0 or options["chunk_size"] < 1:
            raise CommandError("--residents must be >= 0 and --chunk-size >= 1.")
        as_of = options["as_of"] or timezone.localdate()
        if as_of > timezone.localdate():
            raise CommandError("--as-of cannot be in the future: nobody can be born after today.")
        verbose = options["verbosity"] >= 1
        started = time.perf_counter()
        step = max(100_000, options["chunk_size"])
        shown = [0]

        def progress(written: int) -> None:
            if verbose and (written - shown[0] >= step or written == total):
                shown[0] = written
                rate = written / max(time.perf_counter() - started, 1e-9)
                self.stdout.write(f"  residents: {written:,} / {total:,} ({rate:,.0f}/s overall)")

        try:
            report = generate_county(
                residents=total,
                seed=options["seed"],
                as_of=as_of,
                chunk_size=options["chunk_size"],
                method=options["method"],
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # after a bulk load, as PostgreSQL's documentation advises: statistics for the planner,
            # and the pages marked all-visible, so the indicator cubes read their analytic indexes
            # (indicators.analytic.index_ready) at once instead of after autovacuum's next round
            vacuumed = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
            report.seconds["vacuum"] = time.perf_counter() - vacuumed
        if verbose:
            counts = report.counts
            self.stdout.write(
                self.style.SUCCESS(
                    f"Generated the demo county (seed {report.seed}, as of {report.as_of}) in "
                    f"{time.perf_counter() - started:.1f} s "
                    "("
                    + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in report.seconds.items())
                    + ")."
                )
            )
            for key in sorted(counts):
                self.stdout.write(f"  {key}: {counts[key]:,}")
            self.stdout.write("Logins: python manage.py demo_logins")
