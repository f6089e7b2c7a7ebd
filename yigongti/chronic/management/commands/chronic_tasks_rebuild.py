"""Regenerate the chronic worklists from the rules.

``manage.py chronic_tasks_rebuild``: every open task from scratch, set-based (after a rule
change, or at installation). ``--new-elderly-since YYYY-MM-DD``: only open the first elderly
task of residents who turned 65 since that day (a daily job over one day's birthdays).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from yigongti.chronic import services, tasks


class Command(BaseCommand):
    help = "Regenerate the chronic-disease and elderly worklist tasks from the rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-elderly-since", default="", help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        since = options["new_elderly_since"]
        if since:
            try:
                day = dt.date.fromisoformat(since)
            except ValueError as exc:
                raise CommandError("--new-elderly-since must be YYYY-MM-DD") from exc
            with transaction.atomic():
                count = tasks.open_new_elderly(day, today)
            self.stdout.write(f"opened {count} elderly tasks")
            return
        count = services.tasks_rebuild(today=today)
        self.stdout.write(f"{count} open tasks")
