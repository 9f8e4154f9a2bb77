"""Server pages in Russian and English."""

import re
from html.parser import HTMLParser

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from backend.extensions import db
from backend.i18n import TRANSLATIONS
from tests.factories import make_event, make_user


def test_the_sign_in_page_follows_the_browser_language(client):
    russian = client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    page = russian.get_data(as_text=True)
    assert '<html lang="ru">' in page
    assert "Пароль" in page and "Войти" in page
    english = client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.5"}).get_data(
        as_text=True
    )
    assert "Password" in english and "Пароль" not in english


def test_the_switcher_remembers_the_choice_in_the_profile(client, auth):
    user = make_user("admin", email="a@example.com")
    db.session.commit()
    auth.login("a@example.com")
    client.get("/admin/offices")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    client.post("/language", data={"language": "ru", "csrf_token": token, "next": "/admin/offices"})
    db.session.refresh(user)
    assert user.language == "ru"
    page = client.get("/admin/offices", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Куда попадёт этот лид?" in page


def test_every_extracted_string_has_a_russian_translation():
    """No untranslated string ships: extraction from the code finds nothing missing in ru."""
    with open(TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale="ru")
    # A plural entry counts only with every form filled (Russian has three).
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.id, tuple) else m.string)
    }
    method_map = [("backend/**.py", "python"), ("backend/templates/**.html", "jinja2"),
                  ("backend/templates/**.txt", "jinja2")]  # fmt: skip
    root = str(TRANSLATIONS.parent.parent)
    missing = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        root, method_map=method_map, keywords={"_": None, "gettext": None, "_l": None, "N_": None,
                                               "ngettext": (1, 2), "lazy_gettext": None}
    ):  # fmt: skip
        ids = message if isinstance(message, tuple) else (message,)
        missing.update(i for i in ids[:1] if i and i not in translated)
    assert not missing, sorted(missing)


# --------------------------------------------------------------------------- templates
#
# Every word a page shows must go through the catalogue. The scan below blanks out Jinja
# (expressions, tags, comments, ``{% trans %}`` blocks), parses what is left as HTML and
# reports words in text nodes and in the attributes people read. The mails' fixed parts
# (``messaging/mail/``) are scanned too: the event's own texts come in as variables.

TEMPLATES = TRANSLATIONS.parent / "templates"
SKIPPED_DIRS = ()
# Names and abbreviations that read the same in every language.
ALLOWED_WORDS = {"LeadRelay", "SLA", "CSV", "ROI", "EN", "RU", "QR", "PNG", "SVG", "UTC",
                 "EUR"}  # fmt: skip
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}
BUTTON_TYPES = {"submit", "button", "reset"}
WORD = re.compile(r"[^\W\d_]{2,}(?:-[^\W\d_]+)*")


def _jinja_end(source: str, start: int, closing: str) -> int:
    """Index just past the ``closing`` delimiter that ends the Jinja construct at ``start``,
    skipping string literals (an expression may hold "}}" or "%}" inside quotes)."""
    i, quote = start + 2, None
    while i < len(source):
        char = source[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"" and closing != "#}":
            quote = char
        elif source.startswith(closing, i):
            return i + len(closing)
        i += 1
    raise AssertionError(f"unclosed Jinja construct at {start}")


def strip_jinja(source: str) -> str:
    """The template with Jinja blanked out: expressions become a neutral ``\\x00``, tags
    and comments vanish, and a ``{% trans %}`` block (translated as a whole) vanishes too."""
    out, i, in_trans = [], 0, False
    while i < len(source):
        two = source[i : i + 2]
        if two in ("{{", "{%", "{#"):
            end = _jinja_end(source, i, {"{{": "}}", "{%": "%}", "{#": "#}"}[two])
            body = source[i + 2 : end - 2].strip("-+ \n\t")
            if two == "{%" and re.match(r"(trans|pluralize)\b", body):
                in_trans = True
            elif two == "{%" and re.match(r"endtrans\b", body):
                in_trans = False
            elif two == "{{" and not in_trans:
                out.append("\x00")
            out.append("\n" * source.count("\n", i, end))  # keep line numbers
            i = end
            continue
        out.append(source[i] if not in_trans or source[i] == "\n" else "")
        i += 1
    return "".join(out)


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def _check(self, text: str | None):
        text = (text or "").replace("\x00", " ")
        bad = [m for m in WORD.finditer(text) if m.group() not in ALLOWED_WORDS]
        if bad:
            line = self.getpos()[0] + text.count("\n", 0, bad[0].start())
            self.found.append((line, " ".join(m.group() for m in bad)))

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if name in READ_ATTRIBUTES:
                self._check(value)
        if tag == "input" and attributes.get("type") in BUTTON_TYPES:
            self._check(attributes.get("value"))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self._check(data)


def untranslated_text(source: str) -> list[tuple[int, str]]:
    """(line, words) for every visible text or read attribute not in a ``_()``/trans call."""
    parser = _VisibleText()
    parser.feed(strip_jinja(source))
    parser.close()
    return parser.found


def test_the_template_scan_finds_plain_english_and_ignores_jinja():
    assert untranslated_text("<h1>Lead queue</h1>") == [(1, "Lead queue")]
    assert untranslated_text('<input placeholder="e.g. Moscow">') == [(1, "Moscow")]
    assert untranslated_text('<input type="submit" value="Save">') == [(1, "Save")]
    assert untranslated_text('<nav aria-label="Pages"></nav>') == [(1, "Pages")]
    assert untranslated_text("<p>\n{{ total }} leads</p>") == [(2, "leads")]
    clean = """<h1>{{ _('Lead queue') }}</h1><p title="{{ _('due %(t)s', t=x) }}">{{ n }} ·
      {{ '<b>}}</b>' if x else "%}" }} — 42 %</p><script>const a = "text";</script>
      {% trans n=1 %}<strong>{{ n }}</strong> received{% endtrans %}{# a note #}
      <button value="ru">{{ code|upper }}</button> LeadRelay SLA, UTC
      {% if x %}<span class="tag">{{ flag | label('flag') }}</span>{% endif %}"""
    assert untranslated_text(clean) == []


def test_no_template_shows_text_outside_the_catalogue():
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith(SKIPPED_DIRS):
            continue
        for line, words in untranslated_text(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(f"{line}: {words}")
    assert not found, found


def test_marketing_pages_render_in_russian(client, auth):
    user = make_user("marketing", email="m@example.com", language="ru")
    event = make_event(name="Expo", cost=12500, currency="EUR")
    db.session.commit()
    auth.login("m@example.com")
    pages = {
        "/marketing": "Мероприятия: что принесли вложения",
        f"/events/{event.id}/report": "Выручка по лидам этого мероприятия",
        f"/events/{event.id}/edit": "Бриф для продаж",
        f"/events/{event.id}/qr": "Лист A4 для печати",
        "/league": "Рейтинг офисов",
        "/wins": "Победы по лидам с мероприятий",
        "/plan": "План по воронке",
    }
    for url, heading in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert heading in response.get_data(as_text=True), url
    assert "12\xa0500,00\xa0€" in client.get(f"/events/{event.id}/report").get_data(as_text=True)
    with client.session_transaction() as session:
        token = session["csrf_token"]
    refused = client.post(f"/events/{event.id}/edit", data={"csrf_token": token, "name": "Expo",
                                                           "timezone": "Mars/Olympus"})  # fmt: skip
    assert "Часовой пояс: неизвестный часовой пояс" in refused.get_data(as_text=True)
    assert user.language == "ru"
