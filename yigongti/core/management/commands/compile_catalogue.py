"""Compile the gettext catalogues (.po → .mo) with polib, so no GNU gettext is needed to run.

``make messages`` extracts strings with Django's makemessages (which does need xgettext);
this command only turns the translated .po files into the binary .mo files Django reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogue_files() -> list[Path]:
    files: list[Path] = []
    for base in settings.LOCALE_PATHS:
        files.extend(sorted(Path(base).glob("*/LC_MESSAGES/*.po")))
    return files


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po into .mo files."

    def handle(self, *args: Any, **options: Any) -> None:
        files = catalogue_files()
        if not files:
            raise CommandError("no .po files found under LOCALE_PATHS")
        for po_path in files:
            catalogue = polib.pofile(str(po_path))
            untranslated = [e.msgid for e in catalogue.untranslated_entries()]
            mo_path = po_path.with_suffix(".mo")
            catalogue.save_as_mofile(str(mo_path))
            self.stdout.write(
                f"{po_path}: {len(catalogue.translated_entries())} translated, "
                f"{len(untranslated)} untranslated, {len(catalogue.fuzzy_entries())} fuzzy → {mo_path.name}"
            )
