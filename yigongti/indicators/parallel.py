"""A rebuild's cube queries on several database connections at once.

One connection runs one query on one core; a county's rebuild is a handful of cube queries, one
of them (the encounters') most of the work. Here the big ones are cut into disjoint chunks
(``Cube.chunks``) and every piece runs on one of ``workers()`` connections, each in a thread of
its own (the database does the work; the threads mostly wait). The chunks' totals add up, so the
cells equal those computed in one piece (``tests/test_parallel.py``); distinct counts, which do
not add up, stay whole.

Only for a rebuild that starts outside any transaction and on a database other connections can
read (PostgreSQL, or a SQLite file): the other connections see what is committed, so what the
caller wrote in a transaction still open would be missed. The rebuild locks the cell table
first (PostgreSQL) or holds SQLite's write lock, so no writer commits a change (and its
incremental cells) while the pieces are read; a writer that waits refreshes its cells after the
rebuild commits.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from .cube import Cell, Cube, Totals
from .months import Month

#: Writing a cell costs about as much as reading this many source rows (for ordering the work).
CELL_WEIGHT = 10

#: PostgreSQL: memory for one cube's hash table (the default 4 MB made it spill to disk).
WORK_MEM = "64MB"


def workers() -> int:
    """How many connections a rebuild may use now (1: in this connection, in order)."""
    wanted = int(getattr(settings, "YGT_INDICATOR_WORKERS", 0) or 0) or min(4, os.cpu_count() or 1)
    if wanted < 2 or connection.in_atomic_block:
        return 1
    if connection.vendor == "sqlite":
        return 1 if getattr(connection, "is_in_memory_db", lambda: True)() else wanted
    return wanted if connection.vendor == "postgresql" else 1


def tune(*, local: bool) -> None:
    """PostgreSQL settings for cube queries (``local``: for the current transaction only):
    hash aggregation in memory, and (on the pieces' own connections) no parallel workers of
    PostgreSQL's own, which would only compete with the other pieces for the same cores.

    The planner cannot estimate how many groups a cube has (a month computed per row, a handful
    of value columns): it guesses one per row, so it would sort every row rather than build a
    hash table it expects to be huge; a cube has a few thousand groups, and the sort was two
    thirds of the query."""
    if connection.vendor == "postgresql":
        scope = "LOCAL " if local else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SET {scope}work_mem = '{WORK_MEM}'")
            cursor.execute(f"SET {scope}enable_sort = off")
            if not local:
                cursor.execute("SET max_parallel_workers_per_gather = 0")


@dataclass(order=True)
class _Task:
    """A piece of work: plan a cube (its months and chunks, done on a worker's connection so the
    others need not wait), compute a chunk's totals, or a cube's distinct counts. Bigger pieces
    first: no connection is then left with a big one at the end."""

    order: tuple[int, int]  # (-weight, sequence)
    index: int = field(compare=False)  # the cube's place in the list
    kind: str = field(compare=False)  # plan | totals | distinct | stop
    extra: Q | None = field(compare=False, default=None)
    month: Month | None = field(compare=False, default=None)
    weight: int = field(compare=False, default=0)  # about how many rows it reads


def compute(cubes: list[Cube], n: int, outputs: list[int] | None = None) -> Iterator[list[Cell]]:
    """The cells of every cube, a cube's at a time, as soon as all its pieces are in.

    ``outputs``: about how many cells each cube gives (the last rebuild's), so that the cubes
    whose cells take long to write are done early and written while the others run."""
    if n < 2:
        for cube in cubes:
            yield cube.cells()
        return
    sequence = itertools.count()
    todo: queue.PriorityQueue[_Task] = queue.PriorityQueue()
    done: queue.SimpleQueue[tuple[_Task, Any]] = queue.SimpleQueue()

    def put(task_index: int, kind: str, weight: int, **rest: Any) -> None:
        todo.put(_Task((-weight, next(sequence)), task_index, kind, weight=weight, **rest))

    pending = [1] * len(cubes)  # each cube's plan, then its pieces
    for index, cube in enumerate(cubes):
        put(index, "plan", cube.cost() + CELL_WEIGHT * (outputs[index] if outputs else 0))
    threads = [threading.Thread(target=_work, args=(cubes, n, todo, done), daemon=True) for _ in range(n)]
    for thread in threads:
        thread.start()
    totals: dict[int, Totals] = defaultdict(lambda: defaultdict(int))
    distinct: dict[int, list[Cell]] = defaultdict(list)
    finished = 0
    try:
        while finished < len(cubes):
            task, result = done.get()
            if isinstance(result, BaseException):
                raise result
            if task.kind == "plan":
                for kind, extra, month, weight in result:
                    pending[task.index] += 1
                    put(task.index, kind, weight, extra=extra, month=month)
            elif task.kind == "distinct":
                distinct[task.index] += result
            else:
                for key, value in result.items():
                    totals[task.index][key] += value
            pending[task.index] -= 1
            if not pending[task.index]:
                finished += 1
                yield cubes[task.index].cells_of(totals.pop(task.index, {})) + distinct.pop(task.index, [])
    finally:
        try:  # after a failure, the pieces not yet started are dropped
            while True:
                todo.get_nowait()
        except queue.Empty:
            pass
        for _thread in threads:
            put(-1, "stop", -1)
        for thread in threads:
            thread.join()


def _plan(cube: Cube, n: int, weight: int) -> list[tuple[str, Q | None, Month | None, int]]:
    """A cube's pieces: its chunks (twice as many as connections, so that the last pieces to
    finish are small) and its distinct counts."""
    pieces: list[tuple[str, Q | None, Month | None, int]] = []
    month = cube.month() if cube.parts else None
    if month is not None:
        chunks = cube.chunks(2 * n, cube.size())
        pieces += [("totals", extra, month, weight // len(chunks)) for extra in chunks]
    if cube.distinct:
        pieces.append(("distinct", None, None, weight))
    return pieces


def _work(cubes: list[Cube], n: int, todo: queue.PriorityQueue[_Task], done: queue.SimpleQueue[Any]) -> None:
    """One connection's share: pieces until told to stop, then close the connection."""
    tuned = False
    try:
        while (task := todo.get()).kind != "stop":
            cube = cubes[task.index]
            try:
                if not tuned:
                    tune(local=False)
                    tuned = True
                result: Any
                if task.kind == "plan":
                    result = _plan(cube, n, task.weight)
                elif task.kind == "distinct":
                    result = cube.distinct_cells()
                else:
                    result = cube.totals(task.extra, task.month)
            except BaseException as exc:  # handed to the rebuild, which raises it
                result = exc
            done.put((task, result))
    finally:
        connection.close()
