"""Periods: a year ``2025``, a quarter ``2025-Q1`` or a month ``2025-03``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import InvalidInput

PATTERN = re.compile(r"^(?P<y>\d{4})(?:-(?:Q(?P<q>[1-4])|(?P<m>0[1-9]|1[0-2])))?$")


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # year | quarter | month
    start: dt.date  # first day
    end: dt.date  # first day after

    @property
    def code(self) -> str:
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    def __str__(self) -> str:
        return self.code

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_month(self) -> dt.date:
        return add_months(self.end, -1)

    def months(self) -> list[Period]:
        out, day = [], self.start
        while day < self.end:
            out.append(Period("month", day, add_months(day, 1)))
            day = add_months(day, 1)
        return out

    def previous(self) -> Period:
        """The period of the same length just before (a year's previous is the year before)."""
        length = {"year": 12, "quarter": 3, "month": 1}[self.kind]
        return Period(self.kind, add_months(self.start, -length), self.start)


def parse(text: str, *, field: str = "period") -> Period:
    match = PATTERN.match((text or "").strip())
    if not match or not 2000 <= int(match["y"]) <= 2100:
        raise InvalidInput(_("Give a period as 2025, 2025-Q1 or 2025-03."), field=field)
    year = int(match["y"])
    if match["q"]:
        start = dt.date(year, 3 * int(match["q"]) - 2, 1)
        return Period("quarter", start, add_months(start, 3))
    if match["m"]:
        start = dt.date(year, int(match["m"]), 1)
        return Period("month", start, add_months(start, 1))
    return Period("year", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))


def month_of(day: dt.date) -> Period:
    start = day.replace(day=1)
    return Period("month", start, add_months(start, 1))
