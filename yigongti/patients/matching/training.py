"""Fellegi–Sunter parameters (m, u and the prior) estimated from the registrations themselves, by Splink.

Nobody labels which registrations are the same person, so the parameters are estimated without
labels, the way Splink does it (DuckDB backend, in memory):

1. the prior, the probability that two random records match, from deterministic rules (the same
   ID number, or the same name, birth date and sex) and an assumed recall of those rules
   (``DETERMINISTIC_RECALL``);
2. u (how often a level occurs between different people) from a seeded random sample of pairs;
3. m (how often it occurs between registrations of one person) by expectation maximisation on
   the pairs of three blocking rules: each rule leaves the fields it blocks on untrained, so
   together they train every field (birth date; pinyin and birth year; ID number).

The comparison levels are the contract with the real-time engine (``engine.LEVELS``): the same
level names, in the same order, with the same meaning, written here as DuckDB SQL. A level that
Splink cannot estimate (never seen among the sampled pairs) gets ``DEFAULT_PARAMETERS`` and is
listed in ``defaults_used``.

``train`` returns plain JSON: ``{"engine", "prior", "fields": {field: {level: {"m", "u"}}},
"trained_on", "defaults_used", "skipped_rules"}``. ``splink_settings(parameters=...)`` turns
such a result back into a Splink model, so that Splink itself predicts with the engine's weights.

Time on the 2-core development machine (``bench/empi_data.generate``, seed 1, normalised): about
10 s for 200,000 registrations (load 1.5 s, prior 0.2 s, u 6.5 s, EM 3.5 s), the process peaking
at about 0.7 GB; 70 s for 1,000,000 (EM on birth-date blocks grows with the square of block size).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import splink
from splink import DuckDBAPI, Linker

from .engine import DEFAULT_FIELDS, LEVELS, SIMILAR_NAME

# LEVELS (level names per field, most specific first, without ``null``) and SIMILAR_NAME are the
# engine's own: one definition for both sides of the contract.

#: Columns of a normalised record (see ``bench/empi_data.normalise``); '' (or []) is missing.
COLUMNS = ("unique_id", "name", "pinyin", "pinyin_all", "sex", "birth_date", "id_number", "phone", "village")

#: Level conditions in DuckDB SQL; Splink suffixes columns with _l and _r. ``ELSE`` is the rest.
_CONDITIONS: dict[str, dict[str, str]] = {
    "id_number": {
        "exact": '"id_number_l" = "id_number_r"',
        # Damerau–Levenshtein distance 1 between two 18-character numbers is one substitution or
        # one adjacent transposition (an insertion would change the length): the same as OSA.
        "near": 'damerau_levenshtein("id_number_l", "id_number_r") = 1',
        "conflict": "ELSE",
    },
    "name": {
        "exact": '"name_l" = "name_r"',
        "pinyin": 'list_has_any("pinyin_all_l", "pinyin_all_r")',
        "similar": f'jaro_winkler_similarity("pinyin_l", "pinyin_r") >= {SIMILAR_NAME}',
        "different": "ELSE",
    },
    "birth_date": {
        "exact": '"birth_date_l" = "birth_date_r"',
        "swap": (
            'substr("birth_date_l", 1, 4) = substr("birth_date_r", 1, 4)'
            ' AND substr("birth_date_l", 6, 2) = substr("birth_date_r", 9, 2)'
            ' AND substr("birth_date_l", 9, 2) = substr("birth_date_r", 6, 2)'
        ),
        "near": (
            'abs(date_diff(\'day\', try_cast("birth_date_l" AS DATE), try_cast("birth_date_r" AS DATE))) = 1'
        ),
        "different": "ELSE",
    },
    "phone": {"exact": '"phone_l" = "phone_r"', "different": "ELSE"},
    "village": {"exact": '"village_l" = "village_r"', "different": "ELSE"},
    "sex": {"exact": '"sex_l" = "sex_r"', "different": "ELSE"},
}

#: Candidate pairs for prediction: any one rule suffices. The ID halves catch a typo in the other half.
PREDICTION_BLOCKING_RULES: tuple[str, ...] = (
    "l.id_number = r.id_number",
    "l.phone = r.phone",
    "l.pinyin = r.pinyin AND substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4)",
    "l.birth_date = r.birth_date AND l.sex = r.sex",
    "substr(l.id_number, 1, 10) = substr(r.id_number, 1, 10)",
    "substr(l.id_number, 11, 8) = substr(r.id_number, 11, 8)",
)

#: Pairs for expectation maximisation; together they leave no field untrained.
TRAINING_BLOCKING_RULES: tuple[str, ...] = (
    "l.birth_date = r.birth_date",
    "l.pinyin = r.pinyin AND substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4)",
    "l.id_number = r.id_number",
)

#: Rules that admit almost only true matches, for the prior.
DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.id_number = r.id_number",
    "l.name = r.name AND l.birth_date = r.birth_date AND l.sex = r.sex",
)

#: Assumed share of all true pairs that ``DETERMINISTIC_RULES`` find. On the bench's labelled
#: registrations (``bench/empi_data``) they find 91 % of true pairs, about 1 % of what they find
#: being false; real registrations are dirtier (more missing ID numbers), so we assume less. A
#: recall off by 0.06 shifts every match weight by 0.1 bit.
DETERMINISTIC_RECALL = 0.85

#: Random pairs sampled for u.
U_MAX_PAIRS = 2e6

#: m and u are kept inside (EPSILON, 1 - EPSILON) so that every weight is finite.
EPSILON = 1e-6

#: Used for a level Splink could not estimate (listed in ``defaults_used``): see ``engine``.
DEFAULT_PARAMETERS = DEFAULT_FIELDS


def _clamp(p: float) -> float:
    return min(max(float(p), EPSILON), 1 - EPSILON)


def _comparison(field: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    column = field  # missing ('' or NULL) on either side: the null level, weight 0
    levels: list[dict[str, Any]] = [
        {
            "sql_condition": f"coalesce(\"{column}_l\", '') = '' OR coalesce(\"{column}_r\", '') = ''",
            "label_for_charts": "null",
            "is_null_level": True,
        }
    ]
    for level in LEVELS[field]:
        spec: dict[str, Any] = {"sql_condition": _CONDITIONS[field][level], "label_for_charts": level}
        if field == "name" and level == "exact":
            spec["tf_adjustment_column"] = "name"
            spec["tf_adjustment_weight"] = 1.0
        if parameters is not None:
            spec["m_probability"] = _clamp(parameters["fields"][field][level]["m"])
            spec["u_probability"] = _clamp(parameters["fields"][field][level]["u"])
        levels.append(spec)
    return {"output_column_name": field, "comparison_levels": levels}


def splink_settings(
    *,
    parameters: Mapping[str, Any] | None = None,
    blocking_rules: Iterable[str] = PREDICTION_BLOCKING_RULES,
) -> dict[str, Any]:
    """Splink 5 settings (dedupe, DuckDB SQL) with the ``LEVELS`` comparisons.

    Untrained by default; with ``parameters`` (a ``train`` result) m, u and the prior are set, so
    that the model predicts without training.
    """
    settings: dict[str, Any] = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": [_comparison(field, parameters) for field in LEVELS],
        "blocking_rules_to_generate_predictions": list(blocking_rules),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }
    if parameters is not None:
        settings["probability_two_random_records_match"] = _clamp(parameters["prior"])
    return settings


def records_table(records: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Normalised records as an Arrow table, '' and [] as NULL (so that blocking never pairs blanks)."""
    columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    strings = [c for c in COLUMNS if c != "pinyin_all"]
    for record in records:
        for column in strings:
            columns[column].append(str(record.get(column) or "") or None)
        readings = record.get("pinyin_all") or ()
        columns["pinyin_all"].append(list(readings) or None)
    schema = pa.schema([(c, pa.list_(pa.string()) if c == "pinyin_all" else pa.string()) for c in COLUMNS])
    return pa.table(columns, schema=schema)


def splink_linker(
    records: Iterable[Mapping[str, Any]] | pa.Table,
    settings: Mapping[str, Any] | None = None,
    *,
    db_api: DuckDBAPI | None = None,
) -> Linker:
    """A Splink linker over ``records`` (normalised), registered as table ``registrations``.

    A new in-memory DuckDB database unless ``db_api`` is given (to register more tables beside it,
    e.g. new records for ``linker.inference.predict_between``).
    """
    table = records if isinstance(records, pa.Table) else records_table(records)
    db_api = db_api if db_api is not None else DuckDBAPI(":memory:")
    frame = db_api.register(table, dataset_display_name="registrations")
    return Linker(frame, dict(settings if settings is not None else splink_settings()), log_level=None)


def fit(
    linker: Linker, *, seed: int = 1, recall: float = DETERMINISTIC_RECALL, u_max_pairs: float = U_MAX_PAIRS
) -> list[str]:
    """Estimate the prior, u (seeded random sampling) and m (EM on ``TRAINING_BLOCKING_RULES``).

    Returns the training rules that gave EM no pairs (a small sample without a shared ID number,
    say) and were skipped; the levels only they would have trained keep no estimate.
    """
    training = linker.training
    try:
        training.estimate_probability_two_random_records_match(list(DETERMINISTIC_RULES), recall=recall)
    except ValueError:  # in a tiny sample the rules can find more than ``recall`` allows
        training.estimate_probability_two_random_records_match(list(DETERMINISTIC_RULES), recall=1.0)
    training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    skipped: list[str] = []
    for rule in TRAINING_BLOCKING_RULES:
        # Splink raises on a rule without pairs, and only after it has changed the model's
        # parameters (the prior among them), so count first: for equi-joins a cheap group-by.
        counted = linker.blocking_analysis.count_comparisons_from_blocking_rules(
            [rule], record_sample_proportion=1.0
        )
        if not counted[0]["marginal_comparison_count"]:
            skipped.append(rule)
            continue
        # Term frequencies change m little and EM runs several times faster without them.
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    return skipped


def _stable(p: float) -> float:
    """``p`` clamped and rounded to 10 significant digits: DuckDB sums in parallel, so the last bits
    of an estimate vary from run to run, and the same data and seed must give the same JSON."""
    return float(f"{_clamp(p):.10g}")


def parameters(linker: Linker, *, trained_on: int) -> dict[str, Any]:
    """The fitted model as plain JSON; levels without a Splink estimate get ``DEFAULT_PARAMETERS``.

    Splink keeps, per level, the median of the m estimates of the EM runs that trained it, so a
    field's m no longer sum to exactly 1; they are rescaled to sum to 1 (as are u after defaults).
    """
    model = linker.misc.save_model_to_json()
    fields: dict[str, dict[str, dict[str, float]]] = {}
    defaults_used: list[str] = []
    for comparison in model["comparisons"]:
        field = comparison["output_column_name"]
        if field not in LEVELS:
            continue
        estimated = {
            level["label_for_charts"]: level
            for level in comparison["comparison_levels"]
            if not level.get("is_null_level")
        }
        raw: dict[str, dict[str, float]] = {name: {} for name in LEVELS[field]}
        for key, source in (("m", "m_probability"), ("u", "u_probability")):
            for name in LEVELS[field]:
                value = estimated.get(name, {}).get(source)
                if not isinstance(value, int | float):
                    value = DEFAULT_PARAMETERS[field][name][key]
                    defaults_used.append(f"{field}.{name}.{key}")
                raw[name][key] = _clamp(value)
        totals = {key: sum(values[key] for values in raw.values()) for key in ("m", "u")}
        fields[field] = {
            name: {key: _stable(values[key] / totals[key]) for key in ("m", "u")}
            for name, values in raw.items()
        }
    return {
        "engine": f"splink {splink.__version__}",
        "prior": _stable(model["probability_two_random_records_match"]),
        "fields": fields,
        "trained_on": trained_on,
        "defaults_used": defaults_used,
    }


def train(
    records: list[dict[str, Any]], *, seed: int = 1, u_max_pairs: float = U_MAX_PAIRS
) -> dict[str, Any]:
    """Fellegi–Sunter parameters for ``records`` (normalised), estimated by Splink; JSON-serialisable.

    Every level of ``LEVELS`` is present, m and u within [1e-6, 1 - 1e-6]. The same records and
    seed give the same result. ``u_max_pairs`` bounds the random pairs for u (about 3 µs each).
    """
    linker = splink_linker(records)
    skipped = fit(linker, seed=seed, u_max_pairs=u_max_pairs)
    return {**parameters(linker, trained_on=len(records)), "skipped_rules": skipped}
