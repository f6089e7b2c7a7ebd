"""Coalesce repeated follow-up work of a multi-row write into one run at the end of the block.

A write path that creates many rows one at a time (a FHIR transaction Bundle of a hundred
Patients) triggers the same follow-up for every row: the indicator cells of the touched village
are recomputed after each resident. Inside ``coalesced()`` such work is collected instead, keyed
by what it is, with the union of its items, and run once when the block ends without an error:

    with transaction.atomic(), coalesced():
        for entry in entries:
            create(entry)            # each create calls collect(...) instead of working at once

The block must sit inside the caller's transaction, so the coalesced work commits or rolls back
with the rows it follows (an error in the block skips it; the transaction then rolls back). A
nested ``coalesced()`` joins the outer one. Outside any block, ``collect`` says so and the caller
does the work at once, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Work = Callable[[set[Any]], Any]

_open: ContextVar[dict[Hashable, tuple[Work, set[Any]]] | None] = ContextVar("ygt_coalesced", default=None)


def collect(name: Hashable, items: Iterable[Any], work: Work) -> bool:
    """Inside ``coalesced()``: add ``items`` to the pending ``work`` named ``name`` and return
    True. Outside: return False (the caller runs its work now)."""
    pending = _open.get()
    if pending is None:
        return False
    entry = pending.get(name)
    if entry is None:
        pending[name] = (work, set(items))
    else:
        entry[1].update(items)
    return True


@contextmanager
def coalesced() -> Iterator[None]:
    if _open.get() is not None:  # nested: the outermost block runs the work
        yield
        return
    pending: dict[Hashable, tuple[Work, set[Any]]] = {}
    token = _open.set(pending)
    try:
        yield
    finally:
        _open.reset(token)
    # reached only when the block ended without an error; the work runs outside the collecting
    # state, so its own writes (and what they trigger) happen at once
    while pending:
        name = next(iter(pending))
        work, items = pending.pop(name)
        work(items)
