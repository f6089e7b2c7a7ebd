"""``manage.py translate_catalogue FILE.json``: extract, fill in translations, compile — in one locked step.

The JSON maps an English msgid to its Chinese text (``"context\\u0004msgid"`` for a msgid with a
context). Several people (or processes) may translate at once: the whole run holds an exclusive
lock on ``var/catalogue.lock``, so no run overwrites another's entries. Entries named in the file
lose their fuzzy flag; entries not named are left as they are.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

#: What makemessages skips: the virtualenv, run-time files, benchmarks and tests (not user-facing).
IGNORE = [".venv", "var", "bench", "tests", "*/tests/*", "conftest.py"]
CONTEXT_SEPARATOR = "\x04"


class Command(BaseCommand):
    help = "Extract strings, apply translations from a JSON file, and compile, under a lock."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="*", help="JSON files {msgid: msgstr}")
        parser.add_argument("--no-extract", action="store_true", help="do not run makemessages first")

    def handle(self, *args: Any, **options: Any) -> None:
        translations: dict[str, str] = {}
        for name in options["files"]:
            try:
                translations.update(json.loads(Path(name).read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{name}: {exc}") from exc
        lock_path = Path(settings.BASE_DIR) / "var" / "catalogue.lock"
        lock_path.parent.mkdir(exist_ok=True)
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not options["no_extract"]:
                call_command(
                    "makemessages", locale=["zh_Hans"], no_obsolete=True, ignore_patterns=IGNORE, verbosity=0
                )
            po_path = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
            catalogue = polib.pofile(str(po_path))
            applied = 0
            for entry in catalogue:
                key = f"{entry.msgctxt}{CONTEXT_SEPARATOR}{entry.msgid}" if entry.msgctxt else entry.msgid
                if key not in translations:
                    continue
                text = translations[key]
                if entry.msgid_plural:
                    entry.msgstr_plural = {0: text}
                else:
                    entry.msgstr = text
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
                    entry.previous_msgid = None
                    entry.previous_msgid_plural = None
                    entry.previous_msgctxt = None
                applied += 1
            catalogue.save(str(po_path))
            call_command("compile_catalogue", verbosity=0)
            missing = [e.msgid for e in catalogue.untranslated_entries()]
        self.stdout.write(f"applied {applied} translations; {len(missing)} untranslated entries remain")
        for msgid in missing[:50]:
            self.stdout.write(f"  untranslated: {msgid}")
