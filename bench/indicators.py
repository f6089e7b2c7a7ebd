"""The indicator catalogue on a demo county-year, beside DuckDB computing the same catalogue.

For each database (SQLite always; PostgreSQL when ``DATABASE_URL`` points at one) a worker
process builds the demo county once in a fresh temporary database (``generate_county``, about
6.2 encounters per resident a year: 400 k residents give ~2.5 M encounters), then measures:

- **from scratch**: ``engine.rebuild()``, one cube query per source and attribution (the database
  does the counting; the big sources in pieces, one connection per core), every cell written;
- **dashboard**: the consortium office's ``GET /api/indicators?period=<year>&by=institution`` and
  the dashboard page ``/indicators/?period=<year>``, through the Django test client (median);
  they read only the cell table;
- **one day**: the encounters of the last day copied to the next day, inserted with the
  encounters app's bulk path and applied through ``encounters_changed`` (the incremental
  update of the touched cells), timed apart; afterwards the incremental cells must equal a
  second computation from scratch;
- **DuckDB** (the reference): the same source rows exported (untimed) to CSV and loaded into
  an in-memory DuckDB; every definition of the catalogue compiled to DuckDB SQL by this file
  (not by the app) and run; its cells must equal ours one for one, and the year's values per
  institution and for the consortium computed from DuckDB's rows must equal the API's. The
  from-scratch and DuckDB runs alternate (after the day, over the same rows), so that a busy
  spell of the shared machine falls on both alike.

The table shows the medians and the ratio from scratch ÷ DuckDB (target ≤ 3), the dashboard
(target ≤ 300 ms) and whether every value is identical.

``YGT_BENCH_KEEP=DIR`` keeps each county (SQLite file and PostgreSQL database named after the
size) for the next run, which then measures without building; ``YGT_BENCH_STAGE=generate``
only builds them. A 400 k county takes minutes to build, and the build is not a figure, so it
can run while the machine is busy and the measurement later on an idle machine.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "indicators.md"
SEED = 2024
AS_OF = dt.date(2025, 6, 30)
NULL = "\\N"


def _settings() -> tuple[int, int]:
    return int(os.environ.get("YGT_BENCH_RESIDENTS", "400000")), int(os.environ.get("YGT_BENCH_REPEATS", "3"))


# --- DuckDB: the reference, compiled here from the same definitions --------------------------------

#: Source tables as exported: name -> (columns with DuckDB types, ORM model label).
TABLES: dict[str, tuple[dict[str, str], str]] = {
    "inst": (
        {"id": "BIGINT", "level": "VARCHAR", "kind": "VARCHAR", "code": "VARCHAR"},
        "institutions.Institution",
    ),
    "dept": (
        {"id": "BIGINT", "institution_id": "BIGINT", "category": "VARCHAR", "beds": "BIGINT"},
        "institutions.Department",
    ),
    "staff": ({"id": "BIGINT", "profession": "VARCHAR"}, "institutions.Staff"),
    "pat": (
        {
            "id": "BIGINT",
            "village_id": "BIGINT",
            "health_record_number": "VARCHAR",
            "sex": "VARCHAR",
            "birth_date": "DATE",
            "merged_into_id": "BIGINT",
            "created_at": "TIMESTAMP",
        },
        "patients.Patient",
    ),
    "sec": (
        {
            "id": "BIGINT",
            "staff_id": "BIGINT",
            "host_id": "BIGINT",
            "home_id": "BIGINT",
            "start_date": "DATE",
            "end_date": "DATE",
            "ended_early_on": "DATE",
        },
        "institutions.Secondment",
    ),
    "pop": (
        {"id": "BIGINT", "institution_id": "BIGINT", "year": "BIGINT", "permanent_residents": "BIGINT"},
        "indicators.PopulationReference",
    ),
    "enc": (
        {
            "id": "BIGINT",
            "patient_id": "BIGINT",
            "institution_id": "BIGINT",
            "department_id": "BIGINT",
            "kind": "VARCHAR",
            "started_at": "TIMESTAMP",
            "admitted_on": "DATE",
            "discharged_on": "DATE",
            "bed_days": "BIGINT",
            "is_tcm": "BOOLEAN",
            "total_cost": "DECIMAL(12,2)",
            "insurance_paid": "DECIMAL(12,2)",
            "out_of_pocket": "DECIMAL(12,2)",
            "diagnosis_code": "VARCHAR",
            "residence_county_code": "VARCHAR",
            "in_county": "BOOLEAN",
            "source": "VARCHAR",
        },
        "encounters.Encounter",
    ),
    "ref": (
        {
            "id": "BIGINT",
            "patient_id": "BIGINT",
            "from_institution_id": "BIGINT",
            "to_institution_id": "BIGINT",
            "direction": "VARCHAR",
            "status": "VARCHAR",
            "green_channel_id": "BIGINT",
            "urgency": "VARCHAR",
            "diagnosis_code": "VARCHAR",
            "submitted_at": "TIMESTAMP",
            "accepted_at": "TIMESTAMP",
            "arrived_at": "TIMESTAMP",
            "completed_at": "TIMESTAMP",
            "closed_at": "TIMESTAMP",
        },
        "referrals.Referral",
    ),
    # the chronic programmes' and family doctors' sources; a path through other tables
    # (patient__village_id) is exported as a column of its own
    "enr": (
        {
            "id": "BIGINT",
            "patient_id": "BIGINT",
            "village_id": "BIGINT",
            "programme": "VARCHAR",
            "risk_level": "VARCHAR",
            "is_active": "BOOLEAN",
            "last_on_target": "BOOLEAN",
            "last_visit_date": "DATE",
            "enrolled_on": "DATE",
            "closed_on": "DATE",
        },
        "chronic.Enrollment",
    ),
    "fup": (
        {
            "id": "BIGINT",
            "patient_id": "BIGINT",
            "enrollment_id": "BIGINT",
            "village_id": "BIGINT",
            "programme": "VARCHAR",
            "classification": "VARCHAR",
            "on_target": "BOOLEAN",
            "visit_in_year": "BIGINT",
            "visit_date": "DATE",
            "until": "DATE",
            "enrollment__closed_on": "DATE",
        },
        "chronic.FollowUp",
    ),
    "eld": (
        {
            "id": "BIGINT",
            "patient_id": "BIGINT",
            "village_id": "BIGINT",
            "service_date": "DATE",
            "first_in_year": "BOOLEAN",
            "self_care_band": "VARCHAR",
        },
        "chronic.ElderlyService",
    ),
    "cref": (
        {
            "id": "BIGINT",
            "institution_id": "BIGINT",
            "year": "BIGINT",
            "programme": "VARCHAR",
            "estimated_patients": "BIGINT",
            "quota": "BIGINT",
            "residents_35": "BIGINT",
        },
        "chronic.ProgrammeReference",
    ),
    "fdc": (
        {
            "id": "BIGINT",
            "patient_id": "BIGINT",
            "status": "VARCHAR",
            "is_priority": "BOOLEAN",
            "priority_groups": "VARCHAR",  # the JSON list as text
            "channel": "VARCHAR",
            "start_date": "DATE",
            "end_date": "DATE",
            "fee": "DECIMAL(12,2)",
            "resident_fee": "DECIMAL(12,2)",
            "patient__village_id": "BIGINT",
            "patient__merged_into_id": "BIGINT",
            "team__institution_id": "BIGINT",
        },
        "familydoctor.Contract",
    ),
    "fdt": (
        {
            "id": "BIGINT",
            "status": "VARCHAR",
            "due_on": "DATE",
            "done_on": "DATE",
            "village_id": "BIGINT",
            "contract__team__institution_id": "BIGINT",
        },
        "familydoctor.Task",
    ),
    "fdv": (
        {
            "id": "BIGINT",
            "status": "VARCHAR",
            "home_bed_id": "BIGINT",
            "scheduled_on": "DATE",
            "done_on": "DATE",
            "contract__patient__village_id": "BIGINT",
            "contract__team__institution_id": "BIGINT",
        },
        "familydoctor.HomeVisit",
    ),
}
SOURCE_TABLE = {
    "encounters": "enc",
    "referrals": "ref",
    "residents": "pat",
    "secondments": "sec",
    "beds": "dept",
    "population": "pop",
    "chronic_registry": "enr",
    "chronic_follow_ups": "fup",
    "chronic_standing": "fup",
    "elderly_services": "eld",
    "chronic_reference": "cref",
    "fd_contracts": "fdc",
    "fd_tasks": "fdt",
    "fd_home_visits": "fdv",
}
#: Each source's base condition (``Source.base``), in DuckDB SQL.
BASE = {
    "residents": "b.merged_into_id IS NULL",
    "referrals": "b.submitted_at IS NOT NULL",
    "fd_contracts": 'b."patient__merged_into_id" IS NULL',
}
#: A foreign-key prefix of an ORM path -> (table it points to, column holding the key).
JOINS = {
    "institution": ("inst", "institution_id"),
    "from_institution": ("inst", "from_institution_id"),
    "to_institution": ("inst", "to_institution_id"),
    "village": ("inst", "village_id"),
    "host": ("inst", "host_id"),
    "home": ("inst", "home_id"),
    "department": ("dept", "department_id"),
    "staff": ("staff", "staff_id"),
}


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def duck_sql(definition: Any, county_codes: list[str]) -> str:
    """One grouped DuckDB query for one definition: (inst, month, total)."""
    spec = definition.spec
    base = SOURCE_TABLE[definition.source]
    joins: dict[str, str] = {}

    def column(path: str) -> str:
        if path in TABLES[base][0]:  # a column of the table, or a path exported as one
            return f'b."{path}"'
        prefix, name = path.rsplit("__", 1)
        # a link: one hop named in JOINS, or a longer path to an institution exported as a column
        table, key = JOINS.get(prefix, ("inst", f'"{prefix}_id"'))
        joins[prefix] = f"LEFT JOIN {table} AS j_{prefix} ON j_{prefix}.id = b.{key}"
        return f"j_{prefix}.{name}"

    conditions = [BASE[definition.source]] if definition.source in BASE else []
    for name, op, value in definition.filters:
        col = column(spec.fields[name].path)
        if value == "$county":
            value = county_codes
        if spec.fields[name].kind == "date" and op != "isnull":
            value = f"DATE '{value}'"
        many = isinstance(value, list)
        lit = (
            "(" + ", ".join(_literal(v) for v in value) + ")"
            if many
            else (value if isinstance(value, str) and value.startswith("DATE ") else _literal(value))
        )
        if op == "isnull":
            conditions.append(f"{col} IS {'' if value else 'NOT '}NULL")
        elif op in ("in", "not_in") or (op in ("eq", "ne") and many):
            neg = op in ("not_in", "ne")
            conditions.append(f"({col} NOT IN {lit} OR {col} IS NULL)" if neg else f"{col} IN {lit}")
        elif op == "ne":
            conditions.append(f"({col} <> {lit} OR {col} IS NULL)")
        elif op == "startswith":
            conditions.append(f"starts_with({col}, {lit})")
        elif op == "contains":  # one code in a JSON list: parsed here, not matched as text
            conditions.append(f"list_contains(CAST(json({col}) AS VARCHAR[]), {lit})")
        else:
            sym = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            conditions.append(f"{col} {sym} {lit}")
    inst = column(spec.institutions[definition.attribute_to])
    if spec.timing in ("flow", "cumulative", "interval"):
        date_col = column(spec.date_field)
        kind = TABLES[base][0].get(spec.date_field or "", "")
        shifted = f"{date_col} + INTERVAL 8 HOUR" if kind == "TIMESTAMP" else date_col  # stored in UTC
        month = f"CAST(date_trunc('month', {shifted}) AS DATE)"
    elif spec.timing == "annual":
        month = f"make_date(CAST({column(spec.date_field or 'year')} AS INTEGER), 1, 1)"
    else:
        month = "CAST(NULL AS DATE)"
    if definition.measure == "count":
        measure = "COUNT(*)"
    elif definition.measure == "sum":
        measure = f"SUM({column(definition.field)})"
    else:
        measure = f"COUNT(DISTINCT {column(spec.distincts[definition.field])})"
    where = " AND ".join(conditions) or "TRUE"
    # an interval source's rows stop standing in the month of their earliest end (minus there);
    # its row count counts the rows started, ended or not
    stopping = spec.timing == "interval" and (bool(definition.filters) or definition.measure != "count")
    end = ""
    for path in spec.end_fields if stopping else ():
        other = column(path)
        end = other if not end else _earliest(end, other)
    source = f"FROM {base} AS b {' '.join(joins.values())}"
    total = f"CAST(COALESCE({measure}, 0) AS DECIMAL(38,2))"
    starts = (
        f"SELECT '{definition.key}' AS part, {inst} AS inst, {month} AS month, {total} AS total "
        f"{source} WHERE {where} GROUP BY ALL"
    )
    if not stopping:
        return starts
    stops = (
        f"SELECT '{definition.key}' AS part, {inst} AS inst, CAST(date_trunc('month', {end}) AS DATE) "
        f"AS month, -{total} AS total {source} WHERE {where} AND {end} IS NOT NULL GROUP BY ALL"
    )
    return f"SELECT part, inst, month, SUM(total) AS total FROM ({starts} UNION ALL {stops}) GROUP BY ALL"


def _earliest(a: str, b: str) -> str:
    return f"(CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} < {b} THEN {a} ELSE {b} END)"


def _export(directory: Path) -> dict[str, Path]:
    """Every source table to CSV through the ORM (untimed): the rows DuckDB reads."""
    from django.apps import apps

    files = {}
    for table, (columns, label) in TABLES.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        path = directory / f"{table}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in model._default_manager.order_by().values_list(*columns).iterator(chunk_size=20_000):
                writer.writerow([_csv(v) for v in row])
        files[table] = path
    return files


def _csv(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # a JSONField's list
        return json.dumps(value)
    return value


def duckdb_load(files: dict[str, Path]) -> Any:
    """The exported CSVs as DuckDB tables in memory (not timed)."""
    import duckdb

    con = duckdb.connect()
    for table, path in files.items():
        columns = TABLES[table][0]
        types = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', header=true, nullstr='{NULL}', "
            f"columns={{{types}}}, quote='\"', escape='\"')"
        )
    return con


def duckdb_cells(con: Any, definitions_: dict[str, Any], county_codes: list[str]) -> float:
    """Compute every part into the table ``cells`` (timed); returns the seconds."""
    tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    queries = [duck_sql(d, county_codes) for d in definitions_.values() if SOURCE_TABLE[d.source] in tables]
    con.execute("DROP TABLE IF EXISTS cells")
    started = time.perf_counter()
    con.execute("CREATE TABLE cells AS " + " UNION ALL ".join(queries))
    return time.perf_counter() - started


# --- worker (runs inside Django, against the temporary database) -----------------------------------


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _one_day() -> tuple[int, float, float]:
    """Copy the last day's encounters to the next day; insert, then apply (timed apart)."""
    from django.db import transaction

    from yigongti.encounters.bulk import insert_rows
    from yigongti.encounters.models import Encounter
    from yigongti.encounters.rules import COLUMNS
    from yigongti.encounters.signals import encounters_changed, month_key
    from yigongti.indicators.definitions import SHANGHAI

    newest = Encounter.objects.order_by("-started_at").values_list("started_at", flat=True).first()
    last = newest.astimezone(SHANGHAI).date() if newest else AS_OF
    day = dt.datetime.combine(last, dt.time(), SHANGHAI)
    rows: list[dict[str, Any]] = []
    for values in Encounter.objects.filter(
        started_at__gte=day, started_at__lt=day + dt.timedelta(days=1)
    ).values(*COLUMNS):
        values = dict(values)
        values["started_at"] += dt.timedelta(days=1)
        for name in ("admitted_on", "discharged_on"):
            if values[name] is not None:
                values[name] += dt.timedelta(days=1)
        # named after the new day: a kept county measured again gets another day, not a clash
        values["source_system"] = "bench"
        values["external_id"] = f"day-{last + dt.timedelta(days=1)}-{len(rows)}"
        rows.append(values)
    keys = {month_key(r["institution_id"], r["started_at"]) for r in rows}
    with transaction.atomic():
        started = time.perf_counter()
        insert_rows(rows)
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        encounters_changed.send(sender=Encounter, keys=keys)
        applied = time.perf_counter() - started
    return len(rows), inserted, applied


def _duck_values(
    con: Any, indicators: list[Any], parts: dict[int, Any], period: Any, scope: Any
) -> dict[tuple[str, str], Any]:
    """Values per institution and for the consortium from DuckDB's cells, placed in the period
    by each source's timing and turned into values by the app's rule (``selectors.value_of``)."""
    from yigongti.indicators import selectors

    timing = {
        d.key: d.spec.timing
        for p in parts.values()
        for d in (p.num, p.den, p.num_presence, p.den_presence)
        if d
    }
    by_inst: dict[str, dict[str, Decimal]] = {}
    total: dict[str, Decimal] = {}
    for part, inst, month, value in con.execute("SELECT part, inst, month, total FROM cells").fetchall():
        kind = timing.get(part)
        if kind is None or (inst is not None and inst not in scope.institution_ids):
            continue
        if kind == "flow" and not (period.start <= month < period.end):
            continue
        if kind in ("cumulative", "interval") and not month < period.end:
            continue
        if kind == "annual" and month != dt.date(period.year, 1, 1):
            continue
        value = Decimal(value) * (period.days if kind == "capacity" else 1)
        group = str(inst) if inst is not None else selectors.UNKNOWN
        by_inst.setdefault(group, {})[part] = by_inst.get(group, {}).get(part, Decimal(0)) + value
        total[part] = total.get(part, Decimal(0)) + value
    out = {}
    for indicator in indicators:
        p = parts[indicator.pk]
        out[(indicator.code, "consortium")] = selectors.value_of(indicator, p, total)
        for inst, sums in by_inst.items():
            out[(indicator.code, inst)] = selectors.value_of(indicator, p, sums)
    return out


def worker() -> None:
    """Build the county, measure, and print one JSON line."""
    # bench/ is sys.path[0] for a script: a benchmark named like a package (bench/fhir.py)
    # would shadow it when the URL configuration imports that package.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from yigongti.accounts.models import Membership
    from yigongti.core.access import scope_for
    from yigongti.encounters.models import Encounter
    from yigongti.indicators import engine, periods, selectors
    from yigongti.institutions.models import Consortium, Institution

    total, repeats = _settings()
    call_command("migrate", verbosity=0)
    # A kept county (YGT_BENCH_KEEP) is built once and measured later: its generation, which is
    # not a figure, can then run while the machine is busy and the measurement when it is idle.
    built = Path(os.environ["YGT_VAR_DIR"]) / f"generated-{total}.json"
    if Institution.objects.exists() and built.exists():
        generated, steps = json.loads(built.read_text(encoding="utf-8"))
    else:
        started = time.perf_counter()
        out = io.StringIO()
        call_command(
            "generate_county",
            f"--as-of={AS_OF.isoformat()}",
            residents=total,
            seed=SEED,
            verbosity=1,
            stdout=out,
        )
        generated = time.perf_counter() - started
        summary = next((line for line in out.getvalue().splitlines() if line.startswith("Generated")), "")
        steps = {
            name: float(sec) for name, sec in re.findall(r"(\w+) ([\d.]+) s\b", summary.rsplit("(", 1)[-1])
        }
        built.write_text(json.dumps([generated, steps]), encoding="utf-8")
    if os.environ.get("YGT_BENCH_STAGE") == "generate":
        print(json.dumps({"generated": generated, "steps": steps}))
        return
    encounters = Encounter.objects.count()

    engine.rebuild()  # the cells of this code's catalogue (a kept county holds an earlier run's)
    cells = engine.snapshot()

    office = (
        Membership.objects.filter(role="consortium_office", is_active=True).select_related("user").first()
    )
    assert office is not None
    client = Client()
    client.force_login(office.user)
    year = str(AS_OF.year)
    api, page = [], []
    for i in range(repeats + 2):
        t_api = _timed(lambda: client.get("/api/indicators", {"period": year, "by": "institution"}))
        t_page = _timed(lambda: client.get("/indicators/", {"period": year}))
        if i >= 2:  # the first two warm the caches
            api.append(t_api)
            page.append(t_page)
    api_rows = client.get("/api/indicators", {"period": year, "by": "institution"}).json()
    consortium_rows = client.get("/api/indicators", {"period": year, "by": "consortium"}).json()

    day_rows, inserted, applied = _one_day()
    incremental = engine.snapshot()
    engine.rebuild()
    incremental_equal = engine.snapshot() == incremental

    # DuckDB over the same rows (after the day, so the same state as our cells), loaded once
    wanted = engine.wanted_definitions()
    codes = sorted(set(Consortium.objects.values_list("county_code", flat=True)))
    with tempfile.TemporaryDirectory(prefix="ygt-duck-") as tmp:
        con = duckdb_load(_export(Path(tmp)))
    # From scratch and DuckDB taken in turn, so that both meet the shared machine in the same
    # state (timed apart, a busy spell fell on one of them). One untimed rebuild first reads the
    # source tables into the page cache, as DuckDB's rows are in memory before its clock starts
    # (this machine reclaims its page cache within minutes: a county measured cold would be
    # timed reading the disk).
    engine.rebuild()
    scratch, duck_runs = [], []
    for _ in range(repeats):
        scratch.append(_timed(engine.rebuild))
        duck_runs.append(duckdb_cells(con, wanted, codes))
    duck = {
        (p, i, m): Decimal(v).quantize(Decimal("0.01"))
        for p, i, m, v in con.execute(
            "SELECT part, inst, month, total FROM cells WHERE total <> 0"
        ).fetchall()
    }
    ours = engine.snapshot()
    cells_equal = duck == ours
    cell_diff = len(set(duck.items()) ^ set(ours.items()))

    # values: DuckDB's cells through the same rules, against the API's answers (before the day:
    # recompute the API rows now, after it)
    api_rows = client.get("/api/indicators", {"period": year, "by": "institution"}).json()
    consortium_rows = client.get("/api/indicators", {"period": year, "by": "consortium"}).json()
    scope = scope_for(office.user, office)
    indicators = selectors.catalogue()
    parts = {i.pk: selectors.parts_of(i) for i in indicators}
    reference = _duck_values(con, indicators, parts, periods.parse(year), scope)
    compared = mismatched = 0
    for row in api_rows:
        ref = reference.get((row["code"], row["group"]))
        if ref is None:
            continue
        compared += 1
        mismatched += (None if ref.value is None else float(ref.value)) != row["value"]
    for row in consortium_rows:
        ref = reference[(row["code"], "consortium")]
        compared += 1
        mismatched += (None if ref.value is None else float(ref.value)) != row["value"]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
        else:
            cursor.execute("SELECT sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
    import duckdb

    print(
        json.dumps(
            {
                "database": version,
                "duckdb": duckdb.__version__,
                "residents": total,
                "encounters": encounters,
                "generated": generated,
                "steps": steps,
                "parts": len(wanted),
                "cells": len(cells),
                "scratch": scratch,
                "api": api,
                "page": page,
                "day_rows": day_rows,
                "inserted": inserted,
                "applied": applied,
                "incremental_equal": incremental_equal,
                "duck": duck_runs,
                "cells_equal": cells_equal,
                "cell_diff": cell_diff,
                "values_compared": compared,
                "values_mismatched": mismatched,
            }
        )
    )


# --- driver -----------------------------------------------------------------------------------------


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


def _kept(database: str) -> Path | None:
    """``YGT_BENCH_KEEP=DIR``: keep each database's county in DIR (and, on PostgreSQL, in a
    database named after the size) and measure it again on the next run instead of rebuilding."""
    keep = os.environ.get("YGT_BENCH_KEEP")
    if not keep:
        return None
    path = Path(keep) / f"{database}-{_settings()[0]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _measure_sqlite() -> dict[str, Any]:
    kept = _kept("sqlite")
    tmp = str(kept) if kept else tempfile.mkdtemp(prefix="ygt-bench-")
    try:
        return _run_worker(f"sqlite:///{tmp}/bench.sqlite3", tmp)
    finally:
        if not kept:
            shutil.rmtree(tmp, ignore_errors=True)


def _measure_postgres(url: str) -> dict[str, Any]:
    import psycopg

    parts = urlsplit(url)
    admin = psycopg.connect(urlunsplit(("postgresql", parts.netloc, "/postgres", "", "")), autocommit=True)
    kept = _kept("postgres")
    name = f"ygt_bench_ind_keep_{_settings()[0]}" if kept else f"ygt_bench_ind_{os.getpid()}"
    tmp = str(kept) if kept else tempfile.mkdtemp(prefix="ygt-bench-")
    try:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
        return _run_worker(urlunsplit(("postgres", parts.netloc, f"/{name}", "", "")), tmp)
    finally:
        if not kept:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(tmp, ignore_errors=True)
        admin.close()


def _row(r: dict[str, Any]) -> str:
    scratch, duck = statistics.median(r["scratch"]), statistics.median(r["duck"])
    api, page = statistics.median(r["api"]) * 1000, statistics.median(r["page"]) * 1000
    same = "yes" if r["cells_equal"] and not r["values_mismatched"] and r["incremental_equal"] else "NO"
    return (
        f"| {r['database']} | {r['residents']:,} | {r['encounters']:,} | {scratch:.2f} | {duck:.2f} | "
        f"{scratch / duck:.1f}{' (MISS)' if scratch / duck > 3 else ''} | "
        f"{api:.0f}{' (MISS)' if api > 300 else ''} | "
        f"{page:.0f} | {r['day_rows']:,} | {r['inserted']:.2f} | {r['applied']:.2f} | "
        f"{same} ({r['values_compared']} values, {r['cell_diff']} cells differ) |"
    )


def main() -> None:
    total, repeats = _settings()
    results = [_measure_sqlite()]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        results.append(_measure_postgres(url))
    if os.environ.get("YGT_BENCH_STAGE") == "generate":  # with YGT_BENCH_KEEP: build, measure later
        print(f"Counties of {total:,} residents kept in {os.environ.get('YGT_BENCH_KEEP')}: {results}")
        return
    first = results[0]
    lines = [
        f"Indicator catalogue ({first['parts']} parts: numerators, denominators and row counts) on the demo "
        f"county built with {total:,} residents (as of {AS_OF}), beside DuckDB {first['duckdb']} "
        f"computing the same catalogue over the same rows in the same run; medians of {repeats} runs.",
        "",
        "| database | residents | encounters | from scratch s | DuckDB s | scratch ÷ DuckDB (≤ 3) "
        "| dashboard API ms (≤ 300) | dashboard page ms | one day: rows | insert s | apply s "
        "| identical to DuckDB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(_row(r) for r in results),
        "",
        "From scratch: `engine.rebuild()`, one cube query per (source, attribution), the big ones in "
        "pieces on one connection per core, every cell written, after one untimed rebuild that "
        "brings the source tables into the page cache. "
        "DuckDB: the same definitions compiled to DuckDB SQL by the benchmark, over the same rows "
        "exported to CSV and loaded into memory before the clock starts (loading is not timed); "
        "the two are run in turn, one of each per round, so that both meet the shared machine in "
        "the same state. "
        "Dashboard: the consortium office's `GET /api/indicators?period=<year>&by=institution` and "
        "`/indicators/?period=<year>` through the Django test client, reading only the cell table. "
        "One day: the last day's encounters copied to the next day, inserted by `encounters.bulk."
        "insert_rows` and applied by the `encounters_changed` receiver (recomputes the touched cells); "
        "afterwards the cells equal a rebuild. Identical: every cell equals DuckDB's, and every value "
        "per institution and for the consortium equals the one computed from DuckDB's cells.",
        "Every run (s), from scratch / DuckDB: "
        + "; ".join(
            f"{r['database'].split(' (')[0]} "
            + ", ".join(f"{x:.2f}" for x in r["scratch"])
            + " / "
            + ", ".join(f"{x:.2f}" for x in r["duck"])
            for r in results
        )
        + ".",
        "Generation of the county (not part of the figures): "
        + "; ".join(
            f"{r['database']} {r['generated']:.0f} s ("
            + ", ".join(f"{k} {v:.0f}" for k, v in r.get("steps", {}).items())
            + ")"
            for r in results
        )
        + ".",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other work, Python "
        f"{platform.python_version()}, measured {dt.date.today():%Y-%m-%d}.",  # noqa: DTZ011 - a label
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
