"""Every model, imported in one place for Alembic and the shell."""

from backend.admin.models import SiteSetting
from backend.attachments.models import Attachment
from backend.attendees.models import Attendee
from backend.audit.models import AuditEntry
from backend.auth.models import ApiToken, PasswordReset, User, UserSession
from backend.events.models import Event, RetiredToken, event_staff
from backend.leads.models import Lead, MergedCapture, QualityFeedback, RoutingDecision, Touch
from backend.messaging.models import Message, Unsubscribe
from backend.offices.models import Office
from backend.rates.models import ExchangeRate
from backend.reports.models import EventOfficeStats, EventOfficeWonDay, OfficeTouchMedian
from backend.telegram.models import NoticePreference, TelegramCursor, TelegramLink

__all__ = [
    "ApiToken",
    "Attachment",
    "Attendee",
    "AuditEntry",
    "Event",
    "EventOfficeStats",
    "EventOfficeWonDay",
    "ExchangeRate",
    "Lead",
    "MergedCapture",
    "Message",
    "NoticePreference",
    "Office",
    "OfficeTouchMedian",
    "PasswordReset",
    "QualityFeedback",
    "RetiredToken",
    "RoutingDecision",
    "SiteSetting",
    "TelegramCursor",
    "TelegramLink",
    "Touch",
    "Unsubscribe",
    "User",
    "UserSession",
    "event_staff",
]
