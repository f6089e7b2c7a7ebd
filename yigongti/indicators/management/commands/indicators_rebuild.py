"""Recompute every indicator cell from the source tables (after a bulk load that bypassed the
services, or to check the incremental aggregates)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from yigongti.indicators import engine


class Command(BaseCommand):
    help = "Recompute every indicator cell from the source tables."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        cells = engine.rebuild()
        if options["verbosity"]:
            self.stdout.write(f"{cells} cells in {time.perf_counter() - started:.1f} s")
