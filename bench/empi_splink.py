"""Splink 5 on the labelled registrations: the accuracy and cost the master patient index must meet.

``run_splink(rows)`` does with Splink (DuckDB, in memory) what the index does with its own engine:
normalise the registrations (``empi_data.normalise``), fit the model exactly as
``training.train`` does, score the candidate pairs of the prediction blocking rules, cluster
(connected components) at the auto-link threshold and at the lower review threshold, and score
the clusters pairwise against the truth. It also times Splink's answer for one new registration
against everything loaded (``linker.inference.predict_between``), the real-time question.

Peak memory is the growth of the process's high-water resident set (``ru_maxrss``): DuckDB
allocates outside Python, where tracemalloc does not look.

Run: ``.venv/bin/python bench/empi_splink.py [registrations ...]`` (default 100000). Not part of
``bench/run.py`` (no ``main``): it is the reference the index's own benchmark sets itself beside.
``--rules tight`` swaps the blocking rule on the first half of the ID number (area and birth
year: at a million registrations blocks of thousands, billions of pairs) for two narrower rules
that find the same one-character typos but a transposition across positions 14/15.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR.parent) not in sys.path:  # run as a script: the project beside its benchmarks
    sys.path.insert(0, str(BENCH_DIR.parent))

import empi_data  # noqa: E402 - bench/ is a folder of scripts, found through the script's own path
from splink import DuckDBAPI  # noqa: E402

from yigongti.patients.matching import training  # noqa: E402

#: The prediction rules with the ID's first half (area + birth year) split into narrower rules.
TIGHT_RULES: tuple[str, ...] = (
    *(r for r in training.PREDICTION_BLOCKING_RULES if not r.startswith("substr(l.id_number, 1, 10)")),
    "substr(l.id_number, 1, 14) = substr(r.id_number, 1, 14)",
    "substr(l.id_number, 1, 10) = substr(r.id_number, 1, 10)"
    " AND substr(l.id_number, 15, 4) = substr(r.id_number, 15, 4)",
)
RULES = {"prediction": training.PREDICTION_BLOCKING_RULES, "tight": TIGHT_RULES}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _clusters(linker: Any, predictions: Any, threshold: float) -> dict[str, Any]:
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    pairs = clusters.as_duckdbpyrelation().project("unique_id, cluster_id").fetchall()
    clusters.drop_table_from_database_and_remove_from_cache()
    return dict(pairs)


def hard_false_pairs(rows: list[dict[str, Any]], predicted: dict[str, Any]) -> dict[str, int]:
    """Wrongly joined pairs of two look-alike records, by group (``twin``, ``namesake``, ``father_son``).

    A pair whose two persons are look-alikes of different groups counts under ``mixed``.
    """
    records: Counter[tuple[Any, Any, str]] = Counter()  # (cluster, person, group)
    for row in rows:
        if row["hard"]:
            records[(predicted.get(row["source_id"], row["source_id"]), row["truth"], row["hard"])] += 1
    by_cluster: dict[Any, list[tuple[str, int]]] = {}
    for (cluster, _, group), count in records.items():
        by_cluster.setdefault(cluster, []).append((group, count))
    false: Counter[str] = Counter()
    for persons in by_cluster.values():
        for i, (group_a, count_a) in enumerate(persons):
            for group_b, count_b in persons[i + 1 :]:
                false[group_a if group_a == group_b else "mixed"] += count_a * count_b
    return dict(false)


def _single_record_ms(
    linker: Any, db_api: DuckDBAPI, records: list[dict[str, Any]], threshold: float, probes: int
) -> float:
    """Median time of Splink's answer for one new registration: block, score against all, fetch."""
    linker.table_management.compute_tf_table("name")
    existing = db_api.register("registrations", table_name="existing_registrations")
    step = max(1, len(records) // probes)
    times: list[float] = []
    for i in range(probes):
        probe = dict(records[(i * step) % len(records)], unique_id=f"probe-{i}")
        started = time.perf_counter()
        new = db_api.register(training.records_table([probe]))
        found = linker.inference.predict_between(
            existing, new, threshold_match_probability=threshold, warning_mode="never"
        )
        found.as_record_list()
        times.append((time.perf_counter() - started) * 1000)
        found.drop_table_from_database_and_remove_from_cache()
        new.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    return statistics.median(times)


def run_splink(
    rows: list[dict[str, Any]],
    *,
    threshold: float = 0.9,
    review_threshold: float = 0.5,
    seed: int = 1,
    blocking_rules: Sequence[str] = training.PREDICTION_BLOCKING_RULES,
    probes: int = 20,
) -> dict[str, Any]:
    """Normalise, fit, predict, cluster and score ``rows`` (from ``empi_data.generate``) with Splink.

    Returns pairwise precision/recall/F1 at ``threshold`` (auto-link) and at ``review_threshold``
    (what a reviewer would at least be shown), seconds per step, the growth of peak RSS and the
    median milliseconds of one new registration's prediction against all of ``rows``.
    """
    rss_before = _rss_mb()
    started = time.perf_counter()
    records = [empi_data.normalise(row) for row in rows]
    table = training.records_table(records)
    normalise_s = time.perf_counter() - started

    started = time.perf_counter()
    db_api = DuckDBAPI(":memory:")
    settings = training.splink_settings(blocking_rules=blocking_rules)
    linker = training.splink_linker(table, settings, db_api=db_api)
    skipped = training.fit(linker, seed=seed)
    fitted = training.parameters(linker, trained_on=len(records))
    train_s = time.perf_counter() - started

    started = time.perf_counter()
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    candidate_pairs = int(blocked.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0])
    block_s = time.perf_counter() - started
    predictions = linker.inference.predict(threshold_match_probability=review_threshold, warning_mode="never")
    auto = _clusters(linker, predictions, threshold)
    review = _clusters(linker, predictions, review_threshold)
    predict_s = time.perf_counter() - started

    truth = empi_data.truth_map(rows)
    at_threshold = empi_data.pairwise_metrics(truth, auto)
    at_review = empi_data.pairwise_metrics(truth, review)
    single_ms = _single_record_ms(linker, db_api, records, review_threshold, probes)
    return {
        "registrations": len(rows),
        "persons": len(set(truth.values())),
        "rules": list(blocking_rules),
        "threshold": threshold,
        "review_threshold": review_threshold,
        "prior": fitted["prior"],
        "defaults_used": fitted["defaults_used"],
        "skipped_rules": skipped,
        "candidate_pairs": candidate_pairs,
        "normalise_s": normalise_s,
        "train_s": train_s,
        "block_s": block_s,
        "predict_cluster_s": predict_s,
        "precision": at_threshold["precision"],
        "recall": at_threshold["recall"],
        "f1": at_threshold["f1"],
        "true_pairs": at_threshold["true_pairs"],
        "hard_false_pairs": hard_false_pairs(rows, auto),  # by look-alike group
        "false_pairs": at_threshold["predicted_pairs"] - at_threshold["correct_pairs"],
        "review_recall": at_review["recall"],
        "review_precision": at_review["precision"],
        "single_record_ms": single_ms,
        "peak_rss_growth_mb": _rss_mb() - rss_before,
        "peak_rss_mb": _rss_mb(),
    }


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| registrations | persons | candidate pairs | train s | block s | predict+cluster s | precision "
        "| recall | F1 | false pairs (look-alikes) | recall at review | one record ms | peak RSS +MB |",
        "|" + "---:|" * 13,
    ]
    for r in results:
        lines.append(
            f"| {r['registrations']:,} | {r['persons']:,} | {r['candidate_pairs']:,} | {r['train_s']:.1f} "
            f"| {r['block_s']:.1f} | {r['predict_cluster_s']:.1f} | {r['precision']:.4f} | {r['recall']:.4f} "
            f"| {r['f1']:.4f} | {r['false_pairs']:,} ({sum(r['hard_false_pairs'].values()):,}) "
            f"| {r['review_recall']:.4f} "
            f"| {r['single_record_ms']:.0f} | {r['peak_rss_growth_mb']:,.0f} |"
        )
    return "\n".join(lines)


def _cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--review", type=float, default=0.5)
    parser.add_argument("--rules", choices=sorted(RULES), default="prediction")
    args = parser.parse_args(argv)
    results = []
    for size in args.sizes:
        started = time.perf_counter()
        rows = empi_data.generate(size, seed=args.seed)
        generate_s = time.perf_counter() - started
        result = run_splink(
            rows, threshold=args.threshold, review_threshold=args.review, blocking_rules=RULES[args.rules]
        )
        print(
            f"{size:,} registrations: generated in {generate_s:.1f} s, "
            f"normalised in {result['normalise_s']:.1f} s, prior {result['prior']:.3g}, "
            f"defaults used {result['defaults_used'] or 'none'}",
            flush=True,
        )
        results.append(result)
        del rows
    print(f"\nSplink {training.splink.__version__}, rules {args.rules}, auto-link at p >= {args.threshold}, "
          f"review at p >= {args.review}\n")  # fmt: skip
    print(_table(results))
    for r in results:
        print(f"\n{r['registrations']:,}: false pairs between look-alikes by group: {r['hard_false_pairs']}")


if __name__ == "__main__":
    _cli(sys.argv[1:])
