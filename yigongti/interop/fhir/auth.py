"""Bearer token → (user, membership) in one SQL statement, for every FHIR request.

``accounts.services.token_authenticate`` and ``core.access.active_membership`` answer the same
question in two ORM queries; on a FHIR read they were a third of the facade's own CPU, most of
it the ORM compiling the same two queries again on each request. Here the statement is built
once per process from the models' metadata (so a new column is picked up), run with the token's
hash, and the three rows become model instances through the backend's own converters. Nothing is
cached between requests: a revoked token, a deactivated user or membership, a changed role or
institution takes effect on the next request, in every process.

The rules are those of the two functions: the token unrevoked, the user active, the membership
the user's first active one by id (None when there is none).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.expressions import Col
from django.utils import timezone

from yigongti.accounts.models import ApiToken, Membership, User
from yigongti.accounts.services import TOKEN_PREFIX
from yigongti.accounts.services import _hash_token as token_hash
from yigongti.institutions.models import Institution

#: ``token_authenticate`` marks a token used at most this often.
USED_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class _Part:
    model: type[Model]
    alias: str
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Col], ...]

    def build(self, db: Any, row: tuple[Any, ...], start: int) -> Model | None:
        values = list(row[start : start + len(self.names)])
        if values[0] is None:  # no row joined (no active membership)
            return None
        for i, funcs, col in self.converters:
            for func in funcs:
                values[i] = func(values[i], col, db)
        return self.model.from_db(db.alias, list(self.names), values)


def _part(db: Any, model: type[Model], alias: str) -> _Part:
    fields = list(model._meta.concrete_fields)
    converters = []
    for i, f in enumerate(fields):
        col = Col(alias, f)
        funcs = tuple(db.ops.get_db_converters(col) + col.get_db_converters(db))
        if funcs:
            converters.append((i, funcs, col))
    return _Part(model, alias, tuple(f.attname for f in fields), tuple(converters))


@dataclass(frozen=True)
class _Statement:
    sql: str
    parts: tuple[_Part, ...]
    last_used: tuple[Col, tuple[Callable[..., Any], ...]]


#: One statement per database connection (each thread has its own; the converters are its).
_statements: weakref.WeakKeyDictionary[Any, _Statement] = weakref.WeakKeyDictionary()


def _statement(db: Any) -> _Statement:
    found = _statements.get(db)
    if found is None:
        found = _statements[db] = _build(db)
    return found


def _build(db: Any) -> _Statement:
    q = db.ops.quote_name
    parts = (_part(db, User, "u"), _part(db, Membership, "m"), _part(db, Institution, "i"))
    columns = ", ".join(f"{p.alias}.{q(f.column)}" for p in parts for f in p.model._meta.concrete_fields)
    token, member, user, inst = (
        q(ApiToken._meta.db_table),
        q(Membership._meta.db_table),
        q(User._meta.db_table),
        q(Institution._meta.db_table),
    )
    # Only quoted names from the models' metadata go into the text; the token is a parameter.
    sql = " ".join(
        (
            "SELECT",
            f"t.{q('id')}, t.{q('last_used_at')}, {columns}",
            f"FROM {token} t JOIN {user} u ON u.{q('id')} = t.{q('user_id')}",
            f"LEFT JOIN {member} m ON m.{q('id')} = (",
            f"SELECT MIN(m2.{q('id')}) FROM {member} m2",  # noqa: S608 - quoted table and column names
            f"WHERE m2.{q('user_id')} = u.{q('id')} AND m2.{q('is_active')} = %s)",
            f"LEFT JOIN {inst} i ON i.{q('id')} = m.{q('institution_id')}",
            f"WHERE t.{q('key_hash')} = %s AND t.{q('revoked_at')} IS NULL AND u.{q('is_active')} = %s",
        )
    )
    used = Col("t", ApiToken._meta.get_field("last_used_at"))
    return _Statement(sql, parts, (used, tuple(db.ops.get_db_converters(used))))


def bearer(raw: str) -> tuple[Any, Any] | None:
    """(user, first active membership or None) behind a bearer token, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    db = connections[DEFAULT_DB_ALIAS]
    statement = _statement(db)
    with db.cursor() as cursor:
        cursor.execute(statement.sql, [True, token_hash(raw), True])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, last_used = row[0], row[1]
    used_col, used_funcs = statement.last_used
    for func in used_funcs:
        last_used = func(last_used, used_col, db)
    start = 2
    built = []
    for part in statement.parts:
        built.append(part.build(db, row, start))
        start += len(part.names)
    user, membership, institution = built
    if membership is not None:
        membership.user = user  # type: ignore[attr-defined]
        membership.institution = institution  # type: ignore[attr-defined]
    now = timezone.now()
    if last_used is None or now - last_used > USED_EVERY:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user, membership
