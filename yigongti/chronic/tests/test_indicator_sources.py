"""The chronic sources and seed indicators are valid in the indicators app's definition language."""

from __future__ import annotations

import pytest

from yigongti.chronic import indicator_sources
from yigongti.indicators import definitions


def test_every_seed_definition_validates_against_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, source in indicator_sources.sources().items():
        monkeypatch.setitem(definitions.SOURCES, name, source)
        assert source.available, name
    codes = set()
    for row in indicator_sources.CATALOGUE:
        codes.add(row["code"])
        definitions.validate(row["numerator"], where=f"{row['code']}.numerator")
        definitions.validate(row["denominator"], where=f"{row['code']}.denominator")
    assert len(codes) == len(indicator_sources.CATALOGUE) == 9


def test_a_wrong_field_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, source in indicator_sources.sources().items():
        monkeypatch.setitem(definitions.SOURCES, name, source)
    bad = {
        "source": "chronic_follow_ups",
        "filters": [{"field": "sbp", "op": "eq", "value": 1}],
        "measure": "count",
    }
    with pytest.raises(Exception, match="field"):
        definitions.validate(bad)
