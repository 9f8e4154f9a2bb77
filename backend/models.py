"""Every model, imported in one place for Alembic and the shell."""

from backend.audit.models import AuditEntry
from backend.auth.models import ApiToken, PasswordReset, User, UserSession
from backend.events.models import Event, RetiredToken, event_staff
from backend.leads.models import Lead, MergedCapture, QualityFeedback, RoutingDecision, Touch
from backend.messaging.models import AppSetting, Message, Unsubscribe
from backend.offices.models import Office
from backend.reports.models import EventOfficeStats, OfficeTouchMedian

__all__ = [
    "ApiToken",
    "AppSetting",
    "AuditEntry",
    "Event",
    "EventOfficeStats",
    "Lead",
    "MergedCapture",
    "Message",
    "Office",
    "OfficeTouchMedian",
    "PasswordReset",
    "QualityFeedback",
    "RetiredToken",
    "RoutingDecision",
    "Touch",
    "Unsubscribe",
    "User",
    "UserSession",
    "event_staff",
]
