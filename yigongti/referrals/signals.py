"""``referrals_changed``: sent by every service that changes a referral, inside its transaction.

kwargs: ``keys: set[tuple[int, datetime.date]]`` = {(from_institution_id, first day of the
submitted month), (to_institution_id, same)}; a receiver's writes commit or roll back with the
change. Drafts (not yet submitted) send nothing: they count nowhere.

``batched()`` gathers the keys of many changes and sends them once when the block ends (still
inside the caller's transaction): the demo generator writes hundreds of referrals in one go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal

referrals_changed = Signal()

_pending: ContextVar[set[tuple[int, dt.date]] | None] = ContextVar("referrals_pending", default=None)


def send_changed(sender: type, keys: set[tuple[int, dt.date]]) -> None:
    pending = _pending.get()
    if pending is not None:
        pending.update(keys)
    elif keys:
        referrals_changed.send(sender=sender, keys=keys)


@contextmanager
def batched(sender: type) -> Iterator[None]:
    """Send one ``referrals_changed`` with every key changed inside the block."""
    if _pending.get() is not None:  # already batching: the outer block sends
        yield
        return
    keys: set[tuple[int, dt.date]] = set()
    token = _pending.set(keys)
    try:
        yield
    finally:
        _pending.reset(token)
    if keys:
        referrals_changed.send(sender=sender, keys=keys)
