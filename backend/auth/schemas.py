from __future__ import annotations

from pydantic import BaseModel


class OfficeRef(BaseModel):
    code: str
    name: str


class EventRef(BaseModel):
    id: int
    name: str


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    office: OfficeRef | None
    events: list[EventRef]
    language: str | None = None


class MeOut(BaseModel):
    user: UserOut
