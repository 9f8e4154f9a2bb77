"""One commit point per request, per job and per command.

Services only ``flush``. The unit of work that called them commits once, through
``commit()``:

- a request: ``init_transaction`` commits in ``after_request`` when a write request
  (POST, PUT, PATCH, DELETE) answered below 400, and rolls back otherwise. GET, HEAD and
  OPTIONS requests never write: they are rolled back, and under ``TESTING`` a read
  request that changed a row is an error (``ReadRequestWrote``);
- a job: the worker's job class (``workers.queues.AppJob``) commits when the job
  returns and rolls back when it raises;
- a CLI command: the command calls ``commit()`` once at its end.

What must only happen once the rows are durable (waking the workers for the outbox
rows a request wrote, enqueueing a card's OCR, deleting an erased file) is registered
with ``after_commit`` while the work runs; ``commit()`` runs it after the commit, and a
rollback forgets it. An action that fails is logged, never raised: the data is already
committed, and the sweep recovers what a lost wake-up left pending.

A view that reads and then writes with one statement (capturing a lead) may be marked
``reads_alone``: on PostgreSQL its statements then run without a transaction around them,
each committed as it runs, which saves the BEGIN and COMMIT round trips (two of a
capture's five). Under READ COMMITTED a read sees the same alone as inside a transaction
(each statement takes its own snapshot); the one write, a single statement, is atomic on
its own. Code in such a view that writes with more than one statement, or locks rows to
write them, calls ``begin()`` first: from there on the request is one transaction again,
committed by ``commit()`` as usual. Under ``TESTING`` a second write without it is an
error (``WroteAlone``). A request that fails after its one write keeps it (a capture's
lead is stored, and the phone's retry is answered as a duplicate); what it registered
with ``after_commit`` is forgotten, and the sweep sends the mails it would have woken.

A record that must stay whatever the request's outcome (the audit entry of a refused
sign-in, answered 401, or of a read of personal data such as an export, answered to a
GET) is registered with ``write_after_request``: it is written in a transaction of its
own once the request's transaction has ended. It is the only write a GET makes, an
access log entry (RFC 9110 §9.2.1 lets a safe method log); the read itself still writes
nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend.extensions import db

log = logging.getLogger(__name__)

_PENDING = "leadrelay.after_commit"  # actions of the transaction in progress
_COMMITTED = "leadrelay.committed"  # actions of a transaction that has just committed
_RUNNING = "leadrelay.running_after_commit"  # set while those actions run
_APART = "leadrelay_write_after_request"  # on ``g``: see ``write_after_request``
# While the session's statements commit one by one: the driver connection they run on.
_ALONE = "leadrelay.reads_alone"
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


class ReadRequestWrote(RuntimeError):
    """A GET, HEAD or OPTIONS request left changes in the session (TESTING only)."""


def after_commit(action: Callable[[], object]) -> None:
    """Run ``action`` once the current transaction has committed (never if it rolls back).

    Called by an action that is itself running after a commit, it runs at once: that
    transaction has committed already (waiting for the next would lose it)."""
    if db.session.info.get(_RUNNING):
        _run(action)
        return
    db.session.info.setdefault(_PENDING, []).append(action)


def commit() -> None:
    """The one commit: commit the session, then run the actions registered for it."""
    db.session.commit()
    actions = db.session.info.pop(_COMMITTED, ())
    if not actions:
        return
    db.session.info[_RUNNING] = True
    try:
        for action in actions:
            _run(action)
    finally:
        db.session.info.pop(_RUNNING, None)


def _run(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # committed already: report, never undo or fail the caller
        log.exception("action after commit failed: %r", action)


def rollback() -> None:
    db.session.rollback()


def reads_alone(view: Callable) -> Callable:
    """Mark a view whose statements may each commit on their own until it calls ``begin()``
    (see the module docstring). The mode starts before the view's first statement (the
    bearer token's user, read by the role check) and ends at ``begin()`` or when the
    session's transaction ends (commit or rollback)."""
    view.reads_alone = True
    return view


def statements_alone() -> bool:
    """Whether this request's statements are committing one by one (``reads_alone``)."""
    return db.session.info.get(_ALONE) is not None


def begin() -> None:
    """Make the rest of this request one transaction again (a no-op outside ``reads_alone``).

    Call it before a write of more than one statement, or one that locks rows."""
    driver_connection = db.session.info.pop(_ALONE, None)
    if driver_connection is not None:
        # The driver's own switch: SQLAlchemy's isolation level may not change while its
        # transaction object lives. Idle between statements, psycopg takes it at once and
        # sends BEGIN before the next one; the pool puts the level back on check-in.
        driver_connection.autocommit = False


def _start_reads_alone() -> None:
    from backend.db_bulk import on_postgresql

    if request.method in READ_METHODS or not request.endpoint:  # an OPTIONS of its URL
        return
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "reads_alone", False) or not on_postgresql():
        return
    session = db.session()
    if session.in_transaction():  # something has read already: stay in its transaction
        return
    driver_connection = session.connection().connection.dbapi_connection
    # The driver's own switch, as ``begin()`` turns it off: psycopg takes it at once on the
    # idle connection, so no BEGIN precedes the first statement, and its COMMIT at the end
    # sends nothing. (SQLAlchemy's AUTOCOMMIT option would set and reset a connection
    # characteristic at every check-out and check-in.) The pool's check-in turns it off
    # again (``_transactions_again``). The session keeps this connection until its commit
    # or rollback, which end the mode.
    driver_connection.autocommit = True
    session.info[_ALONE] = driver_connection


def _transactions_again(driver_connection, record) -> None:
    if driver_connection is None or not driver_connection.autocommit:  # None: invalidated
        return
    try:
        driver_connection.autocommit = False
    except Exception as exc:  # not idle after its reset: the pool must not hand it out again
        record.invalidate(exc)


def write_after_request(action: Callable[[], object]) -> None:
    """Run ``action`` (which adds rows to the session) in a transaction of its own once the
    request's transaction has committed or rolled back, and commit it: for a record that
    stays whatever the request's outcome (see the module docstring). Outside a request
    it runs now, in the caller's transaction."""
    if has_request_context():
        g.setdefault(_APART, []).append(action)
    else:
        action()


def _write_apart() -> None:
    actions = g.pop(_APART, None)
    if not actions:
        return
    try:
        for action in actions:
            action()
        commit()
    except Exception:  # the answer stands; the record is lost, and said so in the log
        log.exception("writing after the request failed: %r", actions)
        rollback()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    actions = session.info.pop(_PENDING, None)
    if actions:
        session.info.setdefault(_COMMITTED, []).extend(actions)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_rollback(session: Session, transaction) -> None:
    # Runs after after_commit, which already moved the list: left over means rolled back.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_ALONE, None)  # its connection has gone back to the pool


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")
# A WITH statement writes when one of its parts does (capture's insert of a lead and rows).
_WRITING_PART = re.compile(r"\b(INSERT INTO|UPDATE \S+ SET|DELETE FROM|MERGE INTO)\b")


class WroteAlone(RuntimeError):
    """A second write ran while statements commit one by one (TESTING only): the two
    would not be atomic; the view should have called ``begin()`` first."""


def _note_writes(conn, cursor, statement: str, parameters, context, executemany) -> None:
    # Registered only when a testing app is built: production pays nothing for it.
    head = statement.lstrip()[:6].upper()
    wrote = head.startswith(_WRITES) or (
        head.startswith("WITH") and _WRITING_PART.search(statement) is not None
    )
    if wrote and has_request_context() and current_app.testing:
        if g.get("leadrelay_wrote") and statements_alone():
            raise WroteAlone(f"{g.leadrelay_wrote[:80]!r}, then {statement[:80]!r}")
        g.leadrelay_wrote = statement


def _wrote() -> str | None:
    """What the read request changed (a statement or the changed objects), or None."""
    session = db.session()
    statement = g.pop("leadrelay_wrote", None)
    changed = [*session.new, *session.dirty, *session.deleted]
    if statement or changed:
        return statement or ", ".join(repr(obj) for obj in changed[:5])
    return None


def init_transaction(app: Flask) -> None:
    if app.testing and not event.contains(Engine, "before_cursor_execute", _note_writes):
        event.listen(Engine, "before_cursor_execute", _note_writes)

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql" and not event.contains(
        engine, "checkin", _transactions_again
    ):
        event.listen(engine, "checkin", _transactions_again)
    app.before_request(_start_reads_alone)

    @app.after_request
    def _end_of_request(response: Response) -> Response:
        if request.method in READ_METHODS:
            wrote = _wrote()
            rollback()
            _write_apart()
            if wrote and current_app.config.get("CHECK_READS_DONT_WRITE", current_app.testing):
                raise ReadRequestWrote(f"{request.method} {request.path} changed rows: {wrote}")
        else:
            if response.status_code < 400:
                commit()
            else:
                rollback()
            _write_apart()
        return response

    @app.teardown_request
    def _forget(exc=None) -> None:
        # Tests share one app context (and ``g``) between requests: what a request noted
        # ends with it. An exception no handler answered skipped after_request: the
        # records it meant to write apart go with it.
        g.pop("leadrelay_wrote", None)
        g.pop(_APART, None)
        if db.session.info.pop(_ALONE, None) is not None:  # no after_request ended it
            db.session.rollback()
