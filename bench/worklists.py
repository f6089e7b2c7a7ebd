"""Chronic worklists: every task from scratch (set-based) beside a naive per-patient Python loop
over the same rule set, and the update after one follow-up, in one run.

For each backend (SQLite always; PostgreSQL when ``DATABASE_URL`` points at it), in a child
process on a temporary database:

1. ``migrate``; ``generate_county --residents 0`` (institutions, staff, logins); the residents
   through the demo's fast path (``demo.residents.insert_residents``: COPY on PostgreSQL); the
   registries, a year of follow-ups, elderly services and screenings through ``demo.chronic``
   with the prevalence scaled to the issue's county (about 60 k hypertension, 20 k diabetes,
   50 k elderly served among 400 k residents);
2. ``tasks.rebuild``: drop the open tasks, one grouped query per programme, bulk insert;
3. ``tasks.rebuild_naive``: the same rules applied one patient at a time in a Python loop
   (``want_for``: a few queries per patient), checked to give exactly the same open tasks;
4. one follow-up: ``services.follow_up_record`` (validation, classification, the row, the task
   closed and the next one opened, the audit row) for random patients of the township doctor,
   median and max of ``--updates`` calls; and ``tasks.refresh`` alone.

Run: ``.venv/bin/python bench/worklists.py [--residents 400000] [--updates 25]``. Writes
``bench/results/worklists.md``. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "worklists.md"
SEED = 2024
PG_DB = "ygt_bench_worklists"
#: Registry prevalence multiplier that gives the issue's county (~60 k / 20 k of 400 k).
SCALE = 1.55


def _naive(tasks: Any, today: Any, reference: set[Any], sample: int) -> dict[str, Any]:
    """The naive loop over every candidate, calling the per-patient rule (a few queries each) for
    one patient in ``sample`` (patient id divisible by it). Its time is the walk over every
    candidate plus the rule calls scaled by ``sample``; its tasks must equal the rebuild's for
    the same patients."""
    t = time.perf_counter()
    walked = sum(1 for _c in tasks.naive_candidates(today))
    walk_s = time.perf_counter() - t
    t = time.perf_counter()
    wants, called = set(), 0
    for patient, programme in tasks.naive_candidates(today):
        if patient.pk % sample:
            continue
        called += 1
        if (w := tasks.want_for(patient, programme, today)) is not None:
            wants.add(w.key())
    loop_s = time.perf_counter() - t
    expected = {k for k in reference if k[0] % sample == 0}
    return {
        "naive_candidates": walked,
        "naive_called": called,
        "naive_measured_s": loop_s,
        "naive_s": walk_s + (loop_s - walk_s) * sample,
        "naive_sample": sample,
        "same": wants == expected,
    }


def _child(db_url: str, residents: int, updates: int, sample: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import random

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from yigongti.accounts.models import User
    from yigongti.chronic import services, tasks
    from yigongti.chronic.choices import Programme
    from yigongti.chronic.models import ElderlyService, Enrollment, FollowUp, Task
    from yigongti.chronic.signals import chronic_changed
    from yigongti.core.access import scope_for
    from yigongti.demo import chronic as demo_chronic
    from yigongti.demo.residents import insert_residents, village_refs
    from yigongti.institutions.models import Institution

    out: dict[str, Any] = {"backend": connection.vendor, "residents": residents}
    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    t = time.perf_counter()
    call_command("generate_county", residents=0, seed=SEED, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    with transaction.atomic():
        insert_residents(village_refs(SEED), total=residents, seed=SEED, as_of=today)
    out["residents_s"] = time.perf_counter() - t

    class County:
        demo_village = Institution.objects.get(code__endswith="101001", kind="village_clinic")

    t = time.perf_counter()
    with transaction.atomic():
        out["demo"] = demo_chronic.generate(County, seed=SEED, as_of=today, residents=residents, scale=SCALE)  # type: ignore[arg-type]
    out["demo_s"] = time.perf_counter() - t
    out["hypertension"] = Enrollment.objects.filter(programme=Programme.HYPERTENSION).count()
    out["diabetes"] = Enrollment.objects.filter(programme=Programme.DIABETES).count()
    out["elderly_served"] = ElderlyService.objects.values("patient_id").distinct().count()
    out["follow_ups"] = FollowUp.objects.count()

    t = time.perf_counter()
    out["open_tasks"] = tasks.rebuild(today)
    out["rebuild_s"] = time.perf_counter() - t
    reference = tasks.open_keys()
    out.update(_naive(tasks, today, reference, sample))

    user = User.objects.get(username="township_doctor")
    villages = scope_for(user).resident_village_ids
    entries = list(Enrollment.objects.filter(village_id__in=villages).select_related("patient"))
    rng = random.Random(7)
    picked = rng.sample(entries, min(2 * updates, len(entries)))
    record_ms: list[float] = []
    bare_ms: list[float] = []
    refresh_ms: list[float] = []
    receivers = list(chronic_changed.receivers)
    for i, entry in enumerate(picked):
        data: dict[str, Any] = {"sbp": rng.choice([128, 146, 184]), "dbp": 84}
        if entry.programme == Programme.DIABETES:
            data["fasting_glucose"] = "7.4"
        bare = i % 2 == 1  # every other call without the indicators' receivers: the refresh's share
        if bare:
            chronic_changed.receivers = []
        t = time.perf_counter()
        try:
            services.follow_up_record(actor=user, enrollment=entry, visit_date=today, **data)
        finally:
            chronic_changed.receivers = receivers
            chronic_changed.sender_receivers_cache.clear()
        (bare_ms if bare else record_ms).append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        with transaction.atomic():
            tasks.refresh(entry.patient, entry.programme, today=today)
        refresh_ms.append((time.perf_counter() - t) * 1000)
    out["receivers"] = len(receivers)
    out["record_ms"] = (statistics.median(record_ms), max(record_ms))
    out["bare_ms"] = (statistics.median(bare_ms), max(bare_ms))
    out["refresh_ms"] = (statistics.median(refresh_ms), max(refresh_ms))
    out["open_after"] = Task.objects.filter(status="open").count()
    return out


def _run_child(db_url: str, residents: int, updates: int, sample: int, var: str) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": db_url, "YGT_VAR_DIR": var}
    cmd = [
        sys.executable,
        str(Path(__file__)),
        "--child",
        db_url,
        "--residents",
        str(residents),
        "--updates",
        str(updates),
        "--naive-sample",
        str(sample),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# Chronic worklists: from scratch vs a naive per-patient loop, and one follow-up",
        "",
        f"`bench/worklists.py --residents {args.residents} --updates {args.updates}` on {platform.node()} "
        f"({os.cpu_count()} cores, shared with two other engineers' builds and tests: compare the ratios "
        "within one run, not the seconds across runs).",
        "",
        "| backend | residents | hypertension | diabetes | elderly served | follow-ups | open tasks "
        "| from scratch, set-based (s) | naive loop (s) | ratio | same tasks (sampled patients) "
        "| one follow-up p50 / max (ms) | without indicator refresh p50 / max (ms) "
        "| task refresh alone p50 / max (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['residents']:,} | {r['hypertension']:,} | {r['diabetes']:,} | "
            f"{r['elderly_served']:,} | {r['follow_ups']:,} | {r['open_tasks']:,} | {r['rebuild_s']:.1f} | "
            f"{r['naive_s']:.1f} | {r['naive_s'] / r['rebuild_s']:.1f}× | "
            f"{'yes' if r['same'] else 'NO'} ({r['naive_called']:,}) | "
            f"{r['record_ms'][0]:.1f} / {r['record_ms'][1]:.1f} | "
            f"{r['bare_ms'][0]:.1f} / {r['bare_ms'][1]:.1f} | "
            f"{r['refresh_ms'][0]:.1f} / {r['refresh_ms'][1]:.1f} |"
        )
    lines += [
        "",
        "Setup per backend (not part of the comparison): residents "
        + ", ".join(f"{r['backend']} {r['residents_s']:.0f} s" for r in results)
        + "; registries, follow-ups, elderly services and screenings "
        + ", ".join(f"{r['backend']} {r['demo_s']:.0f} s" for r in results)
        + ".",
        "",
        "*Naive loop*: "
        + "; ".join(
            f"{r['backend']} walked all {r['naive_candidates']:,} (patient, programme) candidates and called "
            f"the per-patient rule for 1 in {r['naive_sample']} ({r['naive_called']:,} calls, "
            f"{r['naive_measured_s']:.1f} s measured); the figure is the walk plus the calls "
            f"× {r['naive_sample']}"
            for r in results
        )
        + ".",
        "",
        "*From scratch* is `manage.py chronic_tasks_rebuild` (`tasks.rebuild`): the open tasks are dropped "
        "and regenerated with one grouped query per programme (latest record per patient by a correlated "
        "subquery on an index) and set-based inserts (COPY on PostgreSQL, executemany on SQLite). "
        "*Naive loop* applies the same `RULESET` per patient "
        "(`tasks.want_for`), as a nightly per-patient job would. *One follow-up* is the whole "
        "`services.follow_up_record` call a doctor makes (validation, classification, row, task closed and "
        "the next one opened, audit row, and `chronic_changed` sent inside the transaction; with the "
        "indicators app's receivers connected it also recomputes the village's indicator cells), "
        "for 2 × `--updates` random patients of the township doctor, alternately with and without those "
        "receivers: the worklist is kept current per patient, never by a county scan.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=400_000)
    parser.add_argument("--updates", type=int, default=25)
    parser.add_argument("--child", default="")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=0,
        help="call the naive per-patient rule for one patient in N (default: 1 up to 50 k residents, else 8)",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    sample = args.naive_sample or (1 if args.residents <= 50_000 else 8)
    if args.child:
        print(json.dumps(_child(args.child, args.residents, args.updates, sample), default=str))
        return
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-worklists-") as var:
        if args.only != "postgresql":
            results.append(
                _run_child(f"sqlite:///{var}/bench.sqlite3", args.residents, args.updates, sample, var)
            )
            RESULTS.write_text(_table(results, args), encoding="utf-8")  # kept if the next backend fails
        pg = os.environ.get("DATABASE_URL", "")
        if pg.startswith("postgres") and args.only != "sqlite":
            url = pg.rsplit("/", 1)[0] + "/" + PG_DB
            _pg_admin(pg, f"DROP DATABASE IF EXISTS {PG_DB}")
            _pg_admin(pg, f"CREATE DATABASE {PG_DB}")
            try:
                results.append(_run_child(url, args.residents, args.updates, sample, var))
            finally:
                _pg_admin(pg, f"DROP DATABASE IF EXISTS {PG_DB}")
    text = _table(results, args)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
