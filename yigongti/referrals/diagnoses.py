"""ICD-10 for referrals, through the kernel's catalogue (``core.icd10``), in one place."""

from __future__ import annotations

from yigongti.core import icd10
from yigongti.core.errors import InvalidInput


def normalize(code: str, *, field: str = "diagnosis_code") -> str:
    """The canonical code; an empty or malformed one is a 422 naming ``field``."""
    try:
        return icd10.normalize(code, field=field)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=field) from exc


def name(code: str) -> str | None:
    """The catalogue's name for a code (None for codes outside the common list)."""
    return icd10.name(code)


def search(query: str, limit: int = 20) -> list[tuple[str, str]]:
    return icd10.search(query, limit)
