"""Run Yigongti's benchmarks: ``make bench`` (or ``.venv/bin/python bench/run.py [name ...]``).

Every ``bench/<name>.py`` module that exposes ``main()`` is a benchmark. Each prints a markdown
table that sets its figure beside a reference measured in the same run (a peer library, or the
raw SQL limit), and writes the table to ``bench/results/<name>.md``. Benchmarks never touch the
demo database: they work in temporary databases that they create and remove.

Environment:

- ``DATABASE_URL``: when it points at PostgreSQL (``postgres://user@host:port/any``), benchmarks
  that support it also run there, in a temporary database created on that server and dropped
  afterwards (the user needs CREATEDB). Without it they run on SQLite only.
- ``YGT_BENCH_RESIDENTS``: residents per run in ``generate`` (default 100000).
- ``YGT_BENCH_REPEATS``: repeats per measurement; tables show the median (default 3).

Give names to run only some benchmarks: ``bench/run.py generate``.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def benchmark_modules(names: list[str]) -> list[Path]:
    found = sorted(
        p for p in BENCH_DIR.glob("*.py") if p.stem not in {"run", "__init__"} and not p.stem.startswith("_")
    )
    if names:
        missing = set(names) - {p.stem for p in found}
        if missing:
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(missing))}")
        found = [p for p in found if p.stem in names]
    return found


def run(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    main = getattr(module, "main", None)
    if main is None:
        return
    print(f"## {path.stem}\n", flush=True)
    started = time.perf_counter()
    main()
    print(f"\n({path.stem} took {time.perf_counter() - started:.0f} s)\n", flush=True)


def main(argv: list[str]) -> None:
    # bench/ (this script's folder) stays importable for the benchmarks' helpers (empi_data), but
    # last: a benchmark named like a library (fhir.py) must never shadow that library.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR] + [str(BENCH_DIR)]
    sys.path.insert(0, str(ROOT))
    for path in benchmark_modules(argv):
        run(path)


if __name__ == "__main__":
    main(sys.argv[1:])
