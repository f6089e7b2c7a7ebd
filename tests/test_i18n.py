"""The Chinese catalogue is complete, compiled, and covers every string in the code.

Chinese is the product's first language: a string that reaches a user untranslated is a bug.
The extraction check needs GNU xgettext (Debian package gettext); CI installs it and sets
YGT_REQUIRE_GETTEXT=1 so that the check cannot be silently skipped.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")
PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _catalogue() -> polib.POFile:
    assert PO.exists(), "locale/zh_Hans/LC_MESSAGES/django.po is missing: run `make messages`"
    return polib.pofile(str(PO))


def test_every_entry_is_translated_and_none_is_fuzzy():
    cat = _catalogue()
    untranslated = [e.msgid for e in cat.untranslated_entries()]
    fuzzy = [e.msgid for e in cat.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated[:20]}"
    assert not fuzzy, f"fuzzy (check and clear the flag): {fuzzy[:20]}"


def test_placeholders_survive_translation():
    for entry in _catalogue().translated_entries():
        targets = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        needed = set(PLACEHOLDER.findall(entry.msgid))
        for target in targets:
            missing = needed - set(PLACEHOLDER.findall(target))
            assert not missing, f"{entry.msgid!r} lost {missing} in {target!r}"


def test_compiled_catalogue_is_up_to_date(tmp_path):
    mo = PO.with_suffix(".mo")
    assert mo.exists(), "django.mo is missing: run `make messages`"
    fresh = tmp_path / "django.mo"
    _catalogue().save_as_mofile(str(fresh))
    assert fresh.read_bytes() == mo.read_bytes(), "django.mo is stale: run `manage.py compile_catalogue`"


def test_a_known_string_reads_in_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Wrong username or password.") == "用户名或密码错误。"


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path, monkeypatch):
    if not shutil.which("xgettext"):
        if os.environ.get("YGT_REQUIRE_GETTEXT") == "1":
            pytest.fail("xgettext is required (apt-get install gettext)")
        pytest.skip("xgettext not installed")
    # makemessages writes next to a `locale/` folder it finds above the sources, whatever
    # LOCALE_PATHS says; so extract from a copy of the sources that has no `locale/` of its own.
    base = Path(settings.BASE_DIR)
    for folder in ("config", "yigongti", "templates"):
        shutil.copytree(
            base / folder, tmp_path / "src" / folder, ignore=shutil.ignore_patterns("tests", "__pycache__")
        )
    out = tmp_path / "src" / "locale"
    out.mkdir()
    monkeypatch.chdir(tmp_path / "src")
    with override_settings(LOCALE_PATHS=[str(out)]):
        call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, verbosity=0)
    assert not (base / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.pot").exists()
    extracted = polib.pofile(str(out / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    known = {(e.msgctxt, e.msgid) for e in _catalogue()}
    missing = [e.msgid for e in extracted if (e.msgctxt, e.msgid) not in known]
    assert not missing, f"strings missing from the catalogue (run `make messages`): {missing[:30]}"
