"""The one commit point (``backend/transaction.py``): what waits for a commit runs after it,
never after a rollback, and an action registered by such an action still runs."""

from __future__ import annotations

import sqlalchemy as sa

from backend import transaction
from backend.extensions import db
from backend.offices.models import Office
from tests.factories import make_office


def _committed_codes() -> list[str]:
    """The offices another connection sees: only what was committed."""
    with db.engine.connect() as other:
        return list(other.scalars(sa.select(Office.code).order_by(Office.code)))


def test_an_action_runs_after_the_commit_and_sees_the_rows_committed(app):
    seen = []
    make_office("KZN")
    transaction.after_commit(lambda: seen.append(_committed_codes()))
    assert seen == []
    transaction.commit()
    assert seen == [["KZN"]]
    transaction.commit()  # a second commit does not run it again
    assert seen == [["KZN"]]


def test_a_rollback_forgets_the_actions(app):
    seen = []
    make_office("KZN")
    transaction.after_commit(lambda: seen.append("ran"))
    transaction.rollback()
    transaction.commit()
    assert seen == []
    assert _committed_codes() == []


def test_an_action_that_asks_for_another_gets_it_run(app):
    """The card upload's OCR is asked for by an action that itself waits for the commit."""
    seen = []
    make_office("KZN")
    transaction.after_commit(
        lambda: transaction.after_commit(lambda: seen.append(_committed_codes()))
    )
    transaction.commit()
    assert seen == [["KZN"]]


def test_a_failing_action_neither_undoes_the_commit_nor_stops_the_others(app):
    seen = []
    make_office("KZN")
    transaction.after_commit(lambda: 1 / 0)
    transaction.after_commit(lambda: seen.append("second"))
    transaction.commit()
    assert seen == ["second"]
    assert _committed_codes() == ["KZN"]
