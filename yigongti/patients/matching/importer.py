"""One file into the master index: ``import_file`` (what ``import_residents`` runs).

Reads the file (``importing``), links it (``batch.BatchLinker``), writes the links file beside
it, keeps the ``ImportRun`` for resuming, and on a large file lets a forked second process read
and clean the rows while this one links and writes.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import itertools
import multiprocessing
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from yigongti.core.audit import audit
from yigongti.core.errors import InvalidInput
from yigongti.institutions.models import Institution

from ..models import ImportRun
from . import importing
from .batch import BatchLinker, CleanRow, Outcome, clean_row
from .importing import RowProblem, SourceRow
from .index import active_config, forget_resident_total

# --- one file -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    run: ImportRun | None
    resumed_from: int
    counts: Counter[str]
    rejected: list[Outcome]
    seconds: float
    rows: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_records(path: Path) -> int | None:
    """Lines in the file (an upper bound of its rows, for the progress bar); None for a Bundle."""
    if importing.file_kind(path) == "bundle":
        return None
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return lines


def import_file(
    path: Path,
    *,
    institution: Institution,
    links_out: Path,
    chunk: int = 5000,
    on_row: Callable[[int], None] | None = None,
    on_load: Callable[[int], None] | None = None,
    parallel: bool | None = None,
) -> ImportReport:
    """Import ``path`` into the index at ``institution``; write ``links_out`` (one row per input
    row: source_id, patient_id, decision; rejected rows have no patient_id). Re-running the same
    file resumes after the last written chunk and changes nothing that was written."""
    started = time.perf_counter()
    rows = importing.read_rows(path)  # a bad header raises here, before anything is written
    # Millions of small, acyclic objects (features, keys, block lists) make the cyclic garbage
    # collector rescan the whole heap again and again: freeze what exists and collect rarely.
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        return _import(
            path,
            rows,
            institution=institution,
            links_out=links_out,
            chunk=chunk,
            on_row=on_row,
            on_load=on_load,
            started=started,
            parallel=parallel,
        )
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _import(
    path: Path,
    rows: Iterator[SourceRow | RowProblem],
    *,
    institution: Institution,
    links_out: Path,
    chunk: int,
    on_row: Callable[[int], None] | None,
    on_load: Callable[[int], None] | None,
    started: float,
    parallel: bool | None,
) -> ImportReport:
    first = next(rows, None)
    sha = file_sha256(path)
    run = (
        ImportRun.objects.filter(file_sha256=sha, institution=institution, finished_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    resumed_from = run.rows_done if run is not None else 0
    linker = BatchLinker(institution=institution, config=active_config(), run=run)
    linker.load(on_load)
    part = links_out.with_name(links_out.name + ".part")
    outcomes: list[Outcome] = []
    rejected: list[Outcome] = []
    total = 0
    with part.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("source_id", "patient_id", "decision"))

        def flush() -> None:
            if linker.run is None and linker.pending.registrations:
                linker.run = ImportRun.objects.create(
                    file_name=path.name[:255], file_sha256=sha, institution=institution
                )
            linker.flush(outcomes)
            for outcome in outcomes:
                writer.writerow((outcome.source_id, outcome.patient_id or "", outcome.decision))
                if outcome.decision == "rejected":
                    rejected.append(outcome)
            outcomes.clear()

        stream = rows if first is None else itertools.chain([first], rows)
        if parallel is None:
            parallel = (os.cpu_count() or 1) > 1 and path.stat().st_size > PARALLEL_FROM_BYTES
        prepared = _prepared_elsewhere(path, linker) if parallel else ((row, None) for row in stream)
        for row, cleaned in prepared:
            outcomes.append(linker.link(row, cleaned))
            total += 1
            if on_row is not None:
                on_row(total)
            if len(linker.pending.registrations) >= chunk:
                flush()
        flush()
    part.replace(links_out)
    if linker.run is not None:
        with transaction.atomic():
            linker.run.finished_at = timezone.now()
            linker.run.counts = dict(linker.counts)
            linker.run.save(update_fields=["finished_at", "counts", "updated_at"])
            audit(
                actor=None,
                verb="patient.import",
                subject=linker.run,
                after={"file": path.name, "sha256": sha, "rows": total, **dict(linker.counts)},
                institution_id=institution.pk,
            )
    forget_resident_total()
    return ImportReport(
        linker.run, resumed_from, linker.counts, rejected, time.perf_counter() - started, total
    )


# --- a second process reads and cleans the file -------------------------------------------------

#: Files larger than this are read and cleaned by a second process (``parallel=None``).
PARALLEL_FROM_BYTES = 2_000_000

#: Rows per message from the preparing process.
PREPARED_BATCH = 2000


def _prepare_in_child(
    path: Path, village_code: dict[int, str], villages: list[tuple[str, int]], conn: Connection
) -> None:
    """The preparing process: read the file, clean each row, send (row, CleanRow | error) batches.

    It never touches the database, and leaves with ``os._exit`` so that no inherited database
    connection is closed (and so broken) from here.
    """
    try:
        out: list[tuple[Any, Any]] = []
        for row in importing.read_rows(path):
            cleaned: CleanRow | str | None = None
            if isinstance(row, SourceRow) and row.source_id:
                try:
                    cleaned = clean_row(row, village_code, villages)
                except InvalidInput as error:
                    cleaned = str(error.message)
            out.append((row, cleaned))
            if len(out) >= PREPARED_BATCH:
                conn.send(out)
                out = []
        conn.send(out)
        conn.send(None)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()
        os._exit(0)


def _prepared_elsewhere(path: Path, linker: BatchLinker) -> Iterator[tuple[Any, CleanRow | str | None]]:
    """Rows cleaned by a forked process while this one links and writes (two cores, two stages)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_prepare_in_child, args=(path, linker.village_code, linker.village_keys, sender), daemon=True
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                batch = receiver.recv()
            except EOFError:
                raise RuntimeError("The process reading the file stopped unexpectedly.") from None
            if batch is None:
                return
            if isinstance(batch, tuple):
                raise RuntimeError(f"The process reading the file failed:\n{batch[1]}")
            yield from batch
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()
