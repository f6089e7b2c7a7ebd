"""The master patient index against its targets, beside Splink 5 and the raw SQL floor, in one run.

For each size N (registrations; default 100,000 and 1,000,000, ``--quick``: 20,000 only):

1. a fresh PostgreSQL database ``ygt_bench_empi``: ``migrate``, ``generate_county --residents 0``
   (the institutions only), then ``empi_data.generate(N)`` with the county's villages (code,
   address), written as CSV without the truth;
2. ``train_matcher --from-file CSV`` (Splink EM on the file) and ``import_residents CSV
   --links-out LINKS --no-progress``, each in its own process: wall time, rows/s, and peak memory
   as that child's own ``ru_maxrss`` (``os.wait4``);
3. from LINKS and the truth: pairwise precision, recall and F1 of the index as the import left
   it (cluster = the resident each row was filed under; a ``review`` row is filed under a new
   resident of its own, which later rows may link to), the recall if every open review were
   confirmed (each review registration's resident merged into its best candidate), the review
   queue (open ``MatchReview`` rows, registrations in it and their share), the rejected rows, and
   the false pairs by look-alike group (``twin``, ``namesake``, ``father_son``; ``mixed`` for two
   look-alikes of different groups, ``other`` when one of the two is an ordinary record);
4. Splink 5 (DuckDB, ``empi_splink.run_splink`` with the tight blocking rules) on the same rows at
   the same thresholds as the trained ``MatchConfig``, in its own process, under a time budget.

Then real-time latency, once, against a database of ``--latency-residents`` residents (default
1,000,000, built by ``generate_county``, which also registers 5 % duplicates and trains; the
database ``ygt_bench_empi_rt`` is kept and reused while it holds them; ``--rebuild-latency-db``
builds it again): ``index.match(features)`` in-process and ``POST /api/patients/match`` over a
keep-alive HTTP connection to gunicorn, for probes that are half re-written copies of stored
residents (``empi_data``'s clerk error model) and half new people; beside them the raw SQL floor,
the blocking ``UNION ALL`` query alone (``index.candidate_ids``), timed on the same probes.

Times are medians (p50) and 99th percentiles of single calls; the machine has 2 cores and other
processes may run, so compare the ratios within one run. Nothing here asserts a time: the targets
are printed with PASS or MISS beside the measured value.

Run: ``.venv/bin/python bench/empi.py [100000,1000000] [--quick] [--latency county|import|skip]``;
through ``make bench`` / ``bench/run.py empi`` the arguments come from ``YGT_BENCH_EMPI`` (e.g.
``YGT_BENCH_EMPI="--quick"``). PostgreSQL: ``YGT_BENCH_PG`` (default
``postgres://postgres@127.0.0.1:5432``; the user needs CREATEDB). Var files go to
``YGT_VAR_DIR`` (default ``/tmp/bench-empi-var``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "empi.md"
PYTHON = sys.executable
SEED = 2024
PROBE_SEED = 77
DB_IMPORT = "ygt_bench_empi"
DB_LATENCY = "ygt_bench_empi_rt"
GROUPS = ("twin", "namesake", "father_son")
#: ``generate_county`` arguments of the latency database: a fixed ``--as-of`` so that the same
#: residents are built on any day.
LATENCY_AS_OF = "2025-06-30"

TARGETS = {
    "precision": 0.995,
    "recall": 0.97,
    "review_recall": 0.99,
    "p99_ms": 30.0,
    "batch_1m_s": 120.0,
}


def _log(message: str) -> None:
    print(f"[empi {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- child processes ----------------------------------------------------------------------------


@dataclass
class Child:
    returncode: int | None  # None: killed at the time budget
    seconds: float
    maxrss_mb: float
    cpu_s: float  # the child's own user + system CPU (robust to other load; not PostgreSQL's)
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _server() -> str:
    return os.environ.get("YGT_BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def _env(db: str) -> dict[str, str]:
    var_dir = os.environ.get("YGT_VAR_DIR", "/tmp/bench-empi-var")  # noqa: S108 - the brief's place
    Path(var_dir).mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATABASE_URL": f"{_server()}/{db}",
        "YGT_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "PYTHONUNBUFFERED": "1",
    }


def run_child(cmd: list[str], env: dict[str, str], timeout: float) -> Child:
    """Run ``cmd``; its own peak RSS from ``os.wait4``; killed (process group) after ``timeout`` s."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            cmd, env=env, cwd=ROOT, stdout=out, stderr=err, start_new_session=True
        )
        code: int | None = None
        rss = cpu = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
                break
            if time.perf_counter() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                _pid, _status, usage = os.wait4(proc.pid, 0)
                rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        proc.returncode = code if code is not None else -9  # reaped above; keep Popen quiet
        out.seek(0)
        err.seek(0)
        return Child(code, seconds, rss, cpu, out.read(), err.read())


def manage(db: str, *args: str, timeout: float = 3600) -> Child:
    child = run_child([PYTHON, "manage.py", *args], _env(db), timeout)
    if child.returncode is not None and child.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{child.stderr[-4000:]}")
    return child


def worker(db: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    child = run_child([PYTHON, str(Path(__file__).resolve()), "--worker", *args], _env(db), timeout)
    if not child.ok:
        raise SystemExit(f"worker {args[0]} failed:\n{child.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _admin() -> Any:
    import psycopg

    return psycopg.connect(f"{_server()}/postgres", autocommit=True)


def fresh_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def database_exists(name: str) -> bool:
    with _admin() as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


# --- Django-side workers (python bench/empi.py --worker MODE ...) ------------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()


def worker_villages() -> dict[str, Any]:
    from yigongti.institutions.choices import InstitutionKind
    from yigongti.institutions.models import Institution

    rows = (
        Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC)
        .exclude(address="")
        .order_by("code")
        .values_list("code", "address")
    )
    return {"villages": [list(r) for r in rows]}


def worker_state() -> dict[str, Any]:
    """Open reviews (source_id, registration's resident, candidate, probability), counts, config."""
    from django.db.models import Count

    from yigongti.patients.matching.index import active_config
    from yigongti.patients.models import MatchReview, Patient

    reviews = MatchReview.objects.filter(status="open").values_list(
        "registration__local_number", "patient_id", "candidate_id", "probability"
    )
    config = active_config()
    return {
        "reviews": [list(r) for r in reviews.order_by()],
        "review_status": dict(MatchReview.objects.values_list("status").annotate(n=Count("pk")).order_by()),
        "residents": Patient.objects.filter(merged_into__isnull=True).count(),
        "config_version": config.version,
        "link": config.model.link,
        "review": config.model.review,
    }


def _build_lock() -> Path:
    """Exists while a run builds the latency database (its transaction is not committed yet)."""
    return Path(_env(DB_LATENCY)["YGT_VAR_DIR"]) / f"{DB_LATENCY}.building"


def worker_count() -> dict[str, Any]:
    from django.db import connection

    lock = _build_lock()
    deadline = time.time() + 3600
    while lock.exists() and time.time() < deadline:  # another run is building it: wait, don't rebuild
        time.sleep(5)

    from yigongti.patients.models import MatchConfig, Patient, Registration

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('patients_patient') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return {"residents": 0, "registrations": 0, "configs": 0}
    return {
        "residents": Patient.objects.count(),
        "registrations": Registration.objects.count(),
        "configs": MatchConfig.objects.count(),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _probes(count: int, villages: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Half stored residents re-written as a clerk would (empi_data's error model), half new people."""
    import random

    import empi_data

    from yigongti.patients.models import Patient

    rng = random.Random(PROBE_SEED)
    pks = list(Patient.objects.filter(merged_into__isnull=True).values_list("pk", flat=True).order_by())
    chosen = rng.sample(pks, min(count // 2, len(pks)))
    clerk = empi_data._Generator(PROBE_SEED, villages)  # the same clerk error model as the rows
    probes: list[dict[str, Any]] = []
    for p in Patient.objects.filter(pk__in=chosen).order_by("pk"):
        birth = p.birth_date or dt.date(1970, 1, 1)
        written_birth = clerk.written_date(birth) if p.birth_date else ""
        probes.append(
            {
                "kind": "copy",
                "source": p.pk,
                "name": clerk.written_name(p.name) or p.name,
                "sex": clerk.written_sex(p.sex),
                "birth_date": written_birth or None,
                "id_number": clerk.written_id(p.id_number, birth) if p.id_number else "",
                "phone": "" if rng.random() < 0.10 else p.phone,
                "address": "" if rng.random() < 0.03 else p.address,
            }
        )
    seen: set[int] = set()
    for row in empi_data.generate(count * 2, seed=PROBE_SEED + 1, villages=villages):
        if len(probes) >= count:
            break
        if row["truth"] in seen or not row["name"]:
            continue
        seen.add(row["truth"])
        probes.append(
            {
                "kind": "new",
                "source": None,
                "name": row["name"],
                "sex": row["sex"],
                "birth_date": row["birth_date"] or None,
                "id_number": row["id_number"],
                "phone": row["phone"],
                "address": row["address"],
            }
        )
    return probes


def worker_latency(count: str, rounds: str, probes_out: str) -> dict[str, Any]:
    """In-process ``index.match`` and the blocking query alone, on the same probes, interleaved."""
    from yigongti.core.errors import DomainError
    from yigongti.patients.matching import engine, index
    from yigongti.patients.matching.services import Entry, clean_entry

    villages = [tuple(v) for v in worker_villages()["villages"]]
    probes = _probes(int(count), villages)
    usable: list[tuple[dict[str, Any], engine.Features]] = []
    for probe in probes:
        birth = dt.date.fromisoformat(probe["birth_date"]) if probe["birth_date"] else None
        entry = Entry(
            name=probe["name"],
            sex=probe["sex"],
            birth_date=birth,
            id_number=probe["id_number"],
            phone=probe["phone"],
            address=probe["address"],
        )
        try:
            usable.append((probe, clean_entry(entry).features))
        except DomainError:
            continue
    Path(probes_out).write_text(json.dumps([p for p, _f in usable], ensure_ascii=False), encoding="utf-8")
    config = index.active_config()
    for _probe, f in usable[:20]:  # warm the connection, caches and the interpreter
        index.match(f, config=config)
    match_ms: list[float] = []
    sql_ms: list[float] = []
    decisions: Counter[str] = Counter()
    found = copies = 0
    candidates: list[int] = []
    for round_no in range(int(rounds)):
        for probe, f in usable:
            keys = engine.probe_keys(f)
            started = time.perf_counter()
            ids = index.candidate_ids(keys)
            sql_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            result = index.match(f, config=config)
            match_ms.append((time.perf_counter() - started) * 1000)
            if round_no == 0:
                candidates.append(len(ids))
                decisions[f"{probe['kind']}:{result.decision}"] += 1
                if probe["kind"] == "copy":
                    copies += 1
                    if result.candidates and result.candidates[0].patient_id == probe["source"]:
                        found += 1
    return {
        "probes": len(usable),
        "rounds": int(rounds),
        "config_version": config.version,
        "residents": index.resident_total(),
        "match_p50": _percentile(match_ms, 0.5),
        "match_p99": _percentile(match_ms, 0.99),
        "sql_p50": _percentile(sql_ms, 0.5),
        "sql_p99": _percentile(sql_ms, 0.99),
        "candidates_median": statistics.median(candidates) if candidates else 0,
        "decisions": dict(decisions),
        "copies_found": found,
        "copies": copies,
    }


def worker_splink(size: str, villages_file: str, threshold: str, review: str) -> dict[str, Any]:
    """Splink on the same rows (regenerated from the same seed and villages)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH_DIR))
    import empi_data
    import empi_splink

    villages = [tuple(v) for v in json.loads(Path(villages_file).read_text(encoding="utf-8"))]
    rows = empi_data.generate(int(size), seed=SEED, villages=villages)
    result = empi_splink.run_splink(
        rows,
        threshold=float(threshold),
        review_threshold=float(review),
        seed=1,
        blocking_rules=empi_splink.TIGHT_RULES,
    )
    result["splink_version"] = empi_splink.training.splink.__version__
    return result


WORKERS: dict[str, Any] = {
    "villages": worker_villages,
    "state": worker_state,
    "count": worker_count,
    "latency": worker_latency,
}


def run_worker(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "splink":
        result = worker_splink(*args)
    else:
        _django()
        result = WORKERS[mode](*args)
    print(json.dumps(result, ensure_ascii=False, default=str))


# --- scoring --------------------------------------------------------------------------------------


def read_links(path: Path) -> dict[str, tuple[int | None, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            r["source_id"]: (int(r["patient_id"]) if r["patient_id"] else None, r["decision"])
            for r in csv.DictReader(handle)
        }


def false_pairs_by_group(rows: list[dict[str, Any]], predicted: dict[str, Any]) -> dict[str, int]:
    """False pairs (two persons in one cluster) by look-alike group; counted per cluster, not listed."""
    cells: Counter[tuple[Any, Any]] = Counter()
    hard: dict[Any, str] = {}
    for row in rows:
        cluster = predicted.get(row["source_id"], ("singleton", row["source_id"]))
        cells[(cluster, row["truth"])] += 1
        hard[row["truth"]] = row["hard"]
    by_cluster: dict[Any, list[tuple[str, int]]] = defaultdict(list)
    for (cluster, person), n in cells.items():
        by_cluster[cluster].append((hard[person], n))
    out: Counter[str] = Counter()
    for persons in by_cluster.values():
        if len(persons) < 2:
            continue
        total = sum(n for _g, n in persons)
        false = (total * total - sum(n * n for _g, n in persons)) // 2
        hard_total = sum(n for g, n in persons if g)
        hard_false = (hard_total * hard_total - sum(n * n for g, n in persons if g)) // 2
        same = 0
        for group in GROUPS:
            s = sum(n for g, n in persons if g == group)
            q = sum(n * n for g, n in persons if g == group)
            out[group] += (s * s - q) // 2
            same += (s * s - q) // 2
        out["mixed"] += hard_false - same
        out["other"] += false - hard_false
    return dict(out)


class _Union:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def score_index(
    rows: list[dict[str, Any]], links: dict[str, tuple[int | None, str]], state: dict[str, Any]
) -> dict[str, Any]:
    import empi_data

    truth = empi_data.truth_map(rows)
    auto = {sid: pid for sid, (pid, _d) in links.items() if pid is not None}
    at_auto = empi_data.pairwise_metrics(truth, auto)
    best: dict[str, tuple[float, int]] = {}
    for source_id, _patient, candidate, probability in state["reviews"]:
        if source_id not in best or probability > best[source_id][0]:
            best[source_id] = (probability, candidate)
    union = _Union()
    for source_id, (_p, candidate) in best.items():
        pid = links.get(source_id, (None, ""))[0]
        if pid is not None:
            union.union(pid, candidate)
    merged = {sid: union.find(pid) for sid, pid in auto.items()}
    at_review = empi_data.pairwise_metrics(truth, merged)
    decisions = Counter(d for _pid, d in links.values())
    return {
        "precision": at_auto["precision"],
        "recall": at_auto["recall"],
        "f1": at_auto["f1"],
        "true_pairs": at_auto["true_pairs"],
        "false_pairs": at_auto["predicted_pairs"] - at_auto["correct_pairs"],
        "false_by_group": false_pairs_by_group(rows, auto),
        "review_recall": at_review["recall"],
        "review_precision": at_review["precision"],
        "review_rows": len(state["reviews"]),
        "review_registrations": len(best),
        "decisions": dict(decisions),
    }


# --- one size -------------------------------------------------------------------------------------


def _parse_import(stdout: str) -> float | None:
    """The importer's own seconds from its summary line (English or Chinese catalogue)."""
    found = re.search(r"rows in ([0-9.]+) s|用时([0-9.]+)秒", stdout)
    return float(found.group(1) or found.group(2)) if found else None


def run_size(size: int, work: Path, budgets: dict[str, float], run_splink: bool) -> dict[str, Any]:
    import empi_data

    _log(f"{size:,}: fresh database {DB_IMPORT}, migrate, generate_county --residents 0")
    fresh_database(DB_IMPORT)
    manage(DB_IMPORT, "migrate", "--noinput", "-v", "0")
    manage(DB_IMPORT, "generate_county", "--residents", "0", "--seed", str(SEED), "-v", "0")
    villages = [tuple(v) for v in worker(DB_IMPORT, "villages")["villages"]]
    villages_file = work / "villages.json"
    villages_file.write_text(json.dumps(villages, ensure_ascii=False), encoding="utf-8")

    started = time.perf_counter()
    rows = empi_data.generate(size, seed=SEED, villages=villages)
    generate_s = time.perf_counter() - started
    data = work / f"registrations-{size}.csv"
    links_path = work / f"links-{size}.csv"
    empi_data.write_csv(rows, data)
    persons = len({r["truth"] for r in rows})
    hard = Counter(r["hard"] for r in rows if r["hard"])
    _log(f"{size:,}: {persons:,} persons generated in {generate_s:.1f} s; train_matcher --from-file")

    result: dict[str, Any] = {
        "size": size,
        "persons": persons,
        "hard_rows": dict(hard),
        "villages": len(villages),
        "notes": [],
    }
    train = run_child(
        [PYTHON, "manage.py", "train_matcher", "--from-file", str(data)], _env(DB_IMPORT), budgets["train"]
    )
    if not train.ok:
        result["notes"].append(f"train_matcher did not finish (rc {train.returncode}, {train.seconds:.0f} s)")
        _log(train.stderr[-2000:])
        return result
    result["train_s"] = train.seconds
    result["train_rss_mb"] = train.maxrss_mb
    result["train_out"] = train.stdout.strip().splitlines()[0] if train.stdout.strip() else ""

    _log(f"{size:,}: import_residents (budget {budgets['import']:.0f} s)")
    imp = run_child(
        [PYTHON, "manage.py", "import_residents", str(data), "--links-out", str(links_path), "--no-progress"],
        _env(DB_IMPORT),
        budgets["import"],
    )
    if not imp.ok:
        result["notes"].append(
            f"import_residents did not finish within {budgets['import']:.0f} s "
            f"(rc {imp.returncode}); no accuracy figures for the index at this size"
        )
        _log(imp.stderr[-2000:])
    else:
        result["import_s"] = imp.seconds
        result["import_own_s"] = _parse_import(imp.stdout)
        result["import_rss_mb"] = imp.maxrss_mb
        result["import_cpu_s"] = imp.cpu_s
        result["import_out"] = imp.stdout.strip().splitlines()[0]
        state = worker(DB_IMPORT, "state")
        result["config"] = {k: state[k] for k in ("config_version", "link", "review")}
        result["residents_after"] = state["residents"]
        result["review_status"] = state["review_status"]
        result["index"] = score_index(rows, read_links(links_path), state)
        _log(f"{size:,}: index {json.dumps(result['index'], default=str)}")

    link = result.get("config", {}).get("link", 0.99)
    review = result.get("config", {}).get("review", 0.5)
    del rows
    if run_splink:
        _log(f"{size:,}: Splink at {link} / {review} (budget {budgets['splink']:.0f} s)")
        child = run_child(
            [PYTHON, str(Path(__file__).resolve()), "--worker", "splink", str(size), str(villages_file),
             str(link), str(review)],
            _env(DB_IMPORT),
            budgets["splink"],
        )  # fmt: skip
        if child.ok:
            splink = json.loads(child.stdout.strip().splitlines()[-1])
            splink["process_rss_mb"] = child.maxrss_mb
            splink["wall_s"] = child.seconds
            result["splink"] = splink
            _log(f"{size:,}: Splink done in {child.seconds:.0f} s")
        else:
            why = "exceeded its budget" if child.returncode is None else f"failed (rc {child.returncode})"
            result["notes"].append(
                f"Splink {why} after {child.seconds:.0f} s (budget {budgets['splink']:.0f} s, peak RSS "
                f"{child.maxrss_mb:,.0f} MB): no Splink figures at {size:,}"
            )
            _log(child.stderr[-2000:])
    for path in (data, links_path):
        path.unlink(missing_ok=True)
    return result


# --- latency --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _http_latency(db: str, probes_file: Path, rounds: int) -> dict[str, Any]:
    token = (
        manage(db, "create_token", "--user", "county_doctor", "--name", "bench")
        .stdout.strip()
        .splitlines()[-1]
    )
    port = _free_port()
    env = _env(db)
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-k", "gthread",
         "--workers", "1", "--threads", "2", "--keep-alive", "60", "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        probes = json.loads(probes_file.read_text(encoding="utf-8"))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        keys = ("name", "sex", "birth_date", "id_number", "phone", "address")
        bodies = [json.dumps({k: p[k] for k in keys}, ensure_ascii=False).encode() for p in probes]

        def post(body: bytes) -> int:
            conn.request("POST", "/api/patients/match", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status

        for body in bodies[:20]:
            post(body)
        times: list[float] = []
        statuses: Counter[int] = Counter()
        for _ in range(rounds):
            for body in bodies:
                started = time.perf_counter()
                status = post(body)
                times.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1
        conn.close()
        return {
            "http_p50": _percentile(times, 0.5),
            "http_p99": _percentile(times, 0.99),
            "http_requests": len(times),
            "http_statuses": dict(statuses),
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_latency(
    mode: str, residents: int, rebuild: bool, work: Path, probes: int, rounds: int
) -> dict[str, Any]:
    if mode == "import":
        db = DB_IMPORT
    else:
        db = DB_LATENCY
        have = worker(db, "count") if database_exists(db) and not rebuild else {"residents": 0, "configs": 0}
        if have["residents"] < residents or not have["configs"]:
            _log(f"latency: building {db} with generate_county --residents {residents:,} (minutes)")
            lock = _build_lock()
            lock.touch()
            try:
                fresh_database(db)
                manage(db, "migrate", "--noinput", "-v", "0")
                child = manage(
                    db, "generate_county", "--residents", str(residents), "--seed", str(SEED),
                    "--as-of", LATENCY_AS_OF, "-v", "0",
                )  # fmt: skip
            finally:
                lock.unlink(missing_ok=True)
            _log(f"latency: generate_county took {child.seconds:.0f} s")
        else:
            _log(f"latency: reusing {db} ({have['residents']:,} residents)")
    probes_file = work / "probes.json"
    _log(f"latency: in-process index.match on {db}")
    result = worker(db, "latency", str(probes), str(rounds), str(probes_file))
    _log(f"latency: HTTP POST /api/patients/match on {db}")
    result.update(_http_latency(db, probes_file, rounds))
    result["database"] = db
    return result


# --- report ---------------------------------------------------------------------------------------


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def _f(value: Any, fmt: str, missing: str = "—") -> str:
    return missing if value is None else format(value, fmt)


def _groups(false: dict[str, int]) -> str:
    return " / ".join(f"{false.get(g, 0):,}" for g in (*GROUPS, "mixed", "other"))


def report(results: list[dict[str, Any]], latency: dict[str, Any] | None, args: argparse.Namespace) -> str:
    lines = [
        f"Master patient index (`bench/empi.py`), measured {dt.date.today():%Y-%m-%d} on "  # noqa: DTZ011
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL "
        f"at {_server().rsplit('@', 1)[-1]}. Labelled registrations: `empi_data.generate(N, seed={SEED})` "
        "with the demo county's villages; probes seed "
        f"{PROBE_SEED}. Other processes may share the 2 cores: times are single runs (batch) or "
        "p50/p99 of single calls (real time); compare the ratios within one run.",
        "",
        "### Accuracy and batch cost, index beside Splink on the same rows",
        "",
        "| N | system | precision | recall | F1 | recall with review | review queue (share) | rejected "
        "| false pairs twin / namesake / father-son / mixed / other | train s | batch s | rows/s "
        "| peak RSS MB | one record ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        n = r["size"]
        idx = r.get("index")
        if idx:
            queue = f"{idx['review_registrations']:,} ({idx['review_registrations'] / n:.2%})"
            lines.append(
                f"| {n:,} | Yigongti (config v{r['config']['config_version']}, link ≥ {r['config']['link']}, "
                f"review ≥ {r['config']['review']}) | {idx['precision']:.4f} | {idx['recall']:.4f} "
                f"| {idx['f1']:.4f} | {idx['review_recall']:.4f} | {queue} "
                f"| {idx['decisions'].get('rejected', 0):,} | {_groups(idx['false_by_group'])} "
                f"| {r['train_s']:.1f} | {r['import_s']:.1f} | {n / r['import_s']:,.0f} "
                f"| {r['import_rss_mb']:,.0f} | see below |"
            )
        else:
            lines.append(f"| {n:,} | Yigongti | — | — | — | — | — | — | — | — | — | — | — | — |")
        s = r.get("splink")
        if s:
            false = dict(s["hard_false_pairs"])
            false["other"] = s["false_pairs"] - sum(s["hard_false_pairs"].values())
            batch = s["normalise_s"] + s["predict_cluster_s"]
            lines.append(
                f"| {n:,} | Splink {s['splink_version']} (DuckDB, tight rules, link ≥ {s['threshold']}, "
                f"review ≥ {s['review_threshold']}) | {s['precision']:.4f} | {s['recall']:.4f} "
                f"| {s['f1']:.4f} "
                f"| {s['review_recall']:.4f} | n/a | 0 | {_groups(false)} | {s['train_s']:.1f} | {batch:.1f} "
                f"| {n / batch:,.0f} | {s['process_rss_mb']:,.0f} | {s['single_record_ms']:.0f} (median) |"
            )
        else:
            lines.append(f"| {n:,} | Splink | — | — | — | — | — | — | — | — | — | — | — | not run |")
    lines += [
        "",
        "Pairs are scored pairwise against the truth (`empi_data.pairwise_metrics`). Yigongti's clusters "
        "are the residents the import filed each row under (a `review` row is filed under a new resident "
        "of its own); *recall with review* merges each review registration's resident into its best "
        "candidate, as a steward confirming every open review would. Splink's *recall with review* is "
        "its clustering at the review threshold; it has no review queue. *train s*: `train_matcher "
        "--from-file` (process wall) vs Splink's EM; *batch s*: `import_residents` (process wall: load, "
        "clean, link, write to PostgreSQL, links file) vs Splink's normalise + predict + cluster (in "
        "memory, writes nothing). *peak RSS*: the import process's `ru_maxrss` vs the Splink worker "
        "process's (which also holds the generated rows).",
    ]
    for r in results:
        for note in r["notes"]:
            lines.append(f"- {r['size']:,}: {note}")
        idx = r.get("index")
        if idx:
            s = r.get("splink")
            extra = (
                f"; Splink candidate pairs {s['candidate_pairs']:,}, "
                f"peak RSS growth {s['peak_rss_growth_mb']:,.0f} MB"
                if s
                else ""
            )
            lines.append(
                f"- {r['size']:,}: {r['persons']:,} persons, look-alike rows {r['hard_rows']}; decisions "
                f"{idx['decisions']}; open MatchReview rows {idx['review_rows']:,}; residents after import "
                f"{r['residents_after']:,}; import's own time {_f(r.get('import_own_s'), '.1f')} s, "
                f"its process CPU {_f(r.get('import_cpu_s'), '.0f')} s (PostgreSQL's not counted){extra}."
            )
    if latency:
        lat = latency
        lines += [
            "",
            f"### Real-time matching against {lat['residents']:,} residents (PostgreSQL, database "
            f"`{lat['database']}`)",
            "",
            f"{lat['probes']} probes (half re-written copies of stored residents, half new people) × "
            f"{lat['rounds']} rounds, after 20 warm-up calls; p50/p99 over all calls.",
            "",
            "| path | p50 ms | p99 ms | ratio p50 to SQL floor |",
            "|---|---:|---:|---:|",
            f"| `index.match(features)` in-process | {lat['match_p50']:.1f} | {lat['match_p99']:.1f} "
            f"| {lat['match_p50'] / lat['sql_p50']:.1f}× |",
            f"| `POST /api/patients/match` (gunicorn gthread, keep-alive) | {lat['http_p50']:.1f} "
            f"| {lat['http_p99']:.1f} | {lat['http_p50'] / lat['sql_p50']:.1f}× |",
            f"| raw SQL floor: the blocking `UNION ALL` alone (`index.candidate_ids`) | {lat['sql_p50']:.1f} "
            f"| {lat['sql_p99']:.1f} | 1.0× |",
        ]
        for r in results:
            s = r.get("splink")
            if s:
                lines.append(
                    f"| Splink `predict_between`, one record against {r['size']:,} registrations (DuckDB) "
                    f"| {s['single_record_ms']:.0f} | — (median of 20) | "
                    f"{s['single_record_ms'] / lat['sql_p50']:.0f}× |"
                )
        lines += [
            "",
            f"Decisions (first round): {lat['decisions']}; stored resident ranked first for "
            f"{lat['copies_found']}/{lat['copies']} copies; median {lat['candidates_median']} candidates "
            f"per probe; HTTP statuses {lat['http_statuses']}.",
        ]
    lines += ["", "### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for r in results:
        idx, s = r.get("index"), r.get("splink")
        n = r["size"]
        if idx:
            lines += [
                f"| auto-link precision ≥ {TARGETS['precision']} ({n:,}) | {idx['precision']:.4f} "
                f"| {_verdict(idx['precision'] >= TARGETS['precision'])} |",
                f"| recall ≥ {TARGETS['recall']} ({n:,}) | {idx['recall']:.4f} "
                f"| {_verdict(idx['recall'] >= TARGETS['recall'])} |",
                f"| recall with review ≥ {TARGETS['review_recall']} ({n:,}) | {idx['review_recall']:.4f} "
                f"| {_verdict(idx['review_recall'] >= TARGETS['review_recall'])} |",
            ]
            if s:
                lines.append(
                    f"| F1 ≥ Splink's ({n:,}) | {idx['f1']:.4f} vs {s['f1']:.4f} "
                    f"| {_verdict(idx['f1'] >= s['f1'])} |"
                )
            else:
                lines.append(f"| F1 ≥ Splink's ({n:,}) | Splink not measured | n/a |")
            if n >= 1_000_000:
                lines.append(
                    f"| batch of 1M ≤ {TARGETS['batch_1m_s']:.0f} s | {r['import_s']:.0f} s "
                    f"| {_verdict(r['import_s'] <= TARGETS['batch_1m_s'])} |"
                )
    if not any(r["size"] >= 1_000_000 and r.get("index") for r in results):
        lines.append(f"| batch of 1M ≤ {TARGETS['batch_1m_s']:.0f} s | not measured in this run | n/a |")
    if latency:
        big = latency["residents"] >= 900_000
        label = f"at {latency['residents']:,} residents"

        def ok(p99: float) -> bool | None:
            return p99 <= TARGETS["p99_ms"] if big else None

        lines += [
            f"| real-time p99 ≤ {TARGETS['p99_ms']:.0f} ms at 1M, in-process ({label}) | "
            f"{latency['match_p99']:.1f} ms | {_verdict(ok(latency['match_p99']))} |",
            f"| real-time p99 ≤ {TARGETS['p99_ms']:.0f} ms at 1M, HTTP ({label}) | "
            f"{latency['http_p99']:.1f} ms | {_verdict(ok(latency['http_p99']))} |",
        ]
    if args.note:
        lines += ["", f"Note on this run: {args.note}"]
    shown = [a for i, a in enumerate(args.argv) if a != "--note" and args.argv[i - 1 : i] != ["--note"]]
    lines += ["", f"Arguments: `{' '.join(shown) or '(defaults)'}`."]
    return "\n".join(lines) + "\n"


# --- driver ---------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="?", default="100000,1000000", help="comma-separated registrations")
    parser.add_argument("--quick", action="store_true", help="20,000 registrations, latency on that database")
    parser.add_argument("--latency", choices=("county", "import", "skip"), default=None)
    parser.add_argument("--latency-residents", type=int, default=1_000_000)
    parser.add_argument("--rebuild-latency-db", action="store_true", help="build ygt_bench_empi_rt again")
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--splink-budget", type=float, default=900, help="seconds per Splink run")
    parser.add_argument("--import-budget", type=float, default=1800, help="seconds per import")
    parser.add_argument("--keep", action="store_true", help="keep ygt_bench_empi after the run")
    parser.add_argument("--note", default="", help="a line about the run's conditions, for the table")
    parser.add_argument(
        "--render", type=Path, default=None, help="only re-render the table from a run's empi.json"
    )
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.sizes = "20000"
    args.size_list = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    if args.latency is None:
        args.latency = "import" if args.quick else "county"
    return args


def main(argv: list[str] | None = None) -> None:
    if argv is None:
        argv = shlex.split(os.environ.get("YGT_BENCH_EMPI", ""))
    args = parse(argv)
    if args.render is not None:
        raw = json.loads(args.render.read_text(encoding="utf-8"))
        args.argv = raw.get("argv", args.argv)
        _write(report(raw["results"], raw["latency"], args))
        return
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH_DIR))
    budgets = {"train": 1800.0, "import": args.import_budget, "splink": args.splink_budget}
    results: list[dict[str, Any]] = []
    latency: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="ygt-bench-empi-") as tmp:
        work = Path(tmp)
        try:
            for size in args.size_list:
                results.append(run_size(size, work, budgets, not args.no_splink))
                if args.latency == "import" and size == args.size_list[-1]:
                    latency = run_latency("import", 0, False, work, args.probes, args.rounds)
            if args.latency == "county":
                latency = run_latency(
                    "county", args.latency_residents, args.rebuild_latency_db, work, args.probes, args.rounds
                )
        finally:
            if not args.keep:
                with _admin() as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{DB_IMPORT}" WITH (FORCE)')
    raw = Path(_env(DB_IMPORT)["YGT_VAR_DIR"]) / "empi.json"  # every figure, for --render
    raw.write_text(
        json.dumps(
            {"results": results, "latency": latency, "argv": args.argv},
            ensure_ascii=False,
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    _write(report(results, latency, args))


def _write(table: str) -> None:
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        run_worker(sys.argv[2:])
    else:
        main(sys.argv[1:])
