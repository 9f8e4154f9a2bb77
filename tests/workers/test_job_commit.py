"""One commit point per job: the worker's job class commits what a job flushed when it
returns, and rolls it all back when it raises (issue #17, "One commit point")."""

from __future__ import annotations

from flask import current_app
from rq import Queue

from backend import transaction
from backend.extensions import db
from backend.offices.models import Office
from backend.queues import ESCALATION
from backend.redis_conn import connect
from tests.factories import make_office
from tests.followup import AppSimpleWorker
from workers.queues import make_worker

DONE_KEY = "test:job-commit:after-commit"


def open_office(code: str) -> None:
    """A job that writes a row (flushed only) and asks for an action after the commit."""
    make_office(code)
    redis = connect(current_app)
    transaction.after_commit(lambda: redis.rpush(DONE_KEY, code))


def open_office_then_fail(code: str) -> None:
    open_office(code)
    raise RuntimeError("the job failed after writing")


def _run(app, function, code: str):
    queue = Queue(ESCALATION, connection=connect(app))
    job = queue.enqueue(function, code)
    make_worker(app, (ESCALATION,), worker_class=AppSimpleWorker).work(burst=True)
    db.session.expire_all()
    return job


def _offices() -> list[str]:
    return list(db.session.scalars(db.select(Office.code).order_by(Office.code)))


def test_what_a_job_flushed_is_committed_when_it_returns(app):
    connect(app).delete(DONE_KEY)
    job = _run(app, open_office, "KZN")
    assert job.get_status(refresh=True) == "finished"
    assert _offices() == ["KZN"]
    assert connect(app).lrange(DONE_KEY, 0, -1) == [b"KZN"]  # ran after the commit


def test_a_job_that_raises_leaves_nothing_written(app):
    connect(app).delete(DONE_KEY)
    job = _run(app, open_office_then_fail, "KZN")
    assert job.get_status(refresh=True) == "failed"
    assert _offices() == []
    assert connect(app).lrange(DONE_KEY, 0, -1) == []  # nor did its after-commit action run
