"""Erasing a person, room by room: what identifies them, and who drops what.

``Person`` gathers every e-mail, phone and name the person's leads ever carried (as
captured, as merged, as corrected) before anything is emptied. Each room that keeps
data about a lead registers an eraser with ``@eraser``; erasure and the retention rule
run them all, so a new table (lead attachments, say) plugs in with one function::

    from backend.privacy.erasure import eraser

    @eraser
    def erase_attachments(person):
        ...  # delete the files and rows of person.lead_ids

Erasers flush (or execute) and leave the commit to the caller. Free text that may name
the person beside other people (a summary mail, an audit entry) is scrubbed with
``person.scrub``: each name, e-mail and phone of theirs becomes ``[erased]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

ERASED = "[erased]"

Eraser = Callable[["Person"], None]
_ERASERS: list[Eraser] = []


def eraser(function: Eraser) -> Eraser:
    """Register ``function(person)`` to run on every erasure and retention (once)."""
    if function not in _ERASERS:
        _ERASERS.append(function)
    return function


def erasers() -> list[Eraser]:
    return list(_ERASERS)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


@dataclass
class Person:
    """Whom an erasure is about: their leads, and every way they were written down."""

    lead_ids: list[int]
    now: datetime
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add_email(self, value) -> None:
        if isinstance(value, str) and "@" in value.strip():
            self.emails.add(value.strip().lower())

    def add_phone(self, value) -> None:
        if isinstance(value, str) and len(_digits(value)) >= 5:
            self.phones.add(value.strip())

    def add_name(self, value) -> None:
        if isinstance(value, str) and len(value.strip()) >= 2:
            self.names.add(value.strip())

    def add_contact(self, data: dict) -> None:
        """The identifying fields of a capture payload or a lead's snapshot."""
        if not isinstance(data, dict):
            return
        self.add_email(data.get("email"))
        self.add_phone(data.get("phone"))
        for name in ("first_name", "last_name"):
            self.add_name(data.get(name))
        full = " ".join(
            str(data.get(n)).strip() for n in ("first_name", "last_name")
            if isinstance(data.get(n), str) and data.get(n).strip()
        )  # fmt: skip
        self.add_name(full)

    @cached_property
    def pattern(self) -> re.Pattern | None:
        """One expression matching any of their names, e-mails or phones (a phone in any
        spacing: its last ten digits with separators between them). Built once, on first
        use: gather every identity before scrubbing anything."""
        parts = [re.escape(e) for e in sorted(self.emails, key=len, reverse=True)]
        for phone in self.phones:
            digits = _digits(phone)[-10:]
            parts.append(r"[\s\-().]*".join(digits))
        parts += [
            rf"(?<!\w){re.escape(n)}(?!\w)" for n in sorted(self.names, key=len, reverse=True)
        ]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def scrub(self, value):
        """``value`` (text, or JSON data) with every mention of the person erased."""
        pattern = self.pattern
        if pattern is None:
            return value
        return _scrub(value, pattern)

    def mentions(self, value) -> bool:
        pattern = self.pattern
        return pattern is not None and _scrub(value, pattern) != value


def _scrub(value, pattern: re.Pattern):
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {key: _scrub(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, pattern) for item in value]
    return value


def run_erasers(person: Person, only: Iterable[Eraser] | None = None) -> None:
    """Every registered eraser on ``person``, in the order they registered."""
    for function in only if only is not None else erasers():
        function(person)
