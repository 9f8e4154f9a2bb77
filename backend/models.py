"""Every model, imported in one place for Alembic and the shell."""

from backend.attendees.models import Attendee
from backend.audit.models import AuditEntry
from backend.auth.models import ApiToken, User
from backend.events.models import Event, event_staff
from backend.leads.models import Lead, MergedCapture, QualityFeedback, RoutingDecision, Touch
from backend.messaging.models import Message, Unsubscribe
from backend.offices.models import Office
from backend.reports.models import EventOfficeStats, OfficeTouchMedian

__all__ = [
    "ApiToken",
    "Attendee",
    "AuditEntry",
    "Event",
    "EventOfficeStats",
    "Lead",
    "MergedCapture",
    "Message",
    "Office",
    "OfficeTouchMedian",
    "QualityFeedback",
    "RoutingDecision",
    "Touch",
    "Unsubscribe",
    "User",
    "event_staff",
]
