"""Badge codes as show badges and business cards print them, rendered to PNG photos with
zxing-cpp (QR, PDF417, DataMatrix, Aztec, Code 128, Code 39) for "Scan from photo"."""

from __future__ import annotations

import quopri
from dataclasses import dataclass, field
from pathlib import Path

import zxingcpp
from PIL import Image, ImageOps


def _qp(text: str) -> str:
    """UTF-8 quoted-printable, every byte encoded (as phones write vCard 2.1)."""
    return "".join(
        f"={b:02X}" if b > 0x7E or b < 0x21 or b == 0x3D else chr(b) for b in text.encode()
    )


def _soft_break(value: str, at: int) -> str:
    """A quoted-printable soft line break (``=`` CRLF) after ``at`` characters, between codes."""
    cut = value.rfind("=", 0, at) if at < len(value) else len(value)
    return value[:cut] + "=\r\n" + value[cut:]


_ORG = _qp("ООО «Сибирь Логистик»")
VCARD21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp('Иванов')};{_qp('Пётр')};;;\r\n"
    f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp('Пётр Иванов')}\r\n"
    f"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_soft_break(_ORG, 40)}\r\n"
    f"TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp('Директор по закупкам')}\r\n"
    "TEL;WORK;VOICE:+7 383 555-01-23\r\n"
    "EMAIL;PREF;INTERNET:p.ivanov@sibir.example\r\n"
    "END:VCARD\r\n"
)
assert "=\r\n" in VCARD21 and quopri.decodestring(_ORG).decode() == "ООО «Сибирь Логистик»"

VCARD30 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\n"
    "N:Müller;Anna;;;\r\n"
    "FN:Anna Müller\r\n"
    "ORG:Müller\\, Schmidt & Co\\; KG;Vertrieb\r\n"
    "TITLE:Leiterin Vertrieb\\, DACH\r\n"
    "TEL;TYPE=HOME:+49 30 1111111\r\n"
    "TEL;TYPE=WORK,VOICE:+49 30 2222222\r\n"
    "TEL;TYPE=CELL:+49 170 3333333\r\n"
    "EMAIL;TYPE=INTERNET:anna.mueller@mueller-schm\r\n idt.example\r\n"
    "ADR;TYPE=WORK:;;Hafenstr. 5;Hamburg;;20457;Germany\r\n"
    "END:VCARD\r\n"
)

VCARD40 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\n"
    "FN:Jean Dupont\r\nN:Dupont;Jean;;;\r\n"
    "TEL;VALUE=uri;TYPE=work:tel:+33-1-23-45-67-89\r\n"
    'TEL;VALUE=uri;TYPE="voice,cell";PREF=1:tel:+33-6-12-34-56-78\r\n'
    "EMAIL;TYPE=work:jean.dupont@example.fr\r\n"
    "END:VCARD\r\n"
)


@dataclass
class Badge:
    name: str
    format: str  # a zxingcpp.BarcodeFormat name
    text: str
    fields: dict = field(default_factory=dict)
    badge_id: str | None = None


BADGES = [
    Badge(
        "vcard21-qp-cyrillic",
        "QRCode",
        VCARD21,
        {
            "first_name": "Пётр",
            "last_name": "Иванов",
            "company": "ООО «Сибирь Логистик»",
            "job_title": "Директор по закупкам",
            "email": "p.ivanov@sibir.example",
            "phone": "+7 383 555-01-23",
        },
    ),
    Badge(
        "vcard30-escapes-folding",
        "PDF417",
        VCARD30,
        {
            "first_name": "Anna",
            "last_name": "Müller",
            "company": "Müller, Schmidt & Co; KG",
            "job_title": "Leiterin Vertrieb, DACH",
            "phone": "+49 30 2222222",
            "email": "anna.mueller@mueller-schmidt.example",
            "city": "Hamburg",
            "country": "DE",
        },
    ),
    Badge(
        "vcard40-tel-uri",
        "DataMatrix",
        VCARD40,
        {
            "first_name": "Jean",
            "last_name": "Dupont",
            "phone": "+33-6-12-34-56-78",
            "email": "jean.dupont@example.fr",
        },
    ),
    Badge(
        "mecard",
        "Aztec",
        "MECARD:N:Doe,John;TEL:+15551234567;EMAIL:john@doe.example;ORG:Doe\\; Sons;;",
        {"first_name": "John", "last_name": "Doe", "company": "Doe; Sons", "phone": "+15551234567"},
    ),
    Badge(
        "bizcard",
        "QRCode",
        "BIZCARD:N:Kim;X:Lee;T:CTO;C:Lee Labs;B:+82 2 555 0100;E:kim@leelabs.example;;",
        {
            "first_name": "Kim",
            "last_name": "Lee",
            "job_title": "CTO",
            "company": "Lee Labs",
            "email": "kim@leelabs.example",
        },
    ),
    Badge(
        "mailto",
        "QRCode",
        "mailto:sales@nordwind.example?subject=Hello",
        {"email": "sales@nordwind.example"},
    ),
    Badge("tel", "QRCode", "tel:+4915155501234", {"phone": "+4915155501234"}),
    Badge(
        "url-attendee-id",
        "QRCode",
        "https://reg.expo.example/a/ATT-20931?utm_source=badge",
        {},
        badge_id="ATT-20931",
    ),
    Badge("code128-id", "Code128", "HM26-004211", {}, badge_id="HM26-004211"),
    Badge("code39-id", "Code39", "A12345", {}, badge_id="A12345"),
]


def badge_png(badge: Badge, folder: Path) -> Path:
    """The badge's code as a photo-like PNG: the symbol scaled up on a white card."""
    code = zxingcpp.create_barcode(badge.text, getattr(zxingcpp.BarcodeFormat, badge.format))
    image = code.to_image(scale=4)
    view = memoryview(image)
    symbol = Image.frombytes("L", (view.shape[1], view.shape[0]), bytes(view))
    if badge.format in ("Code128", "Code39"):
        symbol = symbol.resize((symbol.width, max(symbol.height, 120)))
    photo = ImageOps.expand(symbol, border=60, fill=255).convert("RGB")
    path = folder / f"{badge.name}.png"
    photo.save(path)
    return path
