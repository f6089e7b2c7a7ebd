"""A transaction Bundle recomputes the indicator cells once, at its end, inside its transaction.

Each new resident touched its village's cells, which were recomputed after every entry (half of a
100-Patient Bundle's time); ``core.batching.coalesced()`` collects the touched keys and the
cells are recomputed once for all of them. The cells must still equal a computation from scratch,
and a Bundle that fails leaves them as they were.
"""

from __future__ import annotations

from typing import Any

from yigongti.accounts.choices import Role
from yigongti.indicators import engine
from yigongti.patients.models import Patient

from .test_fhir_api import _entry, patient


def _counting(monkeypatch: Any) -> list[str]:
    """The real recomputation, with a note of each call (the source it recomputed)."""
    calls: list[str] = []
    real = engine._refresh_now

    def counted(source: str, keys: Any, **kwargs: Any) -> int:
        calls.append(source)
        return real(source, keys, **kwargs)

    monkeypatch.setattr(engine, "_refresh_now", counted)
    return calls


def _bundle(entries: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_a_transaction_bundle_recomputes_the_cells_once_and_they_equal_a_rebuild(county, fhir, monkeypatch):
    engine.rebuild()
    calls = _counting(monkeypatch)
    villages = [county.village, county.other_village]
    entries = [
        _entry(
            patient(local=f"T{i}", name=f"赵六{chr(0x4E00 + i)}", id_number="")
            | {"managingOrganization": {"reference": f"Organization/{villages[i % 2].code}"}}
        )
        for i in range(6)
    ]
    response = fhir(Role.TOWNSHIP_DOCTOR).post("/fhir/", _bundle(entries))
    assert response.status_code == 200, response.content
    assert {v.pk: Patient.objects.filter(village=v).count() for v in villages} == {v.pk: 3 for v in villages}
    assert calls.count("residents") == 1
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental


def test_a_failed_transaction_bundle_leaves_the_cells_as_they_were(county, fhir, monkeypatch):
    engine.rebuild()
    before = engine.snapshot()
    calls = _counting(monkeypatch)
    good = [_entry(patient(local=f"F{i}", name=f"钱七{chr(0x4E00 + i)}", id_number="")) for i in range(3)]
    bad = _entry(patient(local="F9", name="孙八") | {"photo": [{"url": "x"}]})
    response = fhir(Role.VILLAGE_DOCTOR).post("/fhir/", _bundle([*good, bad]))
    assert response.status_code == 422
    assert calls == []
    assert engine.snapshot() == before


def test_single_creates_still_recompute_at_once(county, fhir, monkeypatch):
    calls = _counting(monkeypatch)
    assert (
        fhir(Role.VILLAGE_DOCTOR).post("/fhir/Patient", patient(local="S1", id_number="")).status_code == 201
    )
    assert calls.count("residents") == 1
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
