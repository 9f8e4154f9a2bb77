"""No untranslated string ships in the booth app or the visitor form (no browser needed).

The PWA's messages live in ``pwa/i18n/<language>.json``. These tests fail when a key the
HTML or the JS uses is missing from a catalogue, when the catalogues disagree (keys,
placeholders, plural forms), when visible text in the HTML is not marked with
``data-i18n``, or when a JS module puts an English literal on the screen without ``t()``.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PWA = ROOT / "pwa"
CATALOGUES = {path.stem: path for path in sorted((PWA / "i18n").glob("*.json"))}
HTML_FILES = [PWA / "index.html", PWA / "visitor.html"]
JS_FILES = sorted((PWA / "js").glob("*.js")) + [PWA / "sw.js"]

# Plural forms each language must give for a counted message (CLDR cardinal categories
# that whole numbers reach).
PLURAL_FORMS = {"en": {"one", "other"}, "ru": {"one", "few", "many"}}
# Visible HTML text that is the same in every language: the product's name and the
# language switcher's own names (each language named in itself).
NOT_TRANSLATED = {"LeadRelay", "EN", "RU", "English", "Русский"}
TRANSLATED_ATTRS = ("aria-label", "placeholder", "title", "alt", "content")
# A message key as the JS spells it: "namespace.name" (see the catalogues).
KEY_SHAPE = re.compile(r"^[a-z]+(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(language: str) -> dict:
    return json.loads(CATALOGUES[language].read_text(encoding="utf-8"))


def forms(value) -> list[str]:
    return list(value.values()) if isinstance(value, dict) else [value]


# --- reading the HTML ---------------------------------------------------------------------


class _Marks(HTMLParser):
    """Keys used by data-i18n / data-i18n-attr, and visible text left unmarked."""

    VOID = {"meta", "link", "img", "input", "br", "hr", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.keys: list[str] = []
        self.fallbacks: list[tuple[str, str]] = []  # (key, English text in the markup)
        self.unmarked: list[str] = []
        self.stack: list[tuple[str, dict]] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        marked_attrs = {}
        for pair in (attrs.get("data-i18n-attr") or "").split(";"):
            if ":" in pair:
                name, key = (part.strip() for part in pair.split(":", 1))
                marked_attrs[name] = key
                self.keys.append(key)
        if attrs.get("data-i18n"):
            self.keys.append(attrs["data-i18n"])
        for name in TRANSLATED_ATTRS:
            value = attrs.get(name)
            if name == "content" and tag != "meta":
                continue
            if name == "content" and attrs.get("name") not in ("description",):
                continue
            if value and re.search(r"[^\W\d_]", value) and name not in marked_attrs:
                if value not in NOT_TRANSLATED:
                    self.unmarked.append(f"<{tag} {name}={value!r}>")
            elif value and name in marked_attrs:
                self.fallbacks.append((marked_attrs[name], value))
        self.in_script = tag in ("script", "style")
        if tag not in self.VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        self.in_script = False
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        if self.in_script or not re.search(r"[^\W\d_]", text) or text in NOT_TRANSLATED:
            return
        tag, attrs = self.stack[-1] if self.stack else ("", {})
        if attrs.get("data-i18n"):
            self.fallbacks.append((attrs["data-i18n"], text))
        else:
            self.unmarked.append(f"<{tag}>{text}")


def html_marks(path: Path) -> _Marks:
    parser = _Marks()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# --- reading the JS -----------------------------------------------------------------------

REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^")


class _Lexer:
    """Just enough of a JS lexer to find string literals (see ``js_strings``)."""

    def __init__(self, source: str):
        self.src = source
        self.n = len(source)
        self.out: list[tuple[int, str, str]] = []
        self.last = ""  # last significant code character, to tell a regex from a division
        self.last_word = ""
        # Open templates around a ${…}: (brace depth that closes it, start offset, text so far).
        self.templates: list[tuple[int, int, list[str]]] = []
        self.depth = 0

    def run(self) -> list[tuple[int, str, str]]:
        i = 0
        while i < self.n:
            i = self.step(i)
        return self.out

    def step(self, i: int) -> int:
        src, c = self.src, self.src[i]
        if c.isspace():
            return i + 1
        if src.startswith("//", i):
            end = src.find("\n", i)
            return self.n if end < 0 else end
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            return self.n if end < 0 else end + 2
        if c in "'\"":
            return self.value(self.quoted(i))
        if c == "`":
            return self.value(self.template(i + 1, [], i))
        if c == "/" and (
            self.last in REGEX_BEFORE or not self.last or self.last_word in ("return", "typeof")
        ):
            return self.value(self.regex(i))
        if c == "}" and self.templates and self.templates[-1][0] == self.depth:
            _depth, origin, text = self.templates.pop()
            return self.value(self.template(i + 1, text, origin))
        if c.isalnum() or c in "_$":
            j = i
            while j < self.n and (src[j].isalnum() or src[j] in "_$"):
                j += 1
            self.last, self.last_word = "a", src[i:j]
            return j
        self.depth += {"{": 1, "}": -1}.get(c, 0)
        self.last, self.last_word = c, ""
        return i + 1

    def value(self, end: int) -> int:
        self.last, self.last_word = "a", ""
        return end

    def quoted(self, i: int) -> int:
        quote, j = self.src[i], i + 1
        while j < self.n and self.src[j] != quote:
            j += 2 if self.src[j] == "\\" else 1
        self.out.append((i, quote, self.src[i + 1 : j]))
        return j + 1

    def template(self, j: int, text: list[str], origin: int) -> int:
        """Template text from `j` (after ` or }) to its end or the next ${."""
        src = self.src
        while j < self.n:
            if src[j] == "\\":
                text.append(src[j : j + 2])
                j += 2
            elif src[j] == "`":
                self.out.append((origin, "`", "".join(text)))
                return j + 1
            elif src.startswith("${", j):
                text.append("{}")
                self.templates.append((self.depth, origin, text))
                return j + 2
            else:
                text.append(src[j])
                j += 1
        return j

    def regex(self, i: int) -> int:
        j, in_class = i + 1, False
        while j < self.n and (in_class or self.src[j] != "/"):
            if self.src[j] == "\\":
                j += 1
            elif self.src[j] in "[]":
                in_class = self.src[j] == "["
            j += 1
        j += 1
        while j < self.n and self.src[j].isalpha():
            j += 1
        return j


def js_strings(source: str) -> list[tuple[int, str, str]]:
    """String literals of a JS module: (offset, kind, text) with kind "'", '"' or "`".

    Comments and regular-expression literals are skipped; a template literal's text is
    its literal parts with each ``${…}`` replaced by ``{}``.
    """
    return _Lexer(source).run()


# Where a literal lands on the screen: what the code just before it looks like.
SINKS = [
    re.compile(r"\.(?:textContent|innerText|innerHTML|title|placeholder|label)\s*=\s*$"),
    re.compile(r"\.(?:textContent|innerText|innerHTML|title|placeholder|label)\s*=[^;\n]*[?:]\s*$"),
    re.compile(r"\b(?:alert|confirm|prompt|toast|banner)\(\s*$"),
    re.compile(r"\bsetAttribute\(\s*['\"](?:aria-label|placeholder|title|alt)['\"]\s*,\s*$"),
    re.compile(r"\bplain\([^()]*,\s*$"),
    re.compile(r"[{,]\s*(?:text|label|message):\s*$"),
]
CONSOLE = re.compile(r"\bconsole\.\w+\(\s*$")
# A lone capitalised word ("Sent", "Offer") is a label; CamelCase names ("AbortError") are not.
LABEL = re.compile(r"^[A-Z][a-z]{2,}[.!?…]?$")
# English prose: two words or more, starting with a capital or holding sentence punctuation.
PROSE = re.compile(r"^(?=.*[a-z])(?=.*[A-Za-z]{2,}\s+[A-Za-z]{2,})(?:[A-Z]|.*[.!?…—:]\s*$|.*\s—\s)")


def untranslated(source: str) -> list[str]:
    """English literals a JS module shows to people without going through t()."""
    problems = []
    for offset, _kind, text in js_strings(source):
        line_end = source.find("\n", offset)
        line = source[source.rfind("\n", 0, offset) + 1 : line_end if line_end >= 0 else None]
        if "i18n-ignore" in line:
            continue
        before = source[max(0, offset - 200) : offset]
        words = re.sub(r"\{\}", " ", text)
        if not re.search(r"[A-Za-z]{2,}", words) or KEY_SHAPE.match(text):
            continue
        if CONSOLE.search(before) or re.search(r"new DOMException\(\s*$", before):
            continue
        number = source.count("\n", 0, offset) + 1
        if (
            any(sink.search(before) for sink in SINKS)
            or PROSE.search(words.strip())
            or LABEL.match(text)
        ):
            problems.append(f"line {number}: {text!r}")
    return problems


def js_keys(source: str, namespaces: set[str]) -> set[str]:
    """Message keys a module names: literals shaped like "namespace.name" of a known namespace."""
    keys = set()
    for _offset, kind, text in js_strings(source):
        if kind != "`" and KEY_SHAPE.match(text) and text.split(".")[0] in namespaces:
            keys.add(text)
    for match in re.finditer(r"\b(?:t|say)\(\s*(?:[\w.$()'\"]+,\s*)?['\"]([^'\"]+)['\"]", source):
        keys.add(match.group(1))
    return keys


# --- the tests ------------------------------------------------------------------------------


def test_there_are_english_and_russian_catalogues():
    assert {"en", "ru"} <= set(CATALOGUES)


def test_every_catalogue_has_the_same_keys():
    english = set(load("en"))
    for language in CATALOGUES:
        keys = set(load(language))
        assert keys == english, (
            f"{language}: missing {sorted(english - keys)}, extra {sorted(keys - english)}"
        )


def test_messages_agree_on_placeholders_and_give_every_plural_form():
    english = load("en")
    for language in CATALOGUES:
        catalogue = load(language)
        for key, value in catalogue.items():
            assert isinstance(value, (str, dict)), f"{language} {key}: {value!r}"
            for form in forms(value):
                assert isinstance(form, str) and form.strip(), f"{language} {key}: empty"
            wanted = {p for form in forms(english[key]) for p in PLACEHOLDER.findall(form)}
            for form in forms(value):
                assert set(PLACEHOLDER.findall(form)) == wanted, f"{language} {key}: {form!r}"
            if isinstance(value, dict) or isinstance(english[key], dict):
                assert isinstance(value, dict), f"{language} {key}: a count needs plural forms"
                assert "count" in wanted, f"{key}: plural forms are chosen by {{count}}"
                needed = PLURAL_FORMS.get(language, {"other"})
                assert needed <= set(value), f"{language} {key}: needs {sorted(needed)}"


def test_russian_is_not_english_left_untranslated():
    english, russian = load("en"), load("ru")
    same = [
        key
        for key, value in russian.items()
        if forms(value) == forms(english[key]) and re.search(r"[a-z]{3}", " ".join(forms(value)))
    ]
    assert same == []


@pytest.mark.parametrize("page", HTML_FILES, ids=lambda p: p.name)
def test_every_key_the_html_uses_is_in_every_catalogue(page):
    marks = html_marks(page)
    assert marks.keys, "no data-i18n marks found"
    for language in CATALOGUES:
        missing = sorted(set(marks.keys) - set(load(language)))
        assert missing == [], f"{page.name}: not in {language}.json: {missing}"


@pytest.mark.parametrize("page", HTML_FILES, ids=lambda p: p.name)
def test_visible_html_text_is_marked_and_its_fallback_is_the_english_message(page):
    marks = html_marks(page)
    assert marks.unmarked == [], f"{page.name}: text without data-i18n: {marks.unmarked}"
    english = load("en")
    for key, text in marks.fallbacks:
        assert text in forms(english.get(key, "")) or "{" in json.dumps(english.get(key)), (
            f"{page.name}: fallback {text!r} differs from en.json {key}"
        )


@pytest.mark.parametrize("module", JS_FILES, ids=lambda p: p.name)
def test_every_key_a_js_module_uses_is_in_every_catalogue(module):
    namespaces = {key.split(".")[0] for key in load("en")}
    used = js_keys(module.read_text(encoding="utf-8"), namespaces)
    for language in CATALOGUES:
        missing = sorted(used - set(load(language)))
        assert missing == [], f"{module.name}: not in {language}.json: {missing}"


def test_the_js_modules_name_the_keys_they_use():
    namespaces = {key.split(".")[0] for key in load("en")}
    used = set()
    for module in JS_FILES:
        used |= js_keys(module.read_text(encoding="utf-8"), namespaces)
    for page in HTML_FILES:
        used |= set(html_marks(page).keys)
    # Every message is used somewhere, so a catalogue does not fill up with dead entries.
    assert sorted(set(load("en")) - used) == []


@pytest.mark.parametrize("module", JS_FILES, ids=lambda p: p.name)
def test_no_js_module_shows_an_english_literal_without_t(module):
    assert untranslated(module.read_text(encoding="utf-8")) == []


def test_the_checker_catches_untranslated_literals_and_lets_messages_through():
    source = """
    import { t } from './i18n.js';
    const re = /don't [a-z]+/g; // 'Not a string'
    node.textContent = 'Saved';
    node.textContent = ok ? 'Sent' : t('today.sent');
    alert("Something broke");
    confirm(`Really delete ${n} leads?`);
    banner('Hello there.');
    button.setAttribute('aria-label', 'Close');
    el('span', { text: 'Visitor agrees' });
    plain(node, 'Nothing to send');
    const note = `Filled from a ${kind} — check the fields.`;
    const ratings = { hot: 'Hot', code: 'AbortError', method: 'POST' };
    toast(t('capture.saved'));
    node.textContent = t('today.sent', { count: 2 });
    el('p', { class: 'muted hint', text: office.name });
    console.warn('leadrelay: service worker not registered', err);
    headers['Content-Type'] = 'application/json';
    const cls = `lead state-${row.state}`;
    """
    found = untranslated(source)
    flagged = [line.split(": ", 1)[1] for line in found]
    assert flagged == [
        "'Saved'",
        "'Sent'",
        "'Something broke'",
        "'Really delete {} leads?'",
        "'Hello there.'",
        "'Close'",
        "'Visitor agrees'",
        "'Nothing to send'",
        "'Filled from a {} — check the fields.'",
        "'Hot'",
    ]
    assert js_keys(source, {"today", "capture"}) == {"today.sent", "capture.saved"}
