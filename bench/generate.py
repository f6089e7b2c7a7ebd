"""Demo county generation rate against the raw-SQL limit, measured in the same run.

For each database (SQLite always; PostgreSQL when ``DATABASE_URL`` points at one) a worker
process builds the county structure in a fresh temporary database, then, ``YGT_BENCH_REPEATS``
times, on emptied resident tables:

- **generator**: ``insert_residents`` exactly as ``generate_county`` runs it: Python generation
  of households, names, ID numbers, then ``executemany`` (SQLite) or COPY (PostgreSQL);
- **generator, bulk_create**: the same through model instances and ``bulk_create`` (the plain
  ORM path), to show what the ORM costs;
- **raw limit**: the same rows, built beforehand and untimed, inserted with a plain DB-API
  ``executemany`` (SQLite) or ``COPY`` (PostgreSQL): no Python generation, no ORM;
- **generation only**: the Python generator with no database at all.

The table shows medians and the ratio generator ÷ raw limit (1.0 would mean generation is free).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "generate.md"
SEED = 2024
AS_OF = dt.date(2025, 6, 30)


def _settings() -> tuple[int, int]:
    return int(os.environ.get("YGT_BENCH_RESIDENTS", "100000")), int(os.environ.get("YGT_BENCH_REPEATS", "3"))


# --- worker (runs inside Django, against the temporary database) --------------------------------


def _clear() -> None:
    from django.db import connection, transaction

    from yigongti.patients.models import Household, Patient

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {Patient._meta.db_table}, {Household._meta.db_table}")
        else:
            Patient.objects.all().delete()
            Household.objects.all().delete()


def _raw_rows(villages: list[Any], total: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The generator's rows as final tuples with explicit household keys (built untimed)."""
    from django.utils import timezone

    from yigongti.demo.residents import resident_chunks

    now = timezone.now()
    next_id = 10_000_000  # explicit keys far above any the table's sequence has handed out
    households: list[tuple[Any, ...]] = []
    residents: list[tuple[Any, ...]] = []
    for chunk_households, chunk_residents in resident_chunks(villages, total=total, seed=SEED, as_of=AS_OF):
        base = next_id + len(households)
        households.extend(
            (base + i, h.code, h.village_id, h.address, now, now) for i, h in enumerate(chunk_households)
        )
        residents.extend(
            (
                r.health_record_number,
                r.id_number,
                r.name,
                r.sex,
                r.birth_date,
                r.phone,
                None if r.household is None else base + r.household,
                r.relation_to_head,
                r.village_id,
                r.address,
                now,
                now,
            )
            for r in chunk_residents
        )
    return households, residents


HOUSEHOLD_COLUMNS = "id, code, village_id, address, created_at, updated_at"
PATIENT_COLUMNS = (
    "health_record_number, id_number, name, sex, birth_date, phone, household_id, "
    "relation_to_head, village_id, address, created_at, updated_at"
)


def _raw_insert(households: list[tuple[Any, ...]], residents: list[tuple[Any, ...]]) -> None:
    from django.db import connection, transaction

    from yigongti.patients.models import Household, Patient

    hh_table, pt_table = Household._meta.db_table, Patient._meta.db_table
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor: Any = wrapper.cursor
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {hh_table} ({HOUSEHOLD_COLUMNS}) FROM STDIN") as copy:
                for row in households:
                    copy.write_row(row)
            with cursor.copy(f"COPY {pt_table} ({PATIENT_COLUMNS}) FROM STDIN") as copy:
                for row in residents:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {hh_table} ({HOUSEHOLD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", households
            )
            marks = ", ".join("?" * 12)
            cursor.executemany(f"INSERT INTO {pt_table} ({PATIENT_COLUMNS}) VALUES ({marks})", residents)


def worker() -> None:
    """Measure one database (the one in DATABASE_URL) and print one JSON line."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from yigongti.demo.residents import insert_residents, resident_chunks, village_refs
    from yigongti.demo.structure import StructureBuilder
    from yigongti.patients.models import Patient

    total, repeats = _settings()
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        StructureBuilder(seed=SEED, as_of=AS_OF).build()
    villages = village_refs(SEED)
    households, residents = _raw_rows(villages, total)
    timings: dict[str, list[float]] = {"generator": [], "bulk_create": [], "raw": [], "python": []}
    for _ in range(repeats):
        started = time.perf_counter()
        for _chunk in resident_chunks(villages, total=total, seed=SEED, as_of=AS_OF):
            pass
        timings["python"].append(time.perf_counter() - started)

        for key, method in (("generator", "auto"), ("bulk_create", "bulk_create")):
            _clear()
            started = time.perf_counter()
            with transaction.atomic():
                insert_residents(villages, total=total, seed=SEED, as_of=AS_OF, method=method)
            timings[key].append(time.perf_counter() - started)
            if Patient.objects.count() != total:
                raise SystemExit(f"generator ({method}) wrote the wrong number of residents")

        _clear()
        started = time.perf_counter()
        _raw_insert(households, residents)
        timings["raw"].append(time.perf_counter() - started)
        if Patient.objects.count() != total:
            raise SystemExit("raw insert wrote the wrong number of residents")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
        else:
            cursor.execute("SELECT sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
    print(
        json.dumps(
            {"database": version, "residents": total, "households": len(households), "timings": timings}
        )
    )


# --- driver -------------------------------------------------------------------------------------


def _run_worker(database_url: str, var_dir: str) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": database_url, "YGT_VAR_DIR": var_dir}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _postgres_admin(url: str) -> tuple[Any, str]:
    """A connection to the server's maintenance database, and the server part of the URL."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    return psycopg.connect(admin, autocommit=True), parts.netloc


def _measure_sqlite() -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="ygt-bench-")
    try:
        return _run_worker(f"sqlite:///{tmp}/bench.sqlite3", tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure_postgres(url: str) -> dict[str, Any]:
    name = f"ygt_bench_{os.getpid()}"
    admin, netloc = _postgres_admin(url)
    tmp = tempfile.mkdtemp(prefix="ygt-bench-")
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        return _run_worker(urlunsplit(("postgres", netloc, f"/{name}", "", "")), tmp)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _row(result: dict[str, Any]) -> str:
    t = {k: statistics.median(v) for k, v in result["timings"].items()}
    n = result["residents"]
    return (
        f"| {result['database']} | {n:,} | {t['generator']:.2f} | {n / t['generator']:,.0f} | "
        f"{t['raw']:.2f} | {n / t['raw']:,.0f} | {t['generator'] / t['raw']:.2f} | "
        f"{t['bulk_create']:.2f} | {t['python']:.2f} |"
    )


def main() -> None:
    total, repeats = _settings()
    results = [_measure_sqlite()]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        results.append(_measure_postgres(url))
    lines = [
        f"Demo county generation: {total:,} residents in households, median of {repeats} runs.",
        "",
        "| database | residents | generator s | generator residents/s | raw limit s | raw residents/s "
        "| generator ÷ raw | generator via bulk_create s | Python generation only s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(r) for r in results),
        "",
        "Raw limit: the same pre-built rows (households and residents) inserted with a plain "
        "DB-API `executemany` (SQLite) or `COPY` (PostgreSQL), no generation and no ORM. "
        "Absolute times move with the machine's load; the ratio, measured in the same run, is the "
        "figure to compare.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"measured {dt.date.today():%Y-%m-%d}.",  # noqa: DTZ011 - a label, not an instant
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        main()
