"""Group commit of audit rows written outside any transaction (``core.audit._GroupCommit``):
callers that audit at the same moment share one transaction; each returns only once its own
row is committed, and each learns of a failed group; the chain stays whole and gap-free."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection

from yigongti.core import audit as audit_module
from yigongti.core.audit import audit, verify_chain
from yigongti.core.models import AuditEvent


def _event(i: int, verb: str = "test.read") -> AuditEvent:
    return audit(actor=None, verb=verb, object_type="test.thing", object_id=i, after={"i": i})


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_row_is_committed_when_audit_returns():
    row = _event(1)
    assert row.pk is not None and row.seq == 1
    assert AuditEvent.objects.filter(pk=row.pk).exists()
    assert not connection.in_atomic_block


def _needs_server() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database (SQLite's test database is one connection)")


def _run(threads: int, target: Callable[[int], Any]) -> list[BaseException]:
    errors: list[BaseException] = []

    def body(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=body, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    return errors


def _lead() -> None:
    """The first caller: becomes the leader of the first group."""
    try:
        _event(0)
    finally:
        connection.close()


def _wait_for_queue(size: int) -> None:
    deadline = time.monotonic() + 20
    while len(audit_module._group._queue) < size:
        assert time.monotonic() < deadline, "the other callers never queued"
        time.sleep(0.005)


@pytest.mark.django_db(transaction=True)
def test_callers_arriving_while_a_group_is_written_share_the_next_transaction(monkeypatch):
    _needs_server()
    groups: list[int] = []
    real_append = audit_module._append
    first = threading.Event()

    def spying_append(rows: list[AuditEvent]) -> None:
        if not first.is_set():
            first.set()
            _wait_for_queue(7)  # the leader writes its group only once the seven others wait
        groups.append(len(rows))
        real_append(rows)

    monkeypatch.setattr(audit_module, "_append", spying_append)
    leader = threading.Thread(target=_lead)
    leader.start()
    assert first.wait(20)
    assert _run(7, lambda n: _event(n + 1)) == []
    leader.join(20)
    assert groups == [1, 7]
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 9))
    assert verify_chain().problem is None


@pytest.mark.django_db(transaction=True)
def test_every_caller_of_a_failed_group_gets_the_error_and_nothing_is_written(monkeypatch):
    _needs_server()
    real_append = audit_module._append
    first = threading.Event()

    def failing_append(rows: list[AuditEvent]) -> None:
        if not first.is_set():
            first.set()
            _wait_for_queue(4)
            real_append(rows)
            return
        real_append(rows)
        raise DatabaseError("disk full")  # after the INSERT: the group's transaction rolls back

    monkeypatch.setattr(audit_module, "_append", failing_append)
    leader = threading.Thread(target=_lead)
    leader.start()
    assert first.wait(20)
    errors = _run(4, lambda n: _event(n + 1, "test.lost"))
    leader.join(20)
    assert len(errors) == 4 and all(isinstance(e, DatabaseError) for e in errors)
    assert not AuditEvent.objects.filter(verb="test.lost").exists()
    monkeypatch.setattr(audit_module, "_append", real_append)
    assert _event(9).seq == 2  # no gap: the failed group left nothing behind
    assert verify_chain().problem is None
    assert audit_module._group._queue == [] and not audit_module._group._busy


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_readers_build_one_gap_free_chain():
    _needs_server()
    threads, rounds = 8, 25
    assert _run(threads, lambda n: [_event(n * 100 + r) for r in range(rounds)]) == []
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads * rounds + 1))
    report = verify_chain()
    assert report.problem is None and report.rows == threads * rounds
