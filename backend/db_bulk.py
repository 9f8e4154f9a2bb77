"""Inserting many rows in one statement, without the ORM's unit of work.

On PostgreSQL one ``INSERT … SELECT FROM json_to_recordset(:rows)``: a short statement
with a single JSON parameter, whatever the number of rows. A multi-row ``VALUES`` list
of 500 rows × 40 columns costs the driver more to parse than the database to insert,
and array parameters cost it an escaping pass per element. Elsewhere (SQLite) an
executemany with ``RETURNING``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import JSON, Table, any_, bindparam, insert, text
from sqlalchemy.dialects import postgresql

from backend.extensions import db


def in_values(column, values):
    """``column IN (values)``; on PostgreSQL ``= ANY(:array)``, one parameter instead of
    one per value (a 500-value IN list costs more to parse and plan than to run)."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def column_defaults(table: Table) -> dict:
    """Every insertable column of ``table`` with its default (callables called now)."""
    defaults = {}
    for column in table.columns:
        if column.primary_key and column.autoincrement:
            continue
        default = column.default
        if default is None:
            defaults[column.name] = None
        elif default.is_callable:
            defaults[column.name] = default.arg(None)
        else:
            defaults[column.name] = default.arg
    return defaults


def insert_rows(table: Table, rows: Sequence[dict], returning: Sequence[str] = ("id",)) -> list:
    """Insert ``rows`` (dicts of column values); returns the ``returning`` columns of the
    new rows (match them to ``rows`` by a returned key, e.g. a unique one). The caller
    commits."""
    if not rows:
        return []
    defaults = column_defaults(table)
    rows = [{**defaults, **row} for row in rows]
    names = list(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        return _insert_recordset(table, names, rows, returning)
    statement = insert(table).returning(
        *(table.c[name] for name in returning), sort_by_parameter_order=True
    )
    return list(db.session.connection().execute(statement, rows))


def _insert_recordset(table: Table, names: list[str], rows: list[dict], returning) -> list:
    statement = _recordset_statement(table, tuple(names), tuple(returning))
    payload = json.dumps(rows, default=_json_default)
    if "\\u0000" in payload:  # rare: look closer only then
        payload = json.dumps(without_nul(rows), default=_json_default)
    return list(db.session.connection().execute(statement, {"rows": payload}))


def without_nul(value):
    """``value`` with NUL characters dropped from every string in it: PostgreSQL text and
    JSON cannot hold them, and a lead is kept rather than refused for one."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value


@lru_cache(maxsize=64)
def _recordset_statement(table: Table, names: tuple[str, ...], returning: tuple[str, ...]):
    pg = postgresql.dialect()
    columns = ", ".join(
        f"{name} {'json' if isinstance(table.c[name].type, JSON) else table.c[name].type.compile(dialect=pg)}"
        for name in names
    )
    return text(
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(names)} FROM json_to_recordset(CAST(:rows AS json)) AS r({columns}) "
        f"RETURNING {', '.join(returning)}"
    )


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a bulk insert")
