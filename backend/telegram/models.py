from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db

# What a rep can be told about, and where.
NOTICE_KINDS = ("new_lead", "sla_reminder", "escalation", "next_step", "won")
NOTICE_CHANNELS = ("email", "telegram", "both", "none")
DEFAULT_CHANNEL = "email"


class TelegramLink(db.Model):
    """A user's Telegram chat, or the one-time code that will link it."""

    __tablename__ = "telegram_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64), default="")
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticePreference(db.Model):
    """Where one user wants one kind of notice: email, telegram, both or none."""

    __tablename__ = "notice_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default=DEFAULT_CHANNEL)


class TelegramCursor(db.Model):
    """The next getUpdates offset (one row), kept in the database so a restart or a Redis
    outage neither loses nor repeats updates."""

    __tablename__ = "telegram_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_update_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
