"""The audit trail: every write, and every read of a resident's personal record.

``audit()`` appends one row in the caller's transaction, so the change and its record commit or
roll back together. Rows form a hash chain: each row's hash covers its whole content and its
predecessor's hash; ``verify_chain`` walks the table and reports the first row that was changed,
removed or inserted.

Appending takes one PostgreSQL advisory transaction lock (the gap-free ``seq`` and the chain need
one writer at a time), held until the surrounding transaction ends. Three ways keep that short:

- a row written outside any transaction (a read of personal data, audited at the end of
  handling, after the data was read and before it is sent) is **group-committed**: the threads of
  a process that audit at the same moment hand their rows to one of them, which chains them all
  in one short transaction (one lock, one head lookup, one INSERT, one COMMIT and its WAL flush);
  each caller returns only once its row is committed, and gets the error if it was not;
- a transaction that writes many rows wraps them in ``deferred()``: ``audit()`` then buffers, and
  the block's end chains every buffered row at once (one lock, one head lookup, one bulk INSERT),
  still inside the caller's transaction, so the lock is held only from that flush to the commit;
- a row written inside a caller's transaction joins it (the change and its record commit
  together).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_ipv46_address
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .context import current_request
from .models import AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 774_411_823  # any constant; names the advisory lock that serialises the chain


def _jsonable(value: Any) -> Any:
    """Dates, decimals and UUIDs as strings, exactly as they will read back from the database."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_digest(row: AuditEvent) -> str:
    """The hash of one row's content, chained to ``row.prev_hash``."""
    content = [
        row.seq,
        _instant(row.occurred_at),
        row.actor_id,
        row.actor_username,
        row.membership_id,
        row.role,
        row.institution_id,
        row.verb,
        row.object_type,
        str(row.object_id),
        row.before,
        row.after,
        row.request_id,
        row.ip,
        row.prev_hash,
    ]
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clean_ip(ip: str | None) -> str | None:
    """The address exactly as the database will give it back (IPv6 compressed, lower case), so
    that the hash computed before saving matches the row read later; not an address: None."""
    if not ip:
        return None
    try:
        validate_ipv46_address(ip)
    except ValidationError:
        return None
    return AuditEvent._meta.get_field("ip").get_prep_value(ip)


def _lock_chain() -> None:
    """Serialise appends. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """A JSON-able dict of a model's concrete fields (foreign keys as ids)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in {"password"}:
            continue
        data[field.attname] = getattr(instance, field.attname)
    return _jsonable(data)


@dataclass
class _Pending:
    """A row buffered by ``deferred()``, with the on-commit marker that tells whether the
    savepoint it was written in was rolled back before the flush."""

    row: AuditEvent
    marker: Callable[[], None]


@dataclass
class _Buffer:
    pending: list[_Pending] = dc_field(default_factory=list)


_buffer: contextvars.ContextVar[_Buffer | None] = contextvars.ContextVar("ygt_audit_buffer", default=None)


def _row(
    *,
    actor: Any,
    verb: str,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    membership: Any,
    institution_id: int | None,
) -> AuditEvent:
    """An unchained row: everything but ``seq``, ``prev_hash`` and ``hash``."""
    info = current_request()
    if membership is not None and institution_id is None:
        institution_id = membership.institution_id
    user_id = getattr(actor, "pk", None)
    return AuditEvent(
        occurred_at=timezone.now(),
        actor_id=user_id,
        actor_username=getattr(actor, "username", "") if user_id else "system",
        membership_id=getattr(membership, "pk", None),
        role=getattr(membership, "role", "") or "",
        institution_id=institution_id,
        verb=verb,
        object_type=object_type or "",
        object_id=str(object_id if object_id is not None else ""),
        before=_jsonable(before),
        after=_jsonable(after),
        request_id=info.request_id,
        ip=_clean_ip(info.ip),
    )


def _append(rows: list[AuditEvent]) -> None:
    """Chain ``rows`` after the current head and insert them: one lock, one lookup, one INSERT.
    Must run inside a transaction (the lock lasts until it ends)."""
    _lock_chain()
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1")  # noqa: S608
        last = cursor.fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    for row in rows:
        row.seq, row.prev_hash = seq, prev
        row.hash = row_digest(row)
        seq, prev = seq + 1, row.hash
    for start in range(0, len(rows), 500):
        _insert(rows[start : start + 500])


def _insert(rows: list[AuditEvent]) -> None:
    """One INSERT … RETURNING for the rows, written without the ORM's save machinery (it was
    most of the cost of auditing a read); each value is prepared by its own field, so the row
    reads back exactly as the hash saw it. Audit rows have no signals and no save logic of
    their own beyond refusing updates, which an insert never is."""
    meta = AuditEvent._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    q = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([one] * len(rows))} RETURNING {q(meta.pk.column)}"
    )
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [found[0] for found in cursor.fetchall()]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding, row._state.db = False, connection.alias


def audit(
    *,
    actor: Any,
    verb: str,
    subject: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    membership: Any = None,
    institution_id: int | None = None,
) -> AuditEvent:
    """Append one audit row in the current transaction.

    ``actor`` is a user (or None for the system); ``membership`` the role they acted in, whose
    institution is recorded unless ``institution_id`` says otherwise. Inside ``deferred()`` the
    row is buffered and gets its ``seq`` and ``hash`` when the block ends.
    """
    if subject is not None:
        object_type = object_type or subject._meta.label_lower
        object_id = object_id or subject.pk
    row = _row(
        actor=actor,
        verb=verb,
        object_type=object_type or "",
        object_id=object_id,
        before=before,
        after=after,
        membership=membership,
        institution_id=institution_id,
    )
    buffer = _buffer.get()
    if buffer is not None and connection.in_atomic_block:
        marker = _marker()
        transaction.on_commit(marker)
        buffer.pending.append(_Pending(row, marker))
        return row
    if connection.in_atomic_block:
        with transaction.atomic():
            _append([row])
        return row
    _group.append(row)
    return row


class _Waiter:
    """One caller's row in the group commit: set once the row is committed (or failed), or
    once this caller is promoted to write the next group."""

    __slots__ = ("error", "event", "promoted", "row")

    def __init__(self, row: AuditEvent) -> None:
        self.row = row
        self.event = threading.Event()
        self.promoted = False
        self.error: BaseException | None = None


class _GroupCommit:
    """Rows of callers outside any transaction, committed a group at a time (leader/follower).

    The first caller to arrive while nobody writes is the leader: it takes every row queued so
    far, chains them in one transaction on its own connection and wakes their callers. Rows
    that arrive meanwhile wait for the next group, whose first caller the leader promotes, so no
    caller writes more than one group. One transaction per group instead of one per row:
    under concurrent reads, the chain's lock and the WAL flush are paid once per group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Waiter] = []
        self._busy = False

    def append(self, row: AuditEvent) -> None:
        me = _Waiter(row)
        with self._lock:
            self._queue.append(me)
            lead = not self._busy
            self._busy = True
        if not lead:
            me.event.wait()
            if not me.promoted:
                if me.error is not None:
                    raise DatabaseError(_("The audit row could not be written.")) from me.error
                return
        with self._lock:
            group, self._queue = self._queue, []
        error: BaseException | None = None
        try:
            with transaction.atomic():
                _append([w.row for w in group])
        except BaseException as exc:  # every caller of the group learns of it
            error = exc
        with self._lock:
            following = self._queue[0] if self._queue else None
            if following is not None:
                following.promoted = True
            else:
                self._busy = False
        for waiter in group:
            if waiter is not me:
                waiter.error = error
                waiter.event.set()
        if following is not None:
            following.event.set()
        if error is not None:
            raise error


_group = _GroupCommit()


def _marker() -> Callable[[], None]:
    def marker() -> None:
        """Does nothing after the commit; before it, its presence in the connection's on-commit
        list says the savepoint that buffered the row was not rolled back."""

    return marker


def _alive(pending: list[_Pending]) -> list[AuditEvent]:
    """The buffered rows whose savepoint survived (Django drops a rolled-back savepoint's
    on-commit callbacks, and with them our markers)."""
    present = {id(entry[1]) for entry in connection.run_on_commit}  # (savepoint ids, func, robust)
    return [p.row for p in pending if id(p.marker) in present]


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Buffer the block's audit rows and chain them all at its end, in one transaction with the
    block's writes (the block is atomic: it opens a transaction, or a savepoint in the caller's).

    Use it around a transaction that writes many rows (a transaction Bundle, a bulk service):
    the chain's lock is then taken once, at the end, instead of at the first row. Nested blocks
    flush with the outermost one. A row buffered in a savepoint that was rolled back is dropped
    with it, so a rollback leaves neither rows nor a gap in ``seq``.
    """
    if _buffer.get() is not None:
        with transaction.atomic():
            yield
        return
    buffer = _Buffer()
    token = _buffer.set(buffer)
    try:
        with transaction.atomic():
            yield
            rows = _alive(buffer.pending)
            _buffer.reset(token)
            buffer.pending.clear()
            if rows:
                _append(rows)
    finally:
        if _buffer.get() is buffer:
            _buffer.reset(token)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # "changed", "removed", "inserted"
    detail: str

    @property
    def kind_label(self) -> str:
        """The kind in the reader's language (``kind`` stays English for scripts)."""
        labels = {
            "changed": _("a row was changed"),
            "removed": _("rows were removed"),
            "inserted": _("a row was inserted"),
        }
        return str(labels.get(self.kind, self.kind))


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None


def _rows() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)


def verify_chain() -> ChainReport:
    """Walk the chain in order and stop at the first row that does not fit.

    - a row whose hash does not match its own content was *changed*;
    - a gap in ``seq`` means rows were *removed* (the problem names the first missing row);
    - a row whose content matches its hash but whose ``prev_hash`` is not its predecessor's hash
      was *inserted* (or its predecessor replaced).
    Removal of the newest rows cannot be seen from inside the table: compare ``head_hash`` with
    one written down elsewhere (the operations guide says how).
    """
    expected_seq = 1
    prev_hash = GENESIS
    count = 0
    for row in _rows():
        count += 1
        if row.seq != expected_seq:
            problem = ChainProblem(
                expected_seq,
                "removed",
                f"rows {expected_seq}..{row.seq - 1} are missing before row {row.seq}",
            )
            return ChainReport(count, row.seq, row.hash, problem)
        if row_digest(row) != row.hash:
            return ChainReport(
                count, row.seq, row.hash, ChainProblem(row.seq, "changed", "content does not match its hash")
            )
        if row.prev_hash != prev_hash:
            problem = ChainProblem(
                row.seq, "inserted", "its previous-hash is not the hash of the row before it"
            )
            return ChainReport(count, row.seq, row.hash, problem)
        prev_hash = row.hash
        expected_seq += 1
    return ChainReport(count, expected_seq - 1, prev_hash, None)
