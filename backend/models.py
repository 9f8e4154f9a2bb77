"""Every model, imported in one place for Alembic and the shell."""

from backend.audit.models import AuditEntry
from backend.auth.models import ApiToken, User
from backend.events.models import Event, event_staff
from backend.leads.models import Lead, MergedCapture, QualityFeedback, RoutingDecision, Touch
from backend.messaging.models import Message, Unsubscribe
from backend.offices.models import Office
from backend.reports.models import EventOfficeStats, OfficeTouchMedian
from backend.telegram.models import NoticePreference, TelegramCursor, TelegramLink

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Event",
    "EventOfficeStats",
    "Lead",
    "MergedCapture",
    "Message",
    "NoticePreference",
    "Office",
    "OfficeTouchMedian",
    "QualityFeedback",
    "RoutingDecision",
    "TelegramCursor",
    "TelegramLink",
    "Touch",
    "Unsubscribe",
    "User",
    "event_staff",
]
