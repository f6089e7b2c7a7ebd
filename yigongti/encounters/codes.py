"""ICD-10 codes as the encounters table stores them.

One function, ``normalize_diagnosis``, so that the kernel's ``core.icd10`` (being written) can
replace the pattern check here without touching the callers.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from django.utils.translation import gettext as _

from yigongti.core.errors import InvalidInput

# A chapter letter, two digits (the third character may be a letter in a few national
# extensions), then an optional subdivision: ``.9``, ``.900``, ``.x00x002`` (the Chinese clinical
# version's extension codes fit in 16 characters).
_CODE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9X]{1,8})?$")
_NODOT = re.compile(r"^([A-Z][0-9]{2})([0-9X]{1,8})$")


@lru_cache(maxsize=8192)
def normalize_diagnosis(code: str, *, field: str = "diagnosis_code") -> str:
    """``"i10"``, ``" I10 "``, ``"Ｊ０６．９"`` and ``"J069"`` become ``I10``, ``J06.9``; an empty code stays
    empty (a visit without a coded diagnosis); anything else is refused."""
    text = unicodedata.normalize("NFKC", code or "").strip().upper().replace(" ", "")
    if not text:
        return ""
    text = text.rstrip(".")
    joined = _NODOT.match(text)
    if joined:
        text = f"{joined.group(1)}.{joined.group(2)}"
    if len(text) > 16 or not _CODE.match(text):
        raise InvalidInput(
            _("%(code)s is not an ICD-10 code (a letter, two digits, then an optional .subdivision).")
            % {"code": code[:20]},
            field=field,
        )
    return text
