"""Splink training: the SQL levels keep the engine's contract, and training gives usable weights."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from yigongti.patients.matching import training
from yigongti.patients.matching.training import LEVELS


def _bench_module(name: str) -> Any:
    """A module of ``bench/`` (a folder of scripts, not a package), loaded from its path."""
    path = Path(__file__).resolve().parents[3] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


empi_data = _bench_module("empi_data")  # the labelled registrations generator

BASE: dict[str, Any] = {
    "unique_id": "a",
    "name": "张伟",
    "pinyin": "zhangwei",
    "pinyin_all": ["zhangwei"],
    "sex": "M",
    "birth_date": "1980-03-05",
    "id_number": "360123198003051234",
    "phone": "13800000000",
    "village": "360123101201",
}


def _gamma(field: str, level: str) -> int:
    """Splink numbers levels from the ELSE level (0) up; null is -1."""
    return -1 if level == "null" else len(LEVELS[field]) - 1 - LEVELS[field].index(level)


@pytest.fixture(scope="module")
def linker() -> Any:
    return training.splink_linker([BASE, dict(BASE, unique_id="b")])


@pytest.mark.parametrize(
    ("changes", "field", "level"),
    [
        ({}, "id_number", "exact"),
        ({"id_number": "360123198003051235"}, "id_number", "near"),  # one substitution
        ({"id_number": "360123198003051324"}, "id_number", "near"),  # adjacent transposition
        ({"id_number": "360123198003051342"}, "id_number", "conflict"),  # two edits
        ({"id_number": "360123198003061235"}, "id_number", "conflict"),  # two substitutions
        ({"id_number": ""}, "id_number", "null"),
        ({"name": "张玮"}, "name", "pinyin"),
        ({"name": "張偉", "pinyin_all": ["zhangwei", "zhangwei2"]}, "name", "pinyin"),
        ({"name": "章维", "pinyin": "zhangwen", "pinyin_all": ["zhangwen"]}, "name", "similar"),
        ({"name": "李娜", "pinyin": "lina", "pinyin_all": ["lina"]}, "name", "different"),
        ({"name": "", "pinyin": "", "pinyin_all": []}, "name", "null"),
        ({"birth_date": "1980-05-03"}, "birth_date", "swap"),
        ({"birth_date": "1981-05-03"}, "birth_date", "different"),  # swapped, another year
        ({"birth_date": "1980-03-04"}, "birth_date", "near"),
        ({"birth_date": "1980-03-07"}, "birth_date", "different"),
        ({"birth_date": ""}, "birth_date", "null"),
        ({"phone": "13800000001"}, "phone", "different"),
        ({"phone": ""}, "phone", "null"),
        ({"village": "360123101202"}, "village", "different"),
        ({"sex": "F"}, "sex", "different"),
        ({"sex": ""}, "sex", "null"),
    ],
)
def test_sql_levels_keep_the_contract(linker: Any, changes: dict[str, Any], field: str, level: str) -> None:
    scored = linker.inference.score_pair(BASE, dict(BASE, unique_id="c", **changes)).as_record_list()[0]
    assert scored[f"gamma_{field}"] == _gamma(field, level)


def test_near_birth_date_crosses_month_and_year() -> None:
    left = dict(BASE, birth_date="1979-12-31")
    lk = training.splink_linker([left, dict(BASE, unique_id="b")])
    scored = lk.inference.score_pair(
        left, dict(BASE, unique_id="c", birth_date="1980-01-01")
    ).as_record_list()[0]
    assert scored["gamma_birth_date"] == _gamma("birth_date", "near")


def test_blanks_are_never_blocked_together() -> None:
    blank = {"id_number": "", "phone": "", "birth_date": "", "sex": ""}
    records = [dict(BASE, unique_id=str(i), name=f"人{i}", pinyin=f"ren{i}", **blank) for i in range(5)]
    pairs = training.splink_linker(records).inference.predict(warning_mode="never").as_record_list()
    assert pairs == []


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return [empi_data.normalise(row) for row in empi_data.generate(3000, seed=5)]


@pytest.fixture(scope="module")
def trained(records: list[dict[str, Any]]) -> dict[str, Any]:
    return training.train(records, seed=1, u_max_pairs=4e5)


def test_every_level_is_present_and_json(trained: dict[str, Any]) -> None:
    assert json.loads(json.dumps(trained)) == trained
    assert trained["engine"].startswith("splink ")
    assert trained["trained_on"] == 3000
    assert trained["skipped_rules"] == []
    assert set(trained["fields"]) == set(LEVELS)
    for field, levels in LEVELS.items():
        assert tuple(trained["fields"][field]) == levels
        for values in trained["fields"][field].values():
            assert set(values) == {"m", "u"}
            assert 1e-6 <= values["m"] <= 1 - 1e-6
            assert 1e-6 <= values["u"] <= 1 - 1e-6
        assert sum(v["m"] for v in trained["fields"][field].values()) == pytest.approx(1, abs=1e-8)
    assert 0 < trained["prior"] < 0.01


def test_agreement_is_evidence_for_a_match(trained: dict[str, Any]) -> None:
    fields = trained["fields"]
    for field in LEVELS:
        assert fields[field]["exact"]["m"] > 10 * fields[field]["exact"]["u"] or field == "sex", field
    assert fields["sex"]["exact"]["m"] > fields["sex"]["exact"]["u"]
    assert fields["id_number"]["conflict"]["m"] < fields["id_number"]["conflict"]["u"] / 10
    assert fields["id_number"]["near"]["m"] > 100 * fields["id_number"]["near"]["u"]
    assert fields["name"]["different"]["m"] < fields["name"]["different"]["u"]
    assert fields["birth_date"]["different"]["m"] < fields["birth_date"]["different"]["u"]


def test_prior_is_near_the_labelled_truth(records: list[dict[str, Any]], trained: dict[str, Any]) -> None:
    rows = empi_data.generate(3000, seed=5)
    true_pairs = len(empi_data.truth_pairs(rows))
    truth = true_pairs / (3000 * 2999 / 2)
    assert truth / 2 < trained["prior"] < truth * 2


def test_same_seed_same_result_other_seed_other_u(
    records: list[dict[str, Any]], trained: dict[str, Any]
) -> None:
    assert training.train(records, seed=1, u_max_pairs=4e5) == trained
    other = training.train(records, seed=2, u_max_pairs=4e5)
    assert other["fields"]["village"]["exact"]["u"] != trained["fields"]["village"]["exact"]["u"]


def test_defaults_fill_levels_splink_cannot_estimate() -> None:
    # Nobody shares a phone number: phone "exact" is never observed, neither among random pairs
    # (u) nor in EM (m), and must come from the documented defaults.
    rows = empi_data.generate(1500, seed=9)
    records = [dict(empi_data.normalise(row), phone=str(i)) for i, row in enumerate(rows)]
    result = training.train(records, seed=1, u_max_pairs=2e5)
    assert "phone.exact.m" in result["defaults_used"]
    assert "phone.exact.u" in result["defaults_used"]
    assert "phone.different.m" not in result["defaults_used"]
    default = training.DEFAULT_PARAMETERS["phone"]["exact"]["m"]
    estimated = result["fields"]["phone"]["different"]["m"]  # rescaled with the default beside it
    assert result["fields"]["phone"]["exact"]["m"] == pytest.approx(default / (default + 1 - 1e-6), rel=1e-6)
    assert estimated == pytest.approx((1 - 1e-6) / (default + 1 - 1e-6), rel=1e-6)
    assert result["skipped_rules"] == []


def test_a_training_rule_without_pairs_is_skipped_and_leaves_the_prior_alone() -> None:
    rows = empi_data.generate(1500, seed=9)
    records = [dict(empi_data.normalise(row), id_number="") for row in rows]
    result = training.train(records, seed=1, u_max_pairs=2e5)
    assert result["skipped_rules"] == ["l.id_number = r.id_number"]
    assert {"id_number.exact.m", "id_number.exact.u", "birth_date.exact.m"} <= set(result["defaults_used"])
    # Only the name-and-birth-date rule is left for the prior: it finds fewer than half the pairs.
    truth = len(empi_data.truth_pairs(rows)) / (1500 * 1499 / 2)
    assert truth / 4 < result["prior"] < truth


def test_trained_parameters_load_back_into_splink(trained: dict[str, Any]) -> None:
    settings = training.splink_settings(parameters=trained)
    lk = training.splink_linker([BASE, dict(BASE, unique_id="b")], settings)
    model = lk.misc.save_model_to_json()
    assert model["probability_two_random_records_match"] == pytest.approx(trained["prior"])
    id_levels = {lv["label_for_charts"]: lv for lv in model["comparisons"][0]["comparison_levels"]}
    assert id_levels["near"]["m_probability"] == pytest.approx(trained["fields"]["id_number"]["near"]["m"])
    far = dict(BASE, unique_id="c", id_number="110101199001011234", birth_date="1990-01-01", phone="")
    assert lk.inference.score_pair(BASE, far).as_record_list()[0]["match_probability"] < 0.01
