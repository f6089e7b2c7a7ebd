"""The master patient index in the database: configuration, candidate lookup, name frequencies.

Candidates are found only through the indexed blocking columns of ``Registration`` (one
``UNION ALL`` of index probes, each capped at ``BLOCK_LIMIT`` rows so that a blocking value
shared by thousands, such as a clinic's phone or 1 January, cannot flood the comparison), then
every registration of those residents is compared. Nothing here scans a table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection

from ..models import MatchConfig, Patient, Registration
from . import engine
from .engine import DEFAULT_FIELDS, Features, Model, ProbeKeys

#: Rows read per blocking value; more candidates than this share one key only for junk values.
BLOCK_LIMIT = 60

#: Residents compared at most per probe (the ones hit by most blocking keys first).
MAX_CANDIDATES = 80

#: Default thresholds (match probability): at or above LINK links, at or above REVIEW asks a person.
LINK_THRESHOLD = 0.99
REVIEW_THRESHOLD = 0.5

#: Weights before the first ``train_matcher`` run (version 0): ``engine.DEFAULT_FIELDS``.
DEFAULT_PARAMETERS: dict[str, Any] = {"engine": "default", "prior": 2e-5, "fields": DEFAULT_FIELDS}


@dataclass(frozen=True)
class ActiveConfig:
    """The configuration in force: its row (None for the built-in defaults) and scoring model."""

    row: MatchConfig | None
    model: Model

    @property
    def version(self) -> int:
        return self.row.version if self.row is not None else 0


def active_config() -> ActiveConfig:
    row = MatchConfig.objects.order_by("-version").first()
    if row is None:
        return ActiveConfig(None, Model(DEFAULT_PARAMETERS, link=LINK_THRESHOLD, review=REVIEW_THRESHOLD))
    return ActiveConfig(row, Model(row.parameters, link=row.link_threshold, review=row.review_threshold))


REG_TABLE = Registration._meta.db_table

#: The blocking columns of ``Registration`` (``engine.StoredKeys``), probed by ``ProbeKeys``.
KEY_COLUMNS = ("id_number", "id_tail", "phone", "name_key", "birth_key")


#: Probe subqueries per statement (SQLite allows 500 terms in a compound SELECT).
PROBES_PER_STATEMENT = 400
#: PostgreSQL: more probes than this (a batch's) go through one LATERAL join per column; fewer
#: (one registration's) are a UNION ALL of limited subqueries, which is quicker for a handful.
LATERAL_FROM = 32


def probe_rows(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """The residents behind each (blocking column, value): one row per registration, at most
    ``BLOCK_LIMIT`` read per value (whichever the index gives first), for one probe or a whole
    batch's: a ``UNION ALL`` of limited subqueries, or on PostgreSQL for a batch's hundreds of
    values, per column one LATERAL join over them (each an index probe that stops at the limit),
    since hundreds of subqueries took longer to plan than to run."""
    found: dict[tuple[str, str], list[int]] = {key: [] for key in keys}
    pairs = list(found)
    with connection.cursor() as cursor:
        for sql, params in _probe_statements(pairs):
            cursor.execute(sql, params)
            for number, patient_id in cursor.fetchall():
                found[pairs[number]].append(patient_id)
    return found


def _probe_statements(pairs: list[tuple[str, str]]) -> list[tuple[str, list[Any]]]:
    """Statements answering (position in ``pairs``, patient id); constant table and column names,
    the values as parameters."""
    if connection.vendor == "postgresql" and len(pairs) > LATERAL_FROM:
        parts, params = [], []
        for column in KEY_COLUMNS:
            numbers = [i for i, (col, _v) in enumerate(pairs) if col == column]
            if not numbers:
                continue
            parts.append(
                f"SELECT p.n, r.patient_id FROM unnest(%s::int[], %s::text[]) AS p(n, v) "  # noqa: S608
                f"CROSS JOIN LATERAL (SELECT patient_id FROM {REG_TABLE} WHERE {column} = p.v "
                f"LIMIT {BLOCK_LIMIT}) r"
            )
            params += [numbers, [pairs[i][1] for i in numbers]]
        return [(" UNION ALL ".join(parts), params)] if parts else []
    statements = []
    for start in range(0, len(pairs), PROBES_PER_STATEMENT):
        chunk = list(enumerate(pairs))[start : start + PROBES_PER_STATEMENT]
        sql = " UNION ALL ".join(
            f"SELECT {i}, patient_id FROM (SELECT patient_id FROM {REG_TABLE} "  # noqa: S608
            f"WHERE {column} = %s LIMIT {BLOCK_LIMIT}) b"
            for i, (column, _value) in chunk
        )
        statements.append((sql, [value for _i, (_column, value) in chunk]))
    return statements


def key_values(keys: ProbeKeys) -> list[tuple[str, str]]:
    """A probe's (column, value) pairs, in order, repeats kept (each counts, as a row would)."""
    return [(column, value) for column in KEY_COLUMNS for value in getattr(keys, column)]


def ranked_candidates(counts: dict[int, int]) -> list[int]:
    """Residents by blocking keys shared, most first (ties by id), at most ``MAX_CANDIDATES``."""
    return sorted(counts, key=lambda pid: (-counts[pid], pid))[:MAX_CANDIDATES]


def candidate_ids(keys: ProbeKeys) -> list[int]:
    """Residents sharing a blocking key with the probe, the most keys shared first."""
    pairs = key_values(keys)
    rows = probe_rows(pairs)
    counts: dict[int, int] = {}
    for pair in pairs:
        for patient_id in rows[pair]:
            counts[patient_id] = counts.get(patient_id, 0) + 1
    return ranked_candidates(counts)


def registration_features(row: Any) -> Features:
    """Features of a stored registration (a model instance or a ``values()`` dict)."""
    get: Any = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    entered = get("id_number") or (get("id_number_entered") if get("id_problem") == "check" else "")
    village = get("village__code") if isinstance(row, dict) else (row.village.code if row.village_id else "")
    return engine.features(
        name=get("name"),
        sex=get("sex"),
        birth_date=get("birth_date"),
        id_number=entered or "",
        phone=get("phone"),
        village=village or "",
    )


FEATURE_FIELDS = (
    "patient_id",
    "name",
    "sex",
    "birth_date",
    "id_number",
    "id_number_entered",
    "id_problem",
    "phone",
    "village__code",
)


def stored_features(patient_ids: list[int]) -> list[tuple[int, Features]]:
    """(patient_id, features) of every registration of the given residents."""
    if not patient_ids:
        return []
    rows = Registration.objects.filter(patient_id__in=patient_ids).values(*FEATURE_FIELDS)
    return [(r["patient_id"], registration_features(r)) for r in rows]


NAME_SHARE_CACHE_SECONDS = 300


RESIDENT_TOTAL_CACHE = "ygt:mpi:resident_total"


def resident_total() -> int:
    """Residents in the index, cached for a few minutes (a count of a million rows is not free)."""
    total = cache.get(RESIDENT_TOTAL_CACHE)
    if total is None:
        total = Patient.objects.filter(merged_into__isnull=True).count()
        cache.set(RESIDENT_TOTAL_CACHE, total, NAME_SHARE_CACHE_SECONDS)
    return max(int(total), 1)


def forget_resident_total() -> None:
    """After a merge, unmerge or import: the next match counts again."""
    cache.delete(RESIDENT_TOTAL_CACHE)


def name_count(name: str) -> int:
    """Residents with exactly this name (one indexed count), for the term-frequency adjustment."""
    return Patient.objects.filter(name=name).count()


@dataclass(frozen=True)
class MatchResult:
    features: Features
    decision: str
    candidates: list[engine.Candidate]
    config: ActiveConfig


def match(probe: Features, *, config: ActiveConfig | None = None, limit: int = 5) -> MatchResult:
    """Score ``probe`` against the index and decide linked / review / new (writes nothing)."""
    config = config or active_config()
    ids = candidate_ids(engine.probe_keys(probe))
    cache_local: dict[str, float | None] = {}

    def share(name: str) -> float | None:
        if name not in cache_local:
            cache_local[name] = config.model.name_share(name_count(name), resident_total()) if name else None
        return cache_local[name]

    ranked = engine.best_per_patient(config.model, probe, stored_features(ids), share)
    decision = engine.decision_for(config.model, ranked)
    return MatchResult(probe, decision, ranked[:limit], config)
