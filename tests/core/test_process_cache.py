"""What a process keeps for capture (``backend/process_cache.py``): a change made here is
seen at once, one made by another process within ``PROCESS_CACHE_SECONDS``."""

from __future__ import annotations

import time

import sqlalchemy as sa

from backend.extensions import db
from backend.offices.models import Office, office_names
from tests.factories import make_office


def _renamed_by_another_process(code: str, names: dict) -> None:
    """An admin's change saved by another worker: not through this process's ORM."""
    with db.engine.begin() as other:
        other.execute(sa.update(Office).where(Office.code == code).values(names=names))


def test_a_change_here_is_seen_at_once_and_another_process_s_within_the_setting(app):
    app.config["PROCESS_CACHE_SECONDS"] = 0.3
    office = make_office("BER")
    db.session.commit()
    assert office_names()["BER"] == {}

    office.names = {"ru": "Берлин"}
    db.session.commit()
    assert office_names()["BER"] == {"ru": "Берлин"}

    _renamed_by_another_process("BER", {"ru": "Берлинский офис"})
    assert office_names()["BER"] == {"ru": "Берлин"}
    time.sleep(0.35)
    assert office_names()["BER"] == {"ru": "Берлинский офис"}


def test_with_zero_every_use_reads_the_database(app):
    app.config["PROCESS_CACHE_SECONDS"] = 0
    make_office("MUC")
    db.session.commit()
    office_names()
    _renamed_by_another_process("MUC", {"ru": "Мюнхен"})
    assert office_names()["MUC"] == {"ru": "Мюнхен"}
