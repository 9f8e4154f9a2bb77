"""Numbers from query strings, range-checked before they reach the database: a number
in a URL is answered with a page or a 404, never with a server error."""

from __future__ import annotations

from flask import abort, request

MAX_ID = 2**31 - 1  # ids are database INTEGERs
MAX_PAGE = 100_000


def int_arg(name: str, default: int | None, *, minimum: int = 1, maximum: int = MAX_ID):
    """The integer query parameter ``name`` (``default`` when absent or blank).

    Aborts with 404 for a value that is not a whole number or lies outside
    ``minimum``..``maximum``: such a URL names no page and no object.
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.lstrip("-").isdigit() or not raw.lstrip("-").isascii() or len(raw) > 12:
        abort(404)
    value = int(raw)
    if not minimum <= value <= maximum:
        abort(404)
    return value
