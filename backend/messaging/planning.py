"""Planning outbox rows: written in the lead's transaction, delivered by the workers.

A pending row is the truth; Redis only carries a hint to deliver it now
(``backend.messaging.sending``). Planning is cheap: capture and the sweep write small
rows (key, kind, recipients) in bulk, marked ``payload[RENDER]``, and the delivery job
renders the subject and body from the lead when it sends them
(``backend.messaging.rendering``), keeping what it sent on the row so the admin Outbox
shows what was (or, with no SMTP configured, would have been) sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.db_bulk import insert_rows
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead
from backend.messaging.models import RENDER, Message
from backend.messaging.recipients import office_contacts
from backend.messaging.unsubscribe import unsubscribed_emails
from backend.messaging.webhooks import deferred_webhook_rows, webhook_rows


def insert_messages(rows: Sequence[dict]) -> list[int]:
    """Insert message rows, skipping keys that already exist; returns the new ids.

    ``ON CONFLICT (key) DO NOTHING`` makes two sweeps racing on the same alert safe; the
    rows go in with the one bulk insert (``db_bulk.insert_rows``).
    """
    now = utcnow()
    ids = insert_rows(
        Message.__table__,
        [{"created_at": now, **row} for row in rows],
        skip_existing=("key",),
    )
    return sorted(message_id for (message_id,) in ids)


def new_lead_rows(leads: Sequence[Lead], unsubscribed: set[str] | None = None) -> list[dict]:
    """The small pending rows of freshly routed leads: who gets what, rendered later.

    Subjects, bodies and the autoresponder's unsubscribe headers are the delivery job's
    work (the link depends only on the address and the secret key). ``unsubscribed``:
    the leads' addresses that unsubscribed, when the caller has already looked them up.
    """
    blocked = unsubscribed if unsubscribed is not None else unsubscribed_emails(leads)
    contacts = office_contacts.get()
    rows: list[dict] = []
    for lead in leads:
        ids = dict(lead_id=lead.id, office_id=lead.office_id, event_id=lead.event_id)
        if lead.email_normalized and lead.consent_contact and lead.email_normalized not in blocked:
            rows.append(
                dict(
                    key=f"autoresponder:lead:{lead.id}",
                    kind="autoresponder",
                    recipient=lead.email,
                    payload={RENDER: True},
                    **ids,
                )
            )
        office = contacts.get(lead.office_id)
        if office is not None:
            if office.recipients:
                rows.append(
                    dict(
                        key=f"office_notice:lead:{lead.id}",
                        kind="office_notice",
                        recipient=office.recipients,
                        payload={RENDER: True},
                        **ids,
                    )
                )
            rows.extend(
                deferred_webhook_rows(
                    "lead.routed", lead.id, lead.event_id, office, office.webhook_targets
                )
            )
    return rows


def plan_lead_won(lead: Lead) -> list[int]:
    """Announce a won lead: the ``lead.won`` webhooks (call after setting status won).

    Writes the rows (caller commits, then calls ``enqueue_messages`` with the ids);
    a second call for the same lead adds nothing.
    """
    db.session.flush()
    return insert_messages(webhook_rows("lead.won", lead))
