"""The offices admin page: territories, capacity, the routing preview's form, pausing."""

from backend.extensions import db
from tests.factories import make_office, make_user


def signed_in(auth, role="admin"):
    make_user(role, email=f"{role}@example.com")
    db.session.commit()
    auth.login(f"{role}@example.com")


def test_the_office_admin_page_lists_territories_and_pauses_an_office(client, api, auth):
    make_office("BER", territories=["DE"], capacity=50)
    signed_in(auth)
    page = client.get("/admin/offices").get_data(as_text=True)
    assert "Where would this lead go?" in page and "DE" in page and "0 / 50" in page
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    client.post("/admin/offices/BER/pause", data={"paused": "1", "csrf_token": token})
    from backend.offices.models import Office

    assert db.session.scalar(db.select(Office.paused).where(Office.code == "BER")) is True
