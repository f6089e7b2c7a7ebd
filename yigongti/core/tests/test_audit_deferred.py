"""``core.audit.deferred()``: rows buffered in a block are chained at its end, in the caller's
transaction; a rollback (of the block, of a savepoint inside it, or of the caller) leaves no row
and no gap; concurrent writers on PostgreSQL still build one valid, gap-free chain."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from yigongti.core.audit import GENESIS, audit, deferred, verify_chain
from yigongti.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _event(i: int, verb: str = "test.event") -> AuditEvent:
    return audit(actor=None, verb=verb, object_type="test.thing", object_id=i, after={"i": i})


def _seqs() -> list[int]:
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def test_rows_of_a_block_are_chained_at_its_end_after_the_head():
    first = _event(0)
    with deferred():
        rows = [_event(i) for i in range(1, 4)]
        assert all(r.pk is None for r in rows)  # buffered, not yet written
        assert AuditEvent.objects.count() == 1
    assert [r.seq for r in rows] == [2, 3, 4]
    assert rows[0].prev_hash == first.hash
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    stored = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash", "after"))
    assert stored[1:] == [(r.seq, r.hash, {"i": i}) for i, r in enumerate(rows, start=1)]
    report = verify_chain()
    assert report.problem is None and report.head_hash == rows[-1].hash


def test_a_block_on_an_empty_table_starts_at_genesis():
    with deferred():
        rows = [_event(i) for i in range(2)]
    assert rows[0].seq == 1 and rows[0].prev_hash == GENESIS
    assert verify_chain().problem is None


def test_a_block_that_raises_writes_nothing_and_leaves_no_gap():
    _event(0)
    with pytest.raises(RuntimeError), deferred():
        _event(1, "test.rolled_back")
        _event(2, "test.rolled_back")
        raise RuntimeError("the write failed")
    assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()
    assert _event(3).seq == 2
    assert _seqs() == [1, 2]
    assert verify_chain().problem is None


def test_the_callers_rollback_takes_the_flushed_rows_with_it():
    _event(0)
    with pytest.raises(RuntimeError), transaction.atomic():
        with deferred():
            _event(1, "test.rolled_back")
        assert AuditEvent.objects.filter(verb="test.rolled_back").count() == 1  # flushed, not committed
        raise RuntimeError("a later write failed")
    assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()
    assert _event(2).seq == 2
    assert verify_chain().problem is None


def test_a_row_of_a_rolled_back_savepoint_inside_the_block_is_dropped():
    with deferred():
        kept = _event(1)
        try:
            with transaction.atomic():
                _event(2, "test.rolled_back")
                raise ValueError("this entry failed")
        except ValueError:
            pass
        later = _event(3)
    assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()
    assert (kept.seq, later.seq) == (1, 2)
    assert later.prev_hash == kept.hash
    assert verify_chain().problem is None


def test_nested_blocks_flush_with_the_outermost():
    with deferred():
        outer = _event(1)
        with deferred():
            inner = _event(2)
        assert inner.pk is None  # still buffered: the outer block flushes
        with pytest.raises(ValueError), deferred():
            _event(3, "test.rolled_back")
            raise ValueError("inner block failed")
    assert (outer.seq, inner.seq) == (1, 2)
    assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()
    assert verify_chain().problem is None


def test_outside_a_block_rows_are_written_at_once():
    with deferred():
        pass
    row = _event(1)
    assert row.pk is not None and row.seq == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_gap_free_chain():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database (SQLite has one writer anyway)")
    threads, rounds, per_block = 6, 5, 4
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            start.wait()
            for r in range(rounds):
                with deferred():
                    for k in range(per_block):
                        _event(n * 1000 + r * 10 + k, "test.deferred")
                _event(n * 1000 + r * 10 + 9, "test.single")
                if r == 2:
                    try:
                        with deferred():
                            _event(n, "test.rolled_back")
                            raise ValueError("rolled back")
                    except ValueError:
                        pass
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    expected = threads * rounds * (per_block + 1)
    assert _seqs() == list(range(1, expected + 1))
    assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()
    report = verify_chain()
    assert report.problem is None and report.rows == expected
