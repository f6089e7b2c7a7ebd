"""``manage.py train_matcher``: estimate match weights from the registrations (Splink EM) and
store them as the next ``MatchConfig`` version; every later match uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yigongti.core.errors import DomainError
from yigongti.patients.matching.configs import DEFAULT_SAMPLE, config_train, file_records
from yigongti.patients.matching.engine import FIELDS, LEVELS


class Command(BaseCommand):
    help = "Train the master patient index's match weights from the registrations and store a new version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="registrations to train on")
        parser.add_argument("--link", type=float, default=None, help="auto-link threshold (probability)")
        parser.add_argument("--review", type=float, default=None, help="review threshold (probability)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--from-file",
            type=Path,
            default=None,
            help="train on a CSV/FHIR file (as import_residents reads it) instead of the registrations",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = config_train(
                actor=None,
                sample=options["sample"],
                link=options["link"],
                review=options["review"],
                seed=options["seed"],
                records=file_records(options["from_file"], options["sample"])
                if options["from_file"]
                else None,
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        if options["verbosity"] < 1:
            return
        params = config.parameters
        self.stdout.write(
            self.style.SUCCESS(
                f"Matcher v{config.version}: {config.note}; link >= {config.link_threshold}, "
                f"review >= {config.review_threshold}, prior {params['prior']:.3g}"
            )
        )
        for field in FIELDS:
            table = params["fields"][field]
            cells = ", ".join(
                f"{level} m={table[level]['m']:.3g} u={table[level]['u']:.3g}" for level in LEVELS[field]
            )
            self.stdout.write(f"  {field}: {cells}")
