"""The statements that have a PostgreSQL form, each beside its portable twin.

PostgreSQL-specific SQL of the request path lives here: each public function picks its
``…_postgresql`` or ``…_portable`` twin (SQLite, or any other database) by the session's
dialect, and both twins take the same inputs and give the same answer
(``tests/core/test_db_twins.py`` runs both on PostgreSQL and compares).

Bulk inserts have one technique on PostgreSQL: ``INSERT … SELECT FROM
json_to_recordset(:rows)``, a short statement with a single JSON parameter whatever the
number of rows. A multi-row ``VALUES`` list of 500 rows × 40 columns costs the driver more
to parse than the database to insert, and array parameters cost it an escaping pass per
element (``bench/ingest.py`` measures capture, which writes this way). The portable twin
is an executemany with ``RETURNING``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import orjson
import psycopg
from psycopg.pq import ExecStatus
from sqlalchemy import (
    JSON,
    Integer,
    Select,
    String,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause

from backend.extensions import db

TUPLES_OK = ExecStatus.TUPLES_OK


def on_postgresql() -> bool:
    """True when the session's database is PostgreSQL (the one dialect check).

    The session's bind is the app's one engine (``Session.get_bind`` without a mapper);
    asked of the engine directly, the check costs a third (capture asks it four times)."""
    return db.engine.dialect.name == "postgresql"


def run_prepared(statement: TextClause, params: dict) -> list[tuple]:
    """Run a PostgreSQL ``text()`` statement on the session's connection as a prepared
    statement and return its rows, without SQLAlchemy's result machinery.

    Capture's few statements pay this path instead of ``Connection.execute``, which
    costs two to three times the driver's own work per statement (result metadata
    built from the cursor each time). What SQLAlchemy would do around the cursor still
    happens: its cursor events fire (statement counts, the read-request check) and a
    driver error is raised as SQLAlchemy's own (``IntegrityError`` …)."""
    connection = db.session.connection()
    sql = _driver_sql(statement)
    raw, names = _positional(sql)
    # A raw cursor takes the ``$n`` form made once here: psycopg would otherwise parse
    # the ``%(name)s`` form at every run of a statement longer than it caches (capture's
    # insert of a lead and its rows is).
    cursor = psycopg.RawCursor(connection.connection.dbapi_connection)
    events = connection._has_events or connection.engine._has_events
    try:
        if events:
            connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, False)
        try:
            cursor.execute(raw, [params[name] for name in names], prepare=True)
            # The result's status, not ``cursor.description`` (a Column object per column
            # built to be thrown away): rows only when the statement returned some.
            result = cursor.pgresult
            rows = cursor.fetchall() if result is not None and result.status == TUPLES_OK else []
        except psycopg.Error as exc:
            raise DBAPIError.instance(
                sql, params, exc, psycopg.Error, dialect=connection.dialect
            ) from exc
        if events:
            connection.dispatch.after_cursor_execute(connection, cursor, sql, params, None, False)
        return rows
    finally:
        cursor.close()


@lru_cache(maxsize=64)
def _driver_sql(statement: TextClause) -> str:
    return str(statement.compile(dialect=postgresql.psycopg.dialect()))


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@lru_cache(maxsize=64)
def _positional(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``sql``'s ``%(name)s`` placeholders as ``$1``, ``$2`` … (one number per name) and the
    names in that order; ``%%`` as ``%``. As UTF-8 (the connections' encoding): psycopg
    would encode the text at every run, and hash that new copy to find it prepared."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql).encode("utf-8"), tuple(names)


# --------------------------------------------------------------------------- IN lists


def in_values(column, values):
    """``column IN (values)``; on PostgreSQL ``= ANY(:array)``, one parameter instead of
    one per value (a 500-value IN list costs more to parse and plan than to run)."""
    twin = in_values_postgresql if on_postgresql() else in_values_portable
    return twin(column, values)


def in_values_postgresql(column, values):
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))


def in_values_portable(column, values):
    return column.in_(list(values))


# --------------------------------------------------------------------------- inserts


@lru_cache(maxsize=64)
def _defaults_of(table: Table) -> tuple[dict, tuple]:
    # Read from the table once: the fixed defaults, and the callables to call per insert.
    fixed, called = {}, []
    for column in table.columns:
        if column.primary_key and column.autoincrement:
            continue
        default = column.default
        if default is None:
            fixed[column.name] = None
        elif default.is_callable:
            called.append((column.name, default.arg))
        else:
            fixed[column.name] = default.arg
    return fixed, tuple(called)


def insert_rows(
    table: Table,
    rows: Sequence[dict],
    returning: Sequence[str] = ("id",),
    skip_existing: Sequence[str] = (),
) -> list:
    """Insert ``rows`` (dicts of column values; the table's defaults fill the rest) and
    return the ``returning`` columns of the new rows (match them to ``rows`` by a
    returned key, e.g. a unique one). ``skip_existing`` names the columns of a unique
    constraint: a row that would repeat one is skipped (``ON CONFLICT DO NOTHING``) and
    returns nothing. The caller commits."""
    if not rows:
        return []
    twin = insert_rows_postgresql if on_postgresql() else insert_rows_portable
    return twin(table, rows, returning, skip_existing)


def _complete(table: Table, rows: Sequence[dict]) -> list[dict]:
    """``rows`` with every insertable column of ``table``: what a row lacks takes the
    column's default. A callable default is called once for all the rows, and only when
    some row lacks its column (a lead's rows give their times, flags and answers)."""
    fixed, called = _defaults_of(table)
    made = {name: make(None) for name, make in called if any(name not in row for row in rows)}
    defaults = {**fixed, **made} if made else fixed
    return [{**defaults, **row} for row in rows]


def insert_rows_postgresql(
    table: Table, rows: Sequence[dict], returning: Sequence[str], skip_existing: Sequence[str]
) -> list:
    rows = _complete(table, rows)
    statement = _recordset_statement(table, tuple(rows[0]), tuple(returning), tuple(skip_existing))
    return run_prepared(statement, {"rows": _json_rows(rows)})


def insert_rows_portable(
    table: Table, rows: Sequence[dict], returning: Sequence[str], skip_existing: Sequence[str]
) -> list:
    rows = _complete(table, rows)
    columns = [table.c[name] for name in returning]
    if skip_existing:
        # ON CONFLICT, which SQLAlchemy spells per dialect; rows skipped return nothing,
        # so the results cannot be matched to the rows by position.
        dialect_insert = postgresql.insert if on_postgresql() else sqlite.insert
        statement = (
            dialect_insert(table)
            .on_conflict_do_nothing(index_elements=list(skip_existing))
            .returning(*columns)
        )
    else:
        statement = insert(table).returning(*columns, sort_by_parameter_order=True)
    return list(db.session.connection().execute(statement, rows))


def insert_rows_together(
    groups: Sequence[tuple[Table, Sequence[dict]]], returning: Sequence[str] = ("id",)
) -> list:
    """Insert the rows of several tables as one unit, in order, and return the
    ``returning`` columns of the last group's rows (none when it has no rows).

    Each group is ``(table, rows)``; a group's rows may refer to rows of the groups before
    it, so the caller gives every key (capture reserves its leads' ids first, see
    ``known_leads``). On PostgreSQL this is one statement, each group an
    ``INSERT … SELECT FROM json_to_recordset`` in its ``WITH`` (the foreign keys are checked
    at its end); elsewhere one insert per group. The caller commits."""
    if not groups[-1][1]:
        returning = ()
    groups = [(table, rows) for table, rows in groups if rows]
    if not groups:
        return []
    twin = insert_rows_together_postgresql if on_postgresql() else insert_rows_together_portable
    return twin(groups, tuple(returning))


def insert_rows_together_postgresql(
    groups: Sequence[tuple[Table, Sequence[dict]]], returning: Sequence[str]
) -> list:
    completed = [_complete(table, rows) for table, rows in groups]
    shape = tuple(
        (table, tuple(rows[0])) for (table, _), rows in zip(groups, completed, strict=True)
    )
    statement = _together_statement(shape, tuple(returning))
    params = {f"rows{n}": _json_rows(rows) for n, rows in enumerate(completed)}
    return run_prepared(statement, params)


def insert_rows_together_portable(
    groups: Sequence[tuple[Table, Sequence[dict]]], returning: Sequence[str]
) -> list:
    *first, (last_table, last_rows) = groups
    for table, rows in first:
        db.session.connection().execute(insert(table), _complete(table, rows))
    if not returning:
        db.session.connection().execute(insert(last_table), _complete(last_table, last_rows))
        return []
    return insert_rows_portable(last_table, last_rows, returning, ())


# One encoder for every insert: ``json.dumps(…, default=…)`` builds a new one per call.
_ENCODER = json.JSONEncoder(default=lambda value: _json_default(value))


def _json_rows(rows: list[dict]) -> str:
    try:
        # orjson writes datetimes, dates and UUIDs as ``_json_default`` does (ISO 8601, the
        # offset kept), several times faster: a capture encodes four sets of rows.
        payload = orjson.dumps(rows, default=_json_default).decode()
    except TypeError:  # what orjson refuses (a lone surrogate, an integer past 64 bits)
        payload = _ENCODER.encode(rows)
    if "\\u0000" in payload:  # rare: look closer only then
        payload = _ENCODER.encode(without_nul(rows))
    return payload


@lru_cache(maxsize=64)
def _recordset_statement(
    table: Table, names: tuple[str, ...], returning: tuple[str, ...], skip: tuple[str, ...]
):
    conflict = f" ON CONFLICT ({', '.join(skip)}) DO NOTHING" if skip else ""
    return text(
        f"{_recordset_insert(table, names, 'rows')}{conflict} RETURNING {', '.join(returning)}"
    )


@lru_cache(maxsize=64)
def _together_statement(
    shape: tuple[tuple[Table, tuple[str, ...]], ...], returning: tuple[str, ...]
):
    *first, (last_table, last_names) = shape
    ctes = ", ".join(
        f"g{n} AS ({_recordset_insert(table, names, f'rows{n}')})"
        for n, (table, names) in enumerate(first)
    )
    last = _recordset_insert(last_table, last_names, f"rows{len(first)}")
    tail = f" RETURNING {', '.join(returning)}" if returning else ""
    return text(f"WITH {ctes} {last}{tail}" if ctes else f"{last}{tail}")


def _recordset_insert(
    table: Table, names: tuple[str, ...], param: str, new_lead: bool = False
) -> str:
    """``INSERT INTO table (names) SELECT … FROM json_to_recordset(:param)``. ``new_lead``:
    rows of one lead not yet numbered (``NEW_LEAD_ID``) take the id of the statement's ``n``
    (see ``insert_new_lead_unless_known``), in ``lead.id``, every ``lead_id`` and the keys
    of its messages."""
    pg = postgresql.dialect()
    columns = ", ".join(
        f"{name} {'json' if isinstance(table.c[name].type, JSON) else table.c[name].type.compile(dialect=pg)}"
        for name in names
    )
    values, source = names, ""
    if new_lead:
        values = tuple(_new_lead_value(table, name) for name in names)
        source = "n, "
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(values)} FROM {source}json_to_recordset(CAST(:{param} AS json)) AS r({columns})"
    )


def _new_lead_value(table: Table, name: str) -> str:
    if name == "lead_id" or (table.name == "lead" and name == "id"):
        return "n.id"
    if table.name == "message" and name == "key":  # autoresponder:lead:{id}, webhook:…:lead:{id}:…
        return f"replace(r.key, ':lead:{NEW_LEAD_ID}', ':lead:' || n.id)"
    return f"r.{name}"


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


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a bulk insert")


# --------------------------------------------------------------------------- rows as a table


def rows_as_table(table: Table, rows: Sequence[dict]) -> Select:
    """``rows`` (dicts holding every column of ``table`` but ``id``) as a SELECT with
    those columns, named and typed as ``table``'s: rows computed once and read by several
    statements, each of which would otherwise compute them again.

    On PostgreSQL ``SELECT … FROM json_to_recordset(:rows)``, one parameter whatever the
    number of rows (as the bulk inserts above); the portable twin is one SELECT of bound
    values per row, joined by UNION ALL."""
    twin = rows_as_table_postgresql if on_postgresql() else rows_as_table_portable
    return twin(table, rows)


def _names_but_id(table: Table) -> list[str]:
    return [column.name for column in table.c if column.name != "id"]


def rows_as_table_postgresql(table: Table, rows: Sequence[dict]) -> Select:
    names = _names_but_id(table)
    payload = cast(literal(_json_rows([{name: row[name] for name in names} for row in rows])), JSON)
    records = (
        func.json_to_recordset(payload)
        .table_valued(*(sql_column(name, table.c[name].type) for name in names))
        .render_derived(name="r", with_types=True)
    )
    return select(*(records.c[name] for name in names))


def rows_as_table_portable(table: Table, rows: Sequence[dict]) -> Select:
    names = _names_but_id(table)

    def one(row: dict | None) -> Select:
        return select(
            *(literal(None if row is None else row[name], table.c[name].type).label(name)
              for name in names)
        )  # fmt: skip

    if not rows:
        return one(None).where(false())
    if len(rows) == 1:
        return one(rows[0])
    # Selected from as a whole: SQLite takes no parenthesised UNION inside another UNION.
    return select(union_all(*(one(row) for row in rows)).subquery("r"))


# --------------------------------------------------------------------------- known leads


def known_leads(
    client_ids: Iterable[uuid.UUID],
    emails: Iterable[tuple[int, str]],
    phones: Iterable[tuple[int, str]],
    *,
    reserve_ids: bool = False,
    bearer: tuple[str, str] | None = None,
) -> list[tuple]:
    """What is stored about a capture batch, in one query: rows of ``(kind, lead_id,
    client_id, event_id, email, phone)``. ``uuid`` rows: a lead or merged capture already
    has one of ``client_ids``; ``person`` rows: a lead of that event has one of the
    ``(event_id, normalised e-mail)`` ``emails`` or ``(event_id, normalised phone)``
    ``phones``; ``unsubscribed`` rows: one of those e-mails unsubscribed.

    ``reserve_ids``: on PostgreSQL, also a ``new_id`` row for each of ``client_ids`` that
    nothing stored has yet, with an id taken from the lead sequence for the lead it may
    become, so that the lead and its rows go in with one statement
    (``insert_rows_together``). An id not used is a gap, as a rolled-back insert leaves.
    The portable twin reserves none (its inserts return the new ids).

    ``bearer``: on PostgreSQL, a ``(token hash, digest of the user's row)`` that the
    request took its user from (``access.pending_bearer``); a ``bearer`` row says the token
    is unrevoked, its user active and unchanged. The portable twin is never asked."""
    if not on_postgresql():
        return known_leads_portable(list(set(client_ids)), sorted(set(emails)), sorted(set(phones)))
    return known_leads_postgresql(
        list(set(client_ids)), sorted(set(emails)), sorted(set(phones)), reserve_ids, bearer
    )


# A capture's user taken from what the process read before (``access.pending_bearer``) is
# confirmed by the lookup: its ``bearer`` row. No id is reserved for a token the database
# refuses; what else was read is not used (the request reads the token again).
_BEARER_CONFIRMED = """
    FROM api_token t JOIN "user" u ON u.id = t.user_id
   WHERE t.token_hash = CAST(:token_hash AS text) AND t.revoked_at IS NULL AND u.active
     AND md5(u::text) = CAST(:user_digest AS text)"""
_BEARER_ROW = f"""
    UNION ALL
    SELECT 'bearer', t.id, NULL, NULL, NULL, NULL {_BEARER_CONFIRMED}
"""
_NO_BEARER_OR_CONFIRMED = (
    f"(CAST(:token_hash AS text) IS NULL OR EXISTS (SELECT 1 {_BEARER_CONFIRMED}))"
)

# Each lookup probes its unique or (event, contact) index once per element of an array
# parameter. Psycopg prepares a statement it runs often; the prepared plan of the former
# ``column = ANY($1)`` form, made while the lead table was small, stayed a sequential scan
# comparing every row with the whole array, so a batch of 500 cost more with every lead
# stored (170 ms at 15,000 leads). A plain join to ``unnest($1)`` was no cure either:
# PostgreSQL plans a prepared statement's first five runs on each connection with the
# arrays' real lengths, and for 500 e-mails of one event it chose to hash the whole lead
# table (two to four times the generic plan's time at 20,000 leads, growing with it).
# Each probe is therefore a LATERAL subquery on the element, kept apart by ``OFFSET 0``:
# a nested loop over the index whatever the plan and the table's size.
_KNOWN_PG = text(
    """
    SELECT 'uuid', x.id, k.client_id, x.event_id::bigint, NULL::text, NULL::text
      FROM unnest(CAST(:client_ids AS uuid[])) AS k(client_id)
     CROSS JOIN LATERAL (SELECT l.id, l.event_id FROM lead l
                          WHERE l.client_id = k.client_id OFFSET 0) x
    UNION ALL
    SELECT 'uuid', x.lead_id, k.client_id, x.event_id, NULL, NULL
      FROM unnest(CAST(:client_ids AS uuid[])) AS k(client_id)
     CROSS JOIN LATERAL (SELECT m.lead_id, ml.event_id
                           FROM merged_capture m JOIN lead ml ON ml.id = m.lead_id
                          WHERE m.client_id = k.client_id OFFSET 0) x
    UNION ALL
    SELECT 'person', x.id, NULL, p.event_id, x.email_normalized, x.phone_normalized
      FROM unnest(CAST(:email_events AS bigint[]), CAST(:emails AS text[])) AS p(event_id, email)
     CROSS JOIN LATERAL (SELECT l.id, l.email_normalized, l.phone_normalized FROM lead l
                          WHERE l.event_id = p.event_id AND l.email_normalized = p.email
                          OFFSET 0) x
    UNION ALL
    SELECT 'person', x.id, NULL, p.event_id, x.email_normalized, x.phone_normalized
      FROM unnest(CAST(:phone_events AS bigint[]), CAST(:phones AS text[])) AS p(event_id, phone)
     CROSS JOIN LATERAL (SELECT l.id, l.email_normalized, l.phone_normalized FROM lead l
                          WHERE l.event_id = p.event_id AND l.phone_normalized = p.phone
                          OFFSET 0) x
    UNION ALL
    SELECT 'unsubscribed', NULL, NULL, NULL, x.email, NULL
      FROM unnest(CAST(:unsubscribe_emails AS text[])) AS k(email)
     CROSS JOIN LATERAL (SELECT u.email FROM unsubscribe u WHERE u.email = k.email OFFSET 0) x
    UNION ALL
    SELECT 'new_id', nextval(pg_get_serial_sequence('lead', 'id')), k.client_id, NULL, NULL, NULL
      FROM unnest(CAST(:client_ids AS uuid[])) AS k(client_id)
     WHERE CAST(:reserve AS boolean) AND """
    + _NO_BEARER_OR_CONFIRMED
    + """
       AND NOT EXISTS (SELECT 1 FROM lead l WHERE l.client_id = k.client_id OFFSET 0)
       AND NOT EXISTS (SELECT 1 FROM merged_capture m WHERE m.client_id = k.client_id OFFSET 0)
    """
    + _BEARER_ROW
)

# The same for one lead (the single-lead endpoint, the visitor form), with plain
# parameters. PostgreSQL plans the array form anew at every run (its cached generic plan
# expects a hundred elements per array, so it never looks cheaper than a fresh plan),
# and planning costs more than running it; the plain form's generic plan is as good as
# a fresh one and is kept.
_KNOWN_ONE_PARTS = """
    SELECT 'uuid', l.id, l.client_id, l.event_id::bigint, NULL::text, NULL::text
      FROM lead l WHERE l.client_id = CAST(:client_id AS uuid)
    UNION ALL
    SELECT 'uuid', m.lead_id, m.client_id, ml.event_id, NULL, NULL
      FROM merged_capture m JOIN lead ml ON ml.id = m.lead_id
     WHERE m.client_id = CAST(:client_id AS uuid)
    UNION ALL
    SELECT 'person', l.id, NULL, l.event_id, l.email_normalized, l.phone_normalized
      FROM lead l
     WHERE l.event_id = CAST(:email_event AS bigint) AND l.email_normalized = CAST(:email AS text)
    UNION ALL
    SELECT 'person', l.id, NULL, l.event_id, l.email_normalized, l.phone_normalized
      FROM lead l
     WHERE l.event_id = CAST(:phone_event AS bigint) AND l.phone_normalized = CAST(:phone AS text)
    UNION ALL
    SELECT 'unsubscribed', NULL, NULL, NULL, u.email, NULL
      FROM unsubscribe u WHERE u.email = CAST(:email AS text)
"""
_KNOWN_ONE_PG = text(
    _KNOWN_ONE_PARTS
    + """
    UNION ALL
    SELECT 'new_id', nextval(pg_get_serial_sequence('lead', 'id')), CAST(:client_id AS uuid),
           NULL, NULL, NULL
     WHERE CAST(:reserve AS boolean) AND """
    + _NO_BEARER_OR_CONFIRMED
    + """
       AND NOT EXISTS (SELECT 1 FROM lead l WHERE l.client_id = CAST(:client_id AS uuid))
       AND NOT EXISTS (SELECT 1 FROM merged_capture m WHERE m.client_id = CAST(:client_id AS uuid))
    """
    + _BEARER_ROW
)


# One new lead (the single-lead endpoint) in one statement: the lookup above, its token's
# confirmation, and the insert of the lead and its rows only if the lookup found nothing.
NEW_LEAD_ID = -1  # the id its rows carry until the statement gives it one


def insert_new_lead_unless_known(
    groups: Sequence[tuple[Table, Sequence[dict]]], lookup: dict
) -> tuple[int | None, dict[int, str], list[tuple]]:
    """Insert one lead and its rows (``insert_rows_together``'s groups, the lead first, its
    rows carrying ``NEW_LEAD_ID``; the last group its messages) with one statement, unless
    ``known_leads`` would find anything about it (its UUID, the same person, an unsubscribed
    address) or the request's bearer user is not confirmed. The lead's id is taken from the
    sequence in the statement, so ids follow the order of capture as ``nextval`` does.

    ``lookup``: the parameters of the single-lead lookup (``client_id``, ``email_event``,
    ``email``, ``phone_event``, ``phone``, ``token_hash``, ``user_digest``). Returns the new
    lead's id (None when nothing was inserted), its messages' channels by id, and the
    lookup's rows (``known_leads``'s form, with the ``bearer`` row). PostgreSQL only."""
    groups = [(table, rows) for table, rows in groups if rows]
    completed = [_complete(table, rows) for table, rows in groups]
    shape = tuple(
        (table, tuple(rows[0])) for (table, _), rows in zip(groups, completed, strict=True)
    )
    params = {f"rows{n}": _json_rows(rows) for n, rows in enumerate(completed)}
    rows = run_prepared(_new_lead_statement(shape), {**lookup, **params})
    lead_id = next((row[1] for row in rows if row[0] == "lead"), None)
    messages = {row[1]: row[4] for row in rows if row[0] == "message"}
    return lead_id, messages, [row for row in rows if row[0] not in ("lead", "message")]


@lru_cache(maxsize=16)
def _new_lead_statement(shape: tuple[tuple[Table, tuple[str, ...]], ...]):
    inserts = [
        f"g{n} AS ({_recordset_insert(table, names, f'rows{n}', new_lead=True)}"
        + (" RETURNING id, channel)" if table.name == "message" else ")")
        for n, (table, names) in enumerate(shape)
    ]
    messages = [
        f"SELECT 'message', id, NULL::uuid, NULL::bigint, channel::text, NULL::text FROM g{n} UNION ALL"
        for n, (table, _) in enumerate(shape)
        if table.name == "message"
    ]
    return text(
        "WITH known (kind, id, client_id, event_id, email, phone) AS ("
        + _KNOWN_ONE_PARTS
        + _BEARER_ROW
        + "), go AS (SELECT NOT EXISTS (SELECT 1 FROM known WHERE kind <> 'bearer')"
        " AND (CAST(:token_hash AS text) IS NULL OR EXISTS (SELECT 1 FROM known WHERE kind = 'bearer'))"
        " AS ok), "
        "n AS (SELECT nextval(pg_get_serial_sequence('lead', 'id')) AS id FROM go WHERE ok), "
        + ", ".join(inserts)
        + " "
        + " ".join(messages)
        + " SELECT 'lead', id, NULL::uuid, NULL::bigint, NULL::text, NULL::text FROM n"
        " UNION ALL SELECT kind, id, client_id, event_id, email, phone FROM known"
    )


def known_leads_postgresql(
    client_ids: list, emails: list, phones: list, reserve_ids: bool = False, bearer=None
) -> list[tuple]:
    token_hash, user_digest = bearer or (None, None)
    if len(client_ids) == 1 and len(emails) <= 1 and len(phones) <= 1:
        email_event, email = emails[0] if emails else (None, None)
        phone_event, phone = phones[0] if phones else (None, None)
        params = {
            "client_id": client_ids[0], "email_event": email_event, "email": email,
            "phone_event": phone_event, "phone": phone, "reserve": reserve_ids,
            "token_hash": token_hash, "user_digest": user_digest,
        }  # fmt: skip
        return run_prepared(_KNOWN_ONE_PG, params)
    params = {
        "client_ids": client_ids,
        "email_events": [event_id for event_id, _ in emails],
        "emails": [email for _, email in emails],
        "phone_events": [event_id for event_id, _ in phones],
        "phones": [phone for _, phone in phones],
        "unsubscribe_emails": sorted({email for _, email in emails}),
        "reserve": reserve_ids,
        "token_hash": token_hash,
        "user_digest": user_digest,
    }
    return run_prepared(_KNOWN_PG, params)


def known_leads_portable(
    client_ids: list, emails: list, phones: list, reserve_ids: bool = False
) -> list[tuple]:
    """The same lookups without arrays: IN lists, one OR branch per event. Reserves no
    ids (``reserve_ids`` is taken and ignored)."""
    from backend.leads.models import Lead, MergedCapture
    from backend.messaging.models import Unsubscribe

    no_uuid, no_int, no_text = null().cast(Uuid), null().cast(Integer), null().cast(String)
    parts = [
        select(literal("uuid"), Lead.id, Lead.client_id, Lead.event_id, no_text, no_text).where(
            Lead.client_id.in_(client_ids)
        ),
        select(
            literal("uuid"), MergedCapture.lead_id, MergedCapture.client_id,
            Lead.event_id, no_text, no_text,
        )
        .join(Lead, Lead.id == MergedCapture.lead_id)
        .where(MergedCapture.client_id.in_(client_ids)),
    ]  # fmt: skip
    same_person = []
    for pairs, column in ((emails, Lead.email_normalized), (phones, Lead.phone_normalized)):
        by_event: dict[int, set[str]] = {}
        for event_id, value in pairs:
            by_event.setdefault(event_id, set()).add(value)
        same_person += [and_(Lead.event_id == e, column.in_(v)) for e, v in by_event.items()]
    if same_person:
        parts.append(
            select(
                literal("person"), Lead.id, no_uuid,
                Lead.event_id, Lead.email_normalized, Lead.phone_normalized,
            ).where(or_(*same_person))
        )  # fmt: skip
    all_emails = {email for _, email in emails}
    if all_emails:
        parts.append(
            select(
                literal("unsubscribed"), no_int, no_uuid, no_int, Unsubscribe.email, no_text
            ).where(Unsubscribe.email.in_(all_emails))
        )
    return [tuple(row) for row in db.session.connection().execute(union_all(*parts))]
