"""ICD-10 codes as the encounters table stores them: ``core.icd10``'s one normal form, after
joining the dot that hospital exports often leave out (``J069`` is ``J06.9``). An empty code
stays empty (a visit without a coded diagnosis)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from yigongti.core import icd10

_NODOT = re.compile(r"^([A-Za-z][0-9]{2})([0-9Xx]{1,7})$")


@lru_cache(maxsize=8192)
def normalize_diagnosis(code: str, *, field: str = "diagnosis_code") -> str:
    """``"i10"``, ``"Ｊ０６．９"``, ``"J069"`` → ``I10``, ``J06.9``; an invalid code raises
    ``InvalidInput`` naming ``field`` (cached: a file repeats the same few hundred codes)."""
    text = unicodedata.normalize("NFKC", code or "").strip().replace(" ", "")
    if not text:
        return ""
    joined = _NODOT.match(text)
    if joined:
        text = f"{joined.group(1)}.{joined.group(2)}"
    return icd10.normalize(text, field=field)


def diagnosis_name(code: str) -> str:
    """The code's Chinese name (or its category's) when the shipped table has it, else ''."""
    return (icd10.name(code) or "") if code else ""
