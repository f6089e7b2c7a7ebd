"""Merging residents (and undoing it) keeps the family-doctor indicator cells equal to a rebuild.

Contracts count only while their resident is not merged; the merge saves both residents, which
refreshed the residents' cells but not the contracts' until ``patients.signals.residents_changed``
was sent by the merge and its undo.
"""

from __future__ import annotations

from typing import Any

from yigongti.accounts.choices import Role
from yigongti.indicators import engine
from yigongti.patients.matching.merging import patients_merge, patients_unmerge

from .conftest import active


def _equal_to_rebuild() -> dict[Any, Any]:
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    return incremental


def test_merge_and_undo_keep_the_contract_cells_equal_to_a_rebuild(fd: Any) -> None:
    active(fd, patient="p")
    engine.rebuild()
    before = engine.snapshot()
    office = fd.users[Role.CONSORTIUM_OFFICE]
    merge = patients_merge(actor=office, survivor_id=fd.patients["young"].pk, merged_id=fd.patients["p"].pk)
    after = _equal_to_rebuild()
    assert after != before  # the contract of the merged resident no longer counts
    patients_unmerge(actor=office, merge_id=merge.pk)
    assert _equal_to_rebuild() == before
