"""The sources and seed indicators handed to the indicator catalogue validate and count real rows."""

from __future__ import annotations

from typing import Any

import pytest

from yigongti.familydoctor.indicator_sources import CATALOGUE, sources
from yigongti.indicators import definitions

from .conftest import active

pytestmark = pytest.mark.django_db


def test_catalogue_validates_and_counts(fd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, source in sources().items():
        monkeypatch.setitem(definitions.SOURCES, name, source)
    active(fd)
    counts = {}
    for indicator in CATALOGUE:
        numerator = definitions.validate(indicator["numerator"])
        if indicator["denominator"]:
            definitions.validate(indicator["denominator"])
        rows = definitions.rows(numerator)
        assert rows is not None
        counts[indicator["code"]] = rows.count()
    assert counts["fd_contract_coverage"] == 1 and counts["fd_priority_share"] == 1
