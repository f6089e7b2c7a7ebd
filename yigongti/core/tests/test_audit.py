"""The audit trail: appended in the writer's transaction, hash-chained, and every kind of tampering
(through raw SQL, since the model refuses edits) found at the right row by ``verify_audit``."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from yigongti.core.audit import GENESIS, audit, row_digest, verify_chain
from yigongti.core.context import RequestInfo, reset_current_request, set_current_request
from yigongti.core.models import AuditEvent

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table
COLUMNS = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{t}", connection.ops.quote_name(TABLE)), params)


def _chain(n: int) -> list[AuditEvent]:
    return [
        audit(actor=None, verb="test.event", object_type="test.thing", object_id=i, after={"i": i})
        for i in range(1, n + 1)
    ]


def _verify_command() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def _problem() -> str:
    with pytest.raises(CommandError) as info:
        _verify_command()
    assert info.value.returncode == 1
    return str(info.value)


def _copy_row(source_seq: int, new_seq: int, prev_hash: str) -> None:
    """Insert a copy of one row under a new seq and prev_hash, with a hash that fits its content:
    what a forger who knows the algorithm would write."""
    cols = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    select = ", ".join("%s" if c in ("seq", "prev_hash") else connection.ops.quote_name(c) for c in COLUMNS)
    params = [{"seq": new_seq, "prev_hash": prev_hash}[c] for c in COLUMNS if c in ("seq", "prev_hash")]
    statement = f"INSERT INTO {{t}} ({cols}) SELECT {select} FROM {{t}} WHERE seq = %s"  # noqa: S608 - model column names
    _sql(statement, [*params, source_seq])
    forged = AuditEvent.objects.get(seq=new_seq)
    _sql("UPDATE {t} SET hash = %s WHERE seq = %s", [row_digest(forged), new_seq])


def test_rows_are_chained_from_genesis(db):
    rows = _chain(3)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    report = verify_chain()
    assert report.problem is None
    assert (report.rows, report.head_seq, report.head_hash) == (3, 3, rows[2].hash)


def test_the_row_rolls_back_with_the_write_it_records(db):
    _chain(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit(actor=None, verb="test.rolled_back", object_type="test.thing")
        raise RuntimeError("the write failed")
    assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()
    assert audit(actor=None, verb="test.after", object_type="test.thing").seq == 2
    assert verify_chain().problem is None


def test_the_model_refuses_edits_and_deletes(db):
    row = _chain(1)[0]
    row.verb = "test.changed"
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        row.delete()
    assert AuditEvent.objects.get(seq=1).verb == "test.event"


def test_actor_membership_and_request_are_recorded(county):
    from yigongti.accounts.models import Membership

    user = county.users["village_doctor"]
    membership = Membership.objects.get(user=user)
    token = set_current_request(RequestInfo(request_id="req-42", ip="10.1.2.3"))
    try:
        row = audit(actor=user, verb="test.event", subject=county.village, membership=membership)
    finally:
        reset_current_request(token)
    row = AuditEvent.objects.get(pk=row.pk)
    assert (row.actor_id, row.actor_username, row.role) == (user.pk, "t_village_doctor", "village_doctor")
    assert row.institution_id == county.village.pk
    assert (row.object_type, row.object_id) == ("institutions.institution", str(county.village.pk))
    assert (row.request_id, row.ip) == ("req-42", "10.1.2.3")
    assert verify_chain().problem is None


@pytest.mark.parametrize(
    ("remote", "stored"),
    [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("not-an-address", None),
        ("", None),
    ],
)
def test_client_addresses_are_stored_as_read_back_so_the_chain_verifies(db, remote, stored):
    token = set_current_request(RequestInfo(request_id="r", ip=remote))
    try:
        audit(actor=None, verb="test.event", object_type="test.thing")
    finally:
        reset_current_request(token)
    assert AuditEvent.objects.get(seq=1).ip == stored
    assert verify_chain().problem is None


def test_verify_audit_reports_rows_and_head_and_exits_zero(db):
    rows = _chain(4)
    out = _verify_command()
    assert "rows checked: 4" in out
    assert f"head: row 4 hash {rows[-1].hash}" in out
    assert "intact" in out


def test_empty_table_is_intact(db):
    out = _verify_command()
    assert "rows checked: 0" in out
    assert GENESIS in out


def test_changed_row_is_reported_at_its_number(db):
    _chain(8)
    _sql("UPDATE {t} SET verb = %s WHERE seq = %s", ["test.forged", 5])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (5, "changed")
    assert "first problem at row 5: changed" in _problem()


def test_changed_payload_is_reported(db):
    _chain(6)
    _sql("UPDATE {t} SET object_id = %s WHERE seq = %s", ["999", 3])
    assert "first problem at row 3: changed" in _problem()


def test_rewritten_row_with_a_fresh_hash_is_caught_at_the_next_row(db):
    """A forger who rehashes the row they edited still breaks the link to the row after it."""
    _chain(6)
    _sql("UPDATE {t} SET verb = %s WHERE seq = %s", ["test.forged", 3])
    _sql("UPDATE {t} SET hash = %s WHERE seq = %s", [row_digest(AuditEvent.objects.get(seq=3)), 3])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (4, "inserted")


def test_removed_row_is_reported_by_its_number(db):
    _chain(8)
    _sql("DELETE FROM {t} WHERE seq = %s", [5])
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (5, "removed")
    assert "first problem at row 5: removed" in _problem()


def test_removed_first_rows_are_reported(db):
    _chain(4)
    _sql("DELETE FROM {t} WHERE seq <= %s", [2])
    assert "first problem at row 1: removed" in _problem()


def test_row_inserted_in_a_gap_is_reported(db):
    """Delete row 5 and put a self-consistent forged row in its place: its link is wrong."""
    _chain(8)
    _sql("DELETE FROM {t} WHERE seq = %s", [5])
    _copy_row(source_seq=2, new_seq=5, prev_hash="f" * 64)
    report = verify_chain()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (5, "inserted")
    assert "first problem at row 5: inserted" in _problem()


def test_row_appended_behind_the_chain_is_reported(db):
    _chain(5)
    _copy_row(source_seq=3, new_seq=6, prev_hash=GENESIS)
    assert "first problem at row 6: inserted" in _problem()


def test_intact_chain_after_a_county_is_built(county):
    report = verify_chain()
    assert report.problem is None
    assert report.rows == AuditEvent.objects.count() > 20
