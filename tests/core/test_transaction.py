"""The one commit point (``backend/transaction.py``): what waits for a commit runs after it,
never after a rollback, and an action registered by such an action still runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend import transaction
from backend.extensions import db
from backend.offices.models import Office
from tests.conftest import requires_postgres
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


_FETCH = {"X-Requested-With": "XMLHttpRequest"}  # as the app's own fetch calls (CSRF)


def _app_with_view(config, view):
    """A new app (its URL map still open) with ``view`` at POST /t, marked reads_alone."""
    from backend import create_app

    built = create_app(config)
    built.add_url_rule("/t", "t", transaction.reads_alone(view), methods=["POST"])
    return built


@requires_postgres
def test_a_reads_alone_view_writing_twice_without_begin_fails_under_test(app, config):
    """Each statement of a ``reads_alone`` view commits as it runs: two writes there would
    not be atomic, so a test request that makes them without ``begin()`` is an error."""

    def two_writes():
        make_office("KZN")
        db.session.flush()
        make_office("NSK")
        db.session.flush()
        return "", 204

    other = _app_with_view(config, two_writes)
    with other.app_context():
        try:
            with pytest.raises(transaction.WroteAlone):
                other.test_client().post("/t", headers=_FETCH)
        finally:
            db.session.remove()
            db.engine.dispose()


@requires_postgres
def test_a_reads_alone_view_that_begins_writes_all_or_nothing(app, config):
    """After ``begin()`` the view's writes are one transaction: a failure answered 500
    leaves neither row, and without a failure both are committed."""

    def writes(fail: bool):
        def view():
            transaction.begin()
            make_office("KZN")
            db.session.flush()
            make_office("NSK")
            db.session.flush()
            if fail:
                return "", 500
            return "", 204

        return view

    for fail, expected in ((True, []), (False, ["KZN", "NSK"])):
        other = _app_with_view(config, writes(fail))
        with other.app_context():
            try:
                assert other.test_client().post("/t", headers=_FETCH).status_code == (
                    500 if fail else 204
                )
                assert _committed_codes() == expected
            finally:
                db.session.remove()
                db.engine.dispose()
