"""QR codes for an event: the staff-join code and the visitor self-registration code."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg

from backend.events.models import Event
from backend.events.services import join_url, visitor_url

KINDS = {"join": join_url, "visitor": visitor_url}


def qr_target(event: Event, kind: str) -> str:
    """The URL a QR code of ``kind`` ("join" or "visitor") encodes; raises KeyError."""
    return KINDS[kind](event)


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str) -> bytes:
    """A PNG of ``data`` as a QR code (10 px per module, for print at A4)."""
    out = io.BytesIO()
    _code(data).make_image().save(out, format="PNG")
    return out.getvalue()


def qr_svg(data: str) -> bytes:
    """An SVG of ``data`` as a QR code: one path, scales to any size."""
    out = io.BytesIO()
    _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()
