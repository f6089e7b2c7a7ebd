"""Referrals and appointments under load: 200 concurrent clients against gunicorn on PostgreSQL.

One run:

1. a temporary PostgreSQL database (``ygt_bench_referrals_<pid>``, dropped at the end) is
   migrated, and a small county is built in it through the services (``core.testing``'s county,
   3,000 residents in one village, 40 clinic sessions of the county hospital with 2,160 places half
   of them reserved for referrals, one API token per acting user);
2. gunicorn serves the project with ``config.settings.production`` (``-k gthread``, workers x
   threads below) through a settings module written to a temporary directory that adds one
   trivial view (``GET /bench-ping/`` answering ``ok``) in front of the project's URLs, so the
   trivial view passes the same middleware (sessions, auth, CSRF, locale, request context) as
   every API call: the framework's ceiling on this machine;
3. 200 concurrent clients (asyncio + httpx, one keep-alive connection each) run each operation
   in turn: the trivial view; ``POST /api/scheduling/bookings`` (a township doctor booking
   reserved slots at the county hospital for referrals; every place distinct); a contended round
   (200 clients at once for 50 one-place slots: exactly 50 must win, the rest get 409); then
   ``POST /api/referrals`` (create and submit), ``/accept``, ``/arrive``, ``/start-care`` and
   ``/complete`` for the same referrals;
4. per operation: requests, errors, throughput (requests/s over the wall time of the phase) and
   the p50 and p99 latency of single requests. The table is printed and written to
   ``bench/results/referrals.md``.

Every write is audited in the same transaction, and the audit table is one hash chain, so writes
serialise on its advisory lock: that, not the booking guard, is the write ceiling. The clients
run on the same 2 cores as the server and the database; nothing asserts a time.

Run: ``.venv/bin/python bench/referrals.py [--clients 200] [--workers 3] [--threads 16]``;
PostgreSQL from ``YGT_BENCH_PG`` (default ``postgres://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Job = tuple[str, str, dict[str, Any] | None, str]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "referrals.md"
PATIENTS = 3000
SESSIONS = 40
CONTENDED_SLOTS = 50

# --- the setup, run in a child process against the temporary database -----------------------


def setup() -> dict[str, Any]:
    """Build the county through the services and print what the clients need (as JSON)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.utils import timezone

    from yigongti.accounts.choices import Role
    from yigongti.accounts.services import token_create
    from yigongti.core import idnumbers
    from yigongti.core.testing import build_small_county
    from yigongti.patients.models import Patient
    from yigongti.scheduling.models import Slot
    from yigongti.scheduling.services import session_create

    county = build_small_county()
    village = county.village
    Patient.objects.bulk_create(
        Patient(
            health_record_number=f"{village.code}{i:05d}",
            id_number=idnumbers.build("441823", dt.date(1940, 1, 1) + dt.timedelta(days=i * 7), i % 500 + 1),
            name=f"压测{i:04d}",
            sex="F" if i % 2 else "M",
            birth_date=dt.date(1940, 1, 1) + dt.timedelta(days=i * 7),
            village=village,
        )
        for i in range(1, PATIENTS + 1)
    )
    patients = list(Patient.objects.filter(village=village).order_by("pk").values_list("pk", flat=True))
    dept = county.lead.departments.get(code="NK")
    today = timezone.localdate()
    sessions = []
    for i in range(SESSIONS):
        sessions.append(
            session_create(
                actor=None,
                institution=county.lead,
                department=dept,
                date=today + dt.timedelta(days=5 + i // 2),
                start=dt.time(8, 0) if i % 2 == 0 else dt.time(14, 0),
                end=dt.time(17, 0) if i % 2 == 0 else dt.time(23, 0),
                slot_minutes=10,
                capacity=1,
                referral_share=50,
            )
        )
    slots = list(
        Slot.objects.filter(session__in=sessions).order_by("starts_at").values_list("pk", "session_id")
    )
    race_session = session_create(
        actor=None,
        institution=county.lead,
        department=dept,
        date=today + dt.timedelta(days=40),
        start=dt.time(8, 0),
        end=dt.time(16, 20),
        slot_minutes=10,
        capacity=1,
        referral_share=100,
    )
    contended = list(race_session.slots.order_by("starts_at").values_list("pk", flat=True)[:CONTENDED_SLOTS])
    tokens = {
        role: token_create(actor=None, user=county.users[role], name="bench")[1]
        for role in (Role.TOWNSHIP_DOCTOR, Role.COUNTY_DOCTOR)
    }
    return {
        "patients": patients,
        "slots": [pk for pk, _session in slots],
        "contended": contended,
        "lead_code": county.lead.code,
        "department_id": dept.pk,
        "referrer": tokens[Role.TOWNSHIP_DOCTOR],
        "receiver": tokens[Role.COUNTY_DOCTOR],
    }


# --- the server -------------------------------------------------------------------------------


TRIVIAL_SETTINGS = textwrap.dedent(
    '''
    """Production settings plus one trivial view, for the benchmark's framework ceiling."""
    from config.settings.production import *  # noqa: F403

    ROOT_URLCONF = "ygt_bench_urls"
    '''
)
TRIVIAL_URLS = textwrap.dedent(
    """
    from django.http import HttpResponse
    from django.urls import path

    from config.urls import urlpatterns as project


    def ping(request):
        return HttpResponse("ok", content_type="text/plain")


    urlpatterns = [path("bench-ping/", ping), *project]
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(database_url: str, extra_path: str, var_dir: str) -> dict[str, str]:
    dropped = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "YGT_DEBUG", "YGT_HTTPS"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DATABASE_URL=database_url,
        YGT_VAR_DIR=var_dir,
        PYTHONPATH=os.pathsep.join([extra_path, str(ROOT)]),
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def _start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(  # noqa: S603 - the project's own WSGI app on loopback
        [
            str(gunicorn),
            "config.wsgi",
            "-k",
            "gthread",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--keep-alive",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    import urllib.request

    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench-ping/", timeout=5) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(
        f"gunicorn did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}"
    )


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall: float = 0.0
    results: list[Any] = field(default_factory=list)

    def row(self, expected: set[int]) -> str:
        n = len(self.latencies)
        errors = sum(c for s, c in self.statuses.items() if s not in expected)
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000 if lat else 0.0
        p99 = lat[min(n - 1, int(n * 0.99))] * 1000 if lat else 0.0
        rate = n / self.wall if self.wall else 0.0
        return f"| {self.name} | {n} | {errors} | {rate:,.0f} | {p50:.1f} | {p99:.1f} |"


async def _run(base: str, phase: Phase, jobs: list[Job], clients: int) -> Phase:
    """``jobs``: (method, path, json body, token). ``clients`` workers share them."""
    import httpx

    queue: asyncio.Queue[tuple[int, tuple[str, str, dict[str, Any] | None, str]]] = asyncio.Queue()
    for item in enumerate(jobs):
        queue.put_nowait(item)
    phase.results = [None] * len(jobs)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def worker() -> None:
            while True:
                try:
                    index, (method, path, body, token) = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                started = time.perf_counter()
                response = await client.request(method, path, json=body, headers=headers)
                phase.latencies.append(time.perf_counter() - started)
                phase.statuses[response.status_code] = phase.statuses.get(response.status_code, 0) + 1
                if response.headers.get("content-type", "").startswith("application/json"):
                    phase.results[index] = (response.status_code, response.json())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        phase.wall = time.perf_counter() - started
    return phase


def _reference(base: str, token: str) -> tuple[str, str]:
    import httpx

    data = httpx.get(f"{base}/api/referrals/reference", headers={"Authorization": f"Bearer {token}"}).json()
    reasons = data["reasons"]
    up = [r for r in reasons if r.get("direction") == "upward"] or reasons
    return up[0]["code"], ""


def drive(base: str, data: dict[str, Any], clients: int, n_bookings: int, n_referrals: int) -> list[str]:
    ref, rec = data["referrer"], data["receiver"]
    patients: list[int] = data["patients"]
    rows: list[str] = []

    def run(name: str, jobs: list[Job], ok: set[int]) -> Phase:
        phase = asyncio.run(_run(base, Phase(name), jobs, clients))
        rows.append(phase.row(ok))
        print(rows[-1], f"  statuses={phase.statuses}", flush=True)
        return phase

    run("trivial Django view `GET /bench-ping/` (ceiling)", [("GET", "/bench-ping/", None, "")] * 4000, {200})
    run(
        "read: open slots `GET /api/scheduling/slots`",
        [
            (
                "GET",
                f"/api/scheduling/slots?institution={data['lead_code']}&for_referral=true&limit=20",
                None,
                ref,
            )
        ]
        * 2000,
        {200},
    )
    bookings: list[Job] = [
        (
            "POST",
            "/api/scheduling/bookings",
            {"slot_id": slot, "patient_id": patients[i], "for_referral": True},
            ref,
        )
        for i, slot in enumerate(data["slots"][:n_bookings])
    ]
    run("book a reserved slot for a referral `POST /api/scheduling/bookings`", bookings, {201})
    offset = n_bookings
    race: list[Job] = [
        (
            "POST",
            "/api/scheduling/bookings",
            {
                "slot_id": data["contended"][i % len(data["contended"])],
                "patient_id": patients[offset + i],
                "for_referral": True,
            },
            ref,
        )
        for i in range(clients)
    ]
    contended = run(
        f"contended: {clients} clients for {len(data['contended'])} last places", race, {201, 409}
    )
    wins = contended.statuses.get(201, 0)
    rows.append(
        f"| ↳ winners / places (must be equal) | {wins} / {len(data['contended'])} | "
        f"{'OK' if wins == len(data['contended']) else 'DOUBLE BOOKING'} | | | |"
    )
    reason, _ = _reference(base, ref)
    first = offset + clients
    creates: list[Job] = [
        (
            "POST",
            "/api/referrals",
            {
                "patient_id": patients[first + i],
                "to_institution": data["lead_code"],
                "to_department_id": data["department_id"],
                "diagnosis_code": "I10",
                "diagnosis_name": "原发性高血压",
                "history": "血压控制不佳三月",
                "reason": reason,
                "submit": True,
            },
            ref,
        )
        for i in range(n_referrals)
    ]
    created = run("create + submit a referral `POST /api/referrals`", creates, {201})
    ids = [r[1]["id"] for r in created.results if r and r[0] == 201]
    moves = [
        ("accept", {"department_id": data["department_id"]}),
        ("arrive", {}),
        ("start-care", {"mode": "outpatient"}),
        (
            "complete",
            {
                "diagnosis_code": "I10",
                "diagnosis_name": "原发性高血压",
                "advice": "回基层随访，每两周测血压",
                "treatment": "调整降压药",
            },
        ),
    ]
    for move, body in moves:
        run(
            f"{move} `POST /api/referrals/{{id}}/{move}`",
            [("POST", f"/api/referrals/{i}/{move}", body, rec) for i in ids],
            {200},
        )
    return rows


# --- the database and the report --------------------------------------------------------------


def _postgres_admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(f"{url.rstrip('/')}/postgres", autocommit=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--referrals", type=int, default=600)
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.setup:
        print(json.dumps(setup()))
        return
    server_url = os.environ.get("YGT_BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    name = f"ygt_bench_referrals_{os.getpid()}"
    admin = _postgres_admin(server_url)
    admin.execute(f'CREATE DATABASE "{name}"')
    database_url = f"{server_url}/{name}"
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="ygt-bench-ref-") as tmp:
            Path(tmp, "ygt_bench_settings.py").write_text(TRIVIAL_SETTINGS)
            Path(tmp, "ygt_bench_urls.py").write_text(TRIVIAL_URLS)
            env = _env(database_url, tmp, tmp)
            started = time.perf_counter()
            _manage({**env, "DJANGO_SETTINGS_MODULE": "config.settings.base"}, "migrate", "--noinput")
            done = subprocess.run(  # noqa: S603 - this script, in setup mode
                [sys.executable, __file__, "--setup"],
                env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"setup failed:\n{done.stderr[-3000:]}")
            data = json.loads(done.stdout.strip().splitlines()[-1])
            prod = {
                **env,
                "DJANGO_SETTINGS_MODULE": "ygt_bench_settings",
                "YGT_SECRET_KEY": secrets.token_urlsafe(50),
            }
            _manage(prod, "collectstatic", "--noinput")
            print(f"setup: {time.perf_counter() - started:.0f} s", flush=True)
            port = _free_port()
            server = _start_gunicorn(prod, port, args.workers, args.threads)
            header = [
                f"gunicorn {args.workers} workers x {args.threads} threads (gthread), "
                f"config.settings.production, PostgreSQL; {args.clients} concurrent clients "
                "(asyncio + httpx) on the same machine",
                "",
                "| operation | requests | errors | req/s | p50 ms | p99 ms |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            print("\n".join(header), flush=True)
            load_before = os.getloadavg()[0]
            rows = drive(f"http://127.0.0.1:{port}", data, args.clients, args.bookings, args.referrals)
            load_after = os.getloadavg()[0]
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    text = "\n".join(
        [
            "# Referrals and appointments under load",
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine}; `bench/referrals.py`.",
            "",
            *header,
            *rows,
            "",
            f"Load average (1 min) before / after the phases: {load_before:.1f} / {load_after:.1f} "
            "(other processes share the machine).",
            "",
            "Latencies are single requests as the clients saw them, queueing included: with every client",
            "busy, p50 is close to clients / throughput (Little's law), so compare each operation's",
            "throughput with the trivial view's. Every write also appends to the audit hash chain under",
            "one advisory lock, which serialises all writes of the system.",
            "",
        ]
    )
    RESULTS.write_text(text)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
