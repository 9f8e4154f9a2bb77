"""A capture with a bearer token this process has read before: the token is read again with
the capture's lookup, in one round trip, and whatever changed since (revoked, deactivated,
another role, no longer staff of the event) is refused at once, with nothing stored and
nothing of a stored lead answered."""

import uuid

import pytest

from backend.auth.models import ApiToken, User
from backend.auth.services import issue_token, revoke_token
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead
from tests.conftest import requires_postgres
from tests.factories import make_event, make_office, make_user

pytestmark = requires_postgres  # elsewhere every request reads its token alone


@pytest.fixture
def kiosk(app):
    """An event in Moscow, its booth staff and their API token (a kiosk's or an
    integration's), used once so that this process has read it."""
    make_office("MOW")
    make_office("NSK")
    event = make_event(name="Mashex")
    staff = make_user("staff", email="kiosk@example.com", name="Киоск")
    staff.events.append(event)
    token = issue_token(staff, "kiosk")
    db.session.commit()
    kiosk = Kiosk(app.test_client(), token, event.id, staff.id)
    assert kiosk.capture(lead()).status_code == 201
    return kiosk


class Kiosk:
    def __init__(self, client, token, event_id, user_id):
        self.client, self.token, self.event_id, self.user_id = client, token, event_id, user_id

    def post(self, url, body):
        # The request starts as in production: no transaction open, nothing in the session
        # (the user can only come from the database or from what the process read before).
        db.session.commit()
        db.session.expunge_all()
        return self.client.post(url, json=body, headers={"Authorization": f"Bearer {self.token}"})

    def capture(self, body):
        return self.post(f"/api/v1/events/{self.event_id}/leads", body)

    def sync(self, bodies):
        return self.post(
            "/api/v1/sync", {"leads": [{**b, "event_id": self.event_id} for b in bodies]}
        )

    def user(self) -> User:
        return db.session.get(User, self.user_id)


def lead(**fields):
    return {
        "client_id": str(uuid.uuid4()),
        "first_name": "Анна",
        "email": "anna@example.ru",
        **fields,
    }


def leads_stored() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Lead))


def _statements(send):
    executed = []

    def record(conn, cursor, statement, *_):
        executed.append(" ".join(statement.split()))

    db.event.listen(db.engine, "before_cursor_execute", record)
    try:
        return send(), executed
    finally:
        db.event.remove(db.engine, "before_cursor_execute", record)


def test_a_token_read_before_is_confirmed_by_the_capture_in_one_round_trip(kiosk):
    """The token, the lookup and the insert of a new lead: one statement."""
    response, executed = _statements(lambda: kiosk.capture(lead(email="boris@example.ru")))
    assert response.status_code == 201, response.json
    assert not [sql for sql in executed if sql.startswith('SELECT "user"')], executed
    [one] = [sql for sql in executed if "FROM api_token" in sql]
    assert "FROM lead l" in one and "INSERT INTO lead" in one, executed
    assert leads_stored() == 2


def _revoke(kiosk):
    revoke_token(db.session.scalar(db.select(ApiToken.id)))
    db.session.commit()


FIRST = {"client_id": str(uuid.uuid4()), "first_name": "Анна", "email": "first@example.ru"}
SENT = {
    "a new lead": lambda kiosk: kiosk.capture(lead(email="new@example.ru")),
    "a replay": lambda kiosk: kiosk.capture(FIRST),  # would answer the stored lead
    "the same person": lambda kiosk: kiosk.capture(lead(email="first@example.ru")),  # a merge
    "an invalid lead": lambda kiosk: kiosk.capture({"client_id": "not a uuid"}),  # a 422
    "an unknown event": lambda kiosk: kiosk.post("/api/v1/events/999999/leads", lead()),  # 404
    "a batch": lambda kiosk: kiosk.sync([lead(email="b@example.ru"), {"client_id": "bad"}]),
}


@pytest.mark.parametrize("sent", SENT)
@pytest.mark.parametrize(
    "change",
    [_revoke, lambda kiosk: setattr(kiosk.user(), "active", False)],
    ids=["token revoked", "user deactivated"],
)
def test_a_token_refused_since_its_last_use_is_refused_whatever_was_sent(kiosk, change, sent):
    assert kiosk.capture(FIRST).status_code == 201
    change(kiosk)
    db.session.commit()
    stored = leads_stored()
    response = SENT[sent](kiosk)
    assert response.status_code == 401, response.json
    assert response.json["error"]["code"] == "unauthorized"
    assert "first@example.ru" not in response.get_data(as_text=True)
    assert leads_stored() == stored


def test_a_role_taken_away_since_the_last_use_is_refused(kiosk):
    kiosk.user().role = "office_rep"
    db.session.commit()
    response = kiosk.capture(lead(email="new@example.ru"))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert leads_stored() == 1


def test_staff_taken_off_the_event_since_the_last_use_may_no_longer_capture_for_it(kiosk):
    event = db.session.get(Event, kiosk.event_id)
    event.staff.clear()
    db.session.commit()
    response = kiosk.capture(lead(email="new@example.ru"))
    assert response.status_code == 403, response.json
    assert leads_stored() == 1


def test_a_user_changed_since_the_last_use_captures_once_as_they_are_now(kiosk):
    """Another name, another role that may still capture: the capture is read again as the
    user is now, and stored once."""
    user = kiosk.user()
    user.role, user.name = "marketing", "Киоск у входа"
    db.session.commit()
    response = kiosk.capture(lead(email="new@example.ru"))
    assert response.status_code == 201, response.json
    assert leads_stored() == 2
    again = kiosk.capture(lead(email="third@example.ru"))  # and read once more: the new user
    assert again.status_code == 201
    assert leads_stored() == 3


def test_a_batch_with_every_lead_refused_still_reads_the_token(kiosk):
    """A sync whose leads are all invalid asks the database nothing about leads: the token
    is read before its answer all the same."""
    ok = kiosk.sync([{"client_id": "bad"}])
    assert ok.status_code == 200 and ok.json["results"][0]["status"] == "rejected"
    _revoke(kiosk)
    refused = kiosk.sync([{"client_id": "bad"}])
    assert refused.status_code == 401


def test_a_token_refused_since_its_last_use_reserves_no_lead_ids(kiosk):
    """The lookup that finds the token refused takes nothing from the lead sequence for
    the leads it would have stored."""
    last_id = "SELECT last_value FROM pg_sequences WHERE sequencename = 'lead_id_seq'"
    before = db.session.scalar(db.text(last_id))
    _revoke(kiosk)
    batch = [lead(email=f"p{n}@example.ru") for n in range(50)]
    assert kiosk.sync(batch).status_code == 401
    assert db.session.scalar(db.text(last_id)) == before


class TestRateLimit:
    @pytest.fixture
    def config(self, config):
        return {**config, "RATELIMIT_ENABLED": True}

    def test_a_sync_started_again_for_a_changed_user_counts_once(self, kiosk):
        left = int(kiosk.sync([]).headers["X-RateLimit-Remaining"])
        kiosk.user().name = "Киоск у входа"
        db.session.commit()
        response = kiosk.sync([lead(email="new@example.ru")])
        assert response.status_code == 200, response.json
        assert response.json["results"][0]["status"] == "created"
        assert int(response.headers["X-RateLimit-Remaining"]) == left - 1
