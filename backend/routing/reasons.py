"""Why a lead went where it went: a reason code and its parameters.

The engine, the hand-over and the SLA sweep store a code and its parameters on each
routing decision (``reason_code``, ``reason_params``); pages, mails and the API's
``reason_display`` put them into the reader's language when shown
(:func:`backend.i18n.routing_reason`), and the API's ``reason`` is the English text
integrations read, rendered here from the same code and parameters. No Flask here: the
pure engine imports it.

Parameters are JSON values: office names and territories as text, distances in km as
numbers (``km``, ``limit_km``), a full office's load as ``open_load``/``capacity``, the
lead's city and country as text or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REASONS", "Reason", "english", "parse_english", "reason_values"]


def N_(text: str) -> str:
    """Mark ``text`` for the catalogue (``make i18n`` extracts ``N_``) without translating it."""
    return text


# The English text of each code. The same strings are the gettext message ids the pages
# translate (backend/i18n.py), so a code's words live here only once.
REASONS: dict[str, str] = {
    "territory": N_("territory %(territory)s claimed by %(office)s, %(km)s"),
    "territory_full": N_(
        "territory %(territory)s claimed by %(office)s, %(km)s (office full, %(load)s)"
    ),
    "nearest": N_("nearest office: %(office)s, %(km)s"),
    "nearest_full": N_(
        "nearest office: %(office)s, %(km)s; %(office)s office full (%(load)s), "
        "no office with room within %(limit_km)s"
    ),
    "capacity_spill": N_(
        "%(full_office)s office full (%(load)s); next nearest %(office)s with room, %(km)s"
    ),
    "fallback": N_(
        "location unknown (city %(city)s, country %(country)s); "
        "nearest office to the event venue: %(office)s, %(km)s"
    ),
    "fallback_spill": N_(
        "location unknown (city %(city)s, country %(country)s); %(full_office)s office full "
        "(%(load)s); next nearest %(office)s with room, %(km)s"
    ),
    "fallback_full": N_(
        "location unknown (city %(city)s, country %(country)s); nearest office to the event "
        "venue: %(office)s, %(km)s; %(office)s office full (%(load)s), no office with room "
        "within %(limit_km)s"
    ),
    "escalation": N_("escalation: next nearest office with room: %(office)s, %(km)s"),
    "escalation_after": N_(
        "escalation: next nearest office with room after %(after)s: %(office)s, %(km)s"
    ),
    "escalation_full": N_(
        "escalation: no office with room; nearest other office: %(office)s, %(km)s (full, %(load)s)"
    ),
    "escalation_full_after": N_(
        "escalation: no office with room after %(after)s; nearest other office: "
        "%(office)s, %(km)s (full, %(load)s)"
    ),
    "handover": N_("Handed over from %(source)s by %(user)s: %(text)s"),
    # Why the SLA sweep left a lead where it is (workers/sweep/reassignment.py).
    "reassign_limit": N_(
        "reassigned automatically %(moves)s times already, the limit; marketing decides"
    ),
    "no_office_left": N_("no other office that has not had the lead can take it"),
    # Written by earlier versions only; kept so their stored reasons still read.
    "no_other_office": N_("no other office with room"),
}

_KM_PARAMS = ("km", "limit_km")
_QUOTED_PARAMS = ("city", "country")


def km_text(km: float) -> str:
    """A distance as the English reason writes it ("3.4 km", "634 km", "1,234 km")."""
    if km < 10:
        return f"{km:.1f} km"
    return f"{km:.0f} km" if km < 1000 else f"{km:,.0f} km"


class _Values(dict):
    """A template's values; a parameter the code names but the row lacks shows as nothing
    rather than failing."""

    def __missing__(self, name: str) -> str:
        return ""


def reason_values(
    params: Mapping[str, Any] | None,
    km: Callable[[float], str],
    none: Callable[[str], str],
    quote: Callable[[str], str] = repr,
) -> dict[str, Any]:
    """The values a reason's template is filled with: distances through ``km``, the lead's
    city and country through ``quote`` (or ``none(name)`` when it gave none), a load as
    "3/5"."""
    values = _Values(params or ())
    for name in _KM_PARAMS:
        value = values.get(name)
        if isinstance(value, int | float):
            values[name] = km(value)
    for name in _QUOTED_PARAMS:
        if name in values:
            value = values[name]
            values[name] = quote(value) if value else none(name)
    if "open_load" in values:
        values["load"] = f"{values['open_load']}/{values.get('capacity')}"
    return values


def english(code: str | None, params: Mapping[str, Any] | None) -> str:
    """The reason in English, as the API's ``reason`` and the audit trail keep it.
    An unknown code gives an empty text."""
    template = REASONS.get(code or "")
    if template is None:
        return ""
    return template % reason_values(params, km_text, lambda _name: "none")


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason that is not (yet) a stored decision: the sweep's "why it stays"."""

    reason_code: str
    reason_params: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return english(self.reason_code, self.reason_params)


# --------------------------------------------------------------------------- old rows
#
# Versions before reason codes stored only the English text. ``parse_english`` reads it
# back once (``leadrelay routing convert-reasons``); nothing parses reasons when showing.

_KM = r"(?P<{name}>\d[\d,]*(?:\.\d+)?) km"
_LOAD = r"(?P<open_load>\d+)/(?P<capacity>\d+)"
_UNKNOWN = (
    r"location unknown \(city (?P<city>'.*'|\".*\"|none), "
    r"country (?P<country>'.*'|\".*\"|none)\); "
)
_NONE_WITHIN = (
    rf"(?P<office2>.+) office full \({_LOAD}\), no office with room within "
    + _KM.format(name="limit_km")
)
_SPILL = (
    rf"(?P<full_office>.+) office full \({_LOAD}\); next nearest (?P<office>.+) with room, "
    + _KM.format(name="km")
)
_OLD_SHAPES = [
    ("territory_full", rf"territory (?P<territory>\S+) claimed by (?P<office>.+), {_KM.format(name='km')} \(office full, {_LOAD}\)"),
    ("territory", rf"territory (?P<territory>\S+) claimed by (?P<office>.+), {_KM.format(name='km')}"),
    ("nearest_full", rf"nearest office: (?P<office>.+), {_KM.format(name='km')}; {_NONE_WITHIN}"),
    ("nearest", rf"nearest office: (?P<office>.+), {_KM.format(name='km')}"),
    ("fallback_full", rf"{_UNKNOWN}nearest office to the event venue: (?P<office>.+), {_KM.format(name='km')}; {_NONE_WITHIN}"),
    ("fallback", rf"{_UNKNOWN}nearest office to the event venue: (?P<office>.+), {_KM.format(name='km')}"),
    ("fallback_spill", _UNKNOWN + _SPILL),
    ("capacity_spill", _SPILL),
    ("escalation_after", rf"escalation: next nearest office with room after (?P<after>.+?): (?P<office>.+), {_KM.format(name='km')}"),
    ("escalation", rf"escalation: next nearest office with room: (?P<office>.+), {_KM.format(name='km')}"),
    ("escalation_full_after", rf"escalation: no office with room after (?P<after>.+?); nearest other office: (?P<office>.+), {_KM.format(name='km')} \(full, {_LOAD}\)"),
    ("escalation_full", rf"escalation: no office with room; nearest other office: (?P<office>.+), {_KM.format(name='km')} \(full, {_LOAD}\)"),
    ("handover", r"Handed over from (?P<source>.+?) by (?P<user>.+?): (?P<text>.*)"),
    ("reassign_limit", r"reassigned automatically (?P<moves>\d+) times already, the limit; marketing decides"),
    ("no_office_left", r"no other office that has not had the lead can take it"),
    ("no_other_office", r"no other office with room"),
]  # fmt: skip
_OLD_PATTERNS = [(code, re.compile(pattern, re.S)) for code, pattern in _OLD_SHAPES]


def _old_value(name: str, text: str) -> Any:
    if name in _KM_PARAMS:
        return float(text.replace(",", ""))
    if name in ("open_load", "capacity", "moves"):
        return int(text)
    if name in _QUOTED_PARAMS:
        return None if text == "none" else text[1:-1]
    return text


def parse_english(reason: str | None) -> tuple[str, dict[str, Any]] | None:
    """The code and parameters of a reason stored as English text by an earlier version,
    or None when it has no known shape. The result renders back to the same text."""
    text = (reason or "").strip()
    for code, pattern in _OLD_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        params = {k: _old_value(k, v) for k, v in match.groupdict().items() if k != "office2"}
        if match.groupdict().get("office2", params.get("office")) != params.get("office"):
            continue  # "full" names another office than the nearest: not a shape we wrote
        if english(code, params) == text:
            return code, params
    return None
