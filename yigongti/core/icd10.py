"""ICD-10 diagnosis codes: one normal form, a format check, and the Chinese names of common codes.

Codes arrive typed by doctors and exported by hospital systems in several shapes: ``i10``,
``I10.``, full-width ``Ｉ１０``, the WHO form ``I21.4`` and the national clinical version's
``I10.x00x002`` (lower-case ``x`` is its placeholder). ``normalize`` turns all of them into one form
so that counts group correctly. The shipped table (``data/icd10_common.tsv``) names the codes
common in county and grassroots care; a code outside it is still accepted when its shape is valid
(the full national list is licensed reference data a deployment loads), and ``name`` falls back to
its three-character category.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput

_TABLE = Path(__file__).resolve().parent / "data" / "icd10_common.tsv"
#: Letter, two digits, then optionally a dot and up to 7 more characters (digits, letters, x).
_SHAPE = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9A-Zx]{1,7})?$")


@cache
def _names() -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, zh, en = line.split("\t")
        names[code] = (zh, en)
    return names


def normalize(code: str, *, field: str = "diagnosis_code") -> str:
    """The code in its one stored form, or ``InvalidInput`` naming ``field``."""
    text = unicodedata.normalize("NFKC", code or "").strip().replace(" ", "")
    text = text.rstrip(".")
    if "." in text:
        head, tail = text.split(".", 1)
        # The national clinical version writes its placeholder as a lower-case x; keep it.
        text = head.upper() + "." + "".join("x" if ch in "xX" else ch.upper() for ch in tail)
    else:
        text = text.upper()
    if not text:
        raise InvalidInput(_("Enter an ICD-10 diagnosis code."), field=field)
    if not _SHAPE.match(text):
        raise InvalidInput(
            _("%(code)s is not an ICD-10 code (a letter, two digits, then optionally a dot and more).")
            % {"code": code},
            field=field,
        )
    return text


def name(code: str) -> str | None:
    """The Chinese name of the code, or of its category, or ``None`` when neither is in the table."""
    names = _names()
    # I21.401 → I21.4 (the WHO four-character code the national version extends) → I21
    for key in (code, code[:5], code[:3]):
        if key in names:
            return names[key][0]
    return None


def search(query: str, limit: int = 20) -> list[tuple[str, str]]:
    """Codes whose code starts with, or whose Chinese or English name contains, the query."""
    text = unicodedata.normalize("NFKC", query or "").strip()
    if not text:
        return []
    upper = text.upper()
    lower = text.lower()
    hits = [
        (code, zh)
        for code, (zh, en) in _names().items()
        if code.startswith(upper) or text in zh or lower in en.lower()
    ]
    hits.sort(key=lambda row: (not row[0].startswith(upper), row[0]))
    return hits[:limit]
