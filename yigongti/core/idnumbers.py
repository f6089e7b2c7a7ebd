"""Resident ID numbers after GB 11643-1999 (公民身份号码).

18 characters: a 6-digit GB/T 2260 area code, the birth date YYYYMMDD, a 3-digit sequence whose
parity gives the sex (odd = male), and an ISO 7064 MOD 11-2 check character. Numbers issued
before 1999 have 15 digits (two-digit year, no check character) and are converted by inserting
"19" and computing the check character.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .areacodes import province_of
from .errors import InvalidInput

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²" and other scripts' digits."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class IdNumber:
    """A checked 18-character ID number and what it encodes."""

    value: str
    area_code: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not _digits(first17):
        raise InvalidInput(_("The first 17 characters of an ID number must be digits."), field="id_number")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_MAP[total % 11]


def normalize(raw: str) -> str:
    """Strip spaces, full-width digits and a lower-case x, so that equal numbers compare equal."""
    table = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")
    return "".join(raw.split()).translate(table).upper()


def upgrade_15(raw15: str, *, field: str = "id_number") -> str:
    """Convert a legacy 15-digit number to 18 characters (birth year 19yy)."""
    if len(raw15) != 15 or not _digits(raw15):
        raise InvalidInput(_("A 15-digit ID number must consist of digits only."), field=field)
    first17 = raw15[:6] + "19" + raw15[6:]
    return first17 + check_character(first17)


def parse(raw: str, *, field: str = "id_number", today: dt.date | None = None) -> IdNumber:
    """Validate an ID number (15 or 18 characters) and return its 18-character form.

    Raises InvalidInput with a message that names what is wrong: length, characters, area,
    date or check character.
    """
    value = normalize(raw or "")
    if len(value) == 15:
        value = upgrade_15(value, field=field)
    if len(value) != 18:
        raise InvalidInput(_("An ID number has 18 characters (or 15 for old numbers)."), field=field)
    if not _digits(value[:17]) or not (_digits(value[17]) or value[17] == "X"):
        raise InvalidInput(
            _("An ID number is 17 digits followed by a digit or X."),
            field=field,
        )
    area = value[:6]
    if province_of(area) is None:
        raise InvalidInput(_("The ID number starts with an unknown area code."), field=field)
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput(_("The ID number contains an impossible birth date."), field=field) from None
    today = today or timezone.localdate()  # the calendar day in Asia/Shanghai, not the server's
    if birth > today or birth.year < 1880:
        raise InvalidInput(_("The birth date in the ID number is out of range."), field=field)
    if check_character(value[:17]) != value[17]:
        raise InvalidInput(_("The check character of the ID number is wrong."), field=field)
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(value=value, area_code=area, birth_date=birth, sex=sex)


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidInput:
        return False
    return True


def build(area_code: str, birth_date: dt.date, sequence: int) -> str:
    """Compose a valid 18-character number; used by the demo generator and tests."""
    if not (0 <= sequence <= 999):
        raise ValueError("sequence must be 0..999")
    first17 = f"{area_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def mask(value: str) -> str:
    """Show the first 6 and last 4 characters only, for lists and dashboards."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
