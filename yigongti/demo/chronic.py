"""The demo county's chronic disease and the elderly."""

from __future__ import annotations

import datetime as dt

from .structure import County


def generate(county: County, *, seed: int, as_of: dt.date, residents: int) -> dict[str, int]:
    return {}
