"""The app-aware worker that runs the queues' jobs (the queues: ``backend.queues``)."""

from __future__ import annotations

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.job import Job

from backend import transaction
from backend.extensions import db
from backend.queues import QUEUE_NAMES
from backend.redis_conn import connect


class AppJob(Job):
    """A job whose database work is one unit: committed (through ``transaction.commit``,
    which then runs its after-commit actions) when the function returns, rolled back
    when it raises or times out. Job functions only flush."""

    def perform(self):
        try:
            result = super().perform()
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
        return result


class AppWorker(Worker):
    """An RQ worker whose jobs run inside an app context built by the factory, as
    ``AppJob``s."""

    app: Flask
    job_class = AppJob

    def work(self, *args, **kwargs):
        if not isinstance(self, SimpleWorker):
            # Forking: prepare once what each work horse would otherwise redo.
            from workers.jobs import warm_up

            with self.app.app_context():
                warm_up()
        return super().work(*args, **kwargs)

    def perform_job(self, job, queue, *args, **kwargs):
        # RQ 3 passes the execution as a third argument.
        with self.app.app_context():
            # The work horse is a fork: never reuse the parent's database sockets.
            db.engine.dispose(close=False)
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


def make_worker(app: Flask, queue_names=QUEUE_NAMES, worker_class=AppWorker) -> Worker:
    connection = connect(app)
    worker = worker_class(
        [Queue(n, connection=connection, job_class=AppJob) for n in queue_names],
        connection=connection,
        job_class=AppJob,
    )
    worker.app = app
    return worker
