"""The master patient index in the database: configuration, candidate lookup, name frequencies.

Candidates are found only through the indexed blocking columns of ``Registration`` (one
``UNION ALL`` of index probes, each capped at ``BLOCK_LIMIT`` rows so that a blocking value
shared by thousands, such as a clinic's phone or 1 January, cannot flood the comparison), then
every registration of those residents is compared. Nothing here scans a table.
"""

from __future__ import annotations

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

_COLUMNS = ("id_number", "id_tail", "phone", "name_key", "birth_key")


def _block_sql(keys: ProbeKeys) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for column in _COLUMNS:
        for value in getattr(keys, column):
            # constant table and column names; the value is a parameter
            probe = f"SELECT patient_id FROM {REG_TABLE} WHERE {column} = %s LIMIT {BLOCK_LIMIT}"  # noqa: S608
            parts.append(f"SELECT * FROM ({probe}) b")  # noqa: S608
            params.append(value)
    return " UNION ALL ".join(parts), params


def candidate_ids(keys: ProbeKeys) -> list[int]:
    """Residents sharing a blocking key with the probe, the most keys shared first."""
    sql, params = _block_sql(keys)
    if not sql:
        return []
    counts: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for (patient_id,) in cursor.fetchall():
            counts[patient_id] = counts.get(patient_id, 0) + 1
    ranked = sorted(counts, key=lambda pid: (-counts[pid], pid))
    return ranked[:MAX_CANDIDATES]


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
