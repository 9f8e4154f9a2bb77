"""A business card's OCR text turned into lead fields. Pure: no database, no Flask.

``parse_card(lines)`` answers ``CardFields``: the values it found and, for each, a
confidence from 0 to 1 (how sure the rule is, times how sure the OCR was of that line).
Russian and English cards, in Cyrillic and Latin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers

from backend.cards.names import FIRST_NAMES

FIELDS = (
    "first_name", "last_name", "company", "job_title", "email", "phone", "website",
    "city", "country",
)  # fmt: skip
FALLBACK_REGION = "RU"

# Cyrillic letters OCR confuses with Latin ones, for e-mail and web addresses.
_HOMOGLYPHS = str.maketrans("асеорхукмтвнАСЕОРХУКМТВН", "aceopxykmtbhACEOPXYKMTBH")
# The other way round: a Cyrillic word OCR read as Latin ("Camapa" for "Самара").
_LATIN_AS_CYRILLIC = str.maketrans("aceopxykmnurbtACEOPXYKMHTB", "асеорхукмпигвтАСЕОРХУКМНТВ")
EMAIL = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
WEBSITE = re.compile(
    r"(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:[a-z]{2,6}|рф)(?:/[^\s]*)?",
    re.I,
)
LEGAL_FORMS_RU = ("ООО", "ОАО", "ЗАО", "ПАО", "АО", "ИП", "НПО", "НПП", "ГК", "ФГУП", "МУП", "АНО")
LEGAL_FORMS_EN = (
    "LLC", "L.L.C.", "Ltd", "Ltd.", "Limited", "Inc", "Inc.", "Corp", "Corp.", "Corporation",
    "GmbH", "AG", "KG", "SE", "S.A.", "SA", "S.p.A.", "SpA", "B.V.", "BV", "N.V.", "Oy", "AB",
    "PLC", "LLP", "LP", "Co.", "Sp. z o.o.", "sp. z o.o.", "S.r.l.", "SRL", "SAS", "Pty",
)  # fmt: skip
COMPANY_WORDS = (
    "group", "company", "holding", "technologies", "technology", "systems", "solutions",
    "industries", "international", "labs", "consulting", "partners", "software", "logistics",
    "групп", "группа", "компания", "холдинг", "завод", "технологии", "системы", "решения",
    "концерн", "комбинат", "корпорация", "инжиниринг", "лаборатория", "банк", "bank",
)  # fmt: skip
TITLE_WORDS = (
    # Russian stems: match the start of a word.
    "директор", "менеджер", "руководител", "начальник", "инженер", "специалист", "генеральн",
    "коммерческ", "техническ", "главн", "ведущ", "старш", "заместител", "председател",
    "президент", "управляющ", "партн", "аналитик", "консультант", "бухгалтер", "юрист",
    "архитектор", "разработчик", "представител", "отдел", "продаж", "маркетолог",
    "основател", "владел", "эксперт", "координатор", "администратор", "технолог", "глава",
    "исполнительн", "финансов", "закупк", "логист", "советник", "помощник", "секретар",
    # English
    "director", "manager", "head", "chief", "ceo", "cto", "cfo", "coo", "cmo", "cio",
    "officer", "engineer", "specialist", "president", "vice", "vp", "founder", "owner",
    "partner", "consultant", "analyst", "lead", "sales", "marketing", "developer",
    "architect", "representative", "coordinator", "executive", "associate", "advisor",
    "account", "procurement", "purchasing", "buyer", "designer", "scientist", "assistant",
    "managing", "senior", "principal", "product", "business", "development", "operations",
)  # fmt: skip
EMAIL_LABELS = ("e", "email", "mail", "el", "почта")
FAX_WORDS = ("fax", "факс", "f:", "f.", "ф.", "ф:")
MOBILE_WORDS = ("mob", "моб", "cell", "сот", "m:", "m.", "м:", "м.", "mobile", "gsm")
ADDRESS_WORDS = (
    "ул", "улица", "пр", "просп", "проспект", "пер", "переулок", "д", "дом", "офис", "оф",
    "стр", "корп", "бульвар", "наб", "шоссе", "пл", "street", "st", "str", "avenue", "ave",
    "road", "rd", "suite", "floor", "office", "building", "blvd", "strasse", "straße",
)  # fmt: skip
PATRONYMIC = re.compile(r"(?:ович|евич|ич|овна|евна|ична|инична)$", re.I)
SURNAME_ENDING = re.compile(
    r"(?:ов|ев|ёв|ин|ын|ский|цкий|ской|ова|ева|ёва|ина|ына|ская|цкая|енко|ук|юк|ян|дзе|швили)$",
    re.I,
)
NAME_WORD = re.compile(r"^[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ][a-zа-яё]+)?$|^[A-ZА-ЯЁ]{2,}$")
QUOTED = re.compile(r"[«\"“„']([^«»\"“”„']{2,})[»\"”“']")


@dataclass
class CardFields:
    """What a card says: values by lead field, and a confidence (0..1) for each."""

    fields: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)

    def put(self, name: str, value: str, confidence: float) -> None:
        value = value.strip(" ,;|·•")
        if value and name not in self.fields:
            self.fields[name] = value
            self.confidence[name] = round(max(0.0, min(1.0, confidence)), 2)

    def as_dict(self) -> dict:
        return {
            "fields": {name: self.fields.get(name, "") for name in FIELDS},
            "confidence": {name: self.confidence[name] for name in FIELDS if name in self.fields},
        }


@dataclass
class _Line:
    text: str
    ocr: float
    used: bool = False

    @property
    def lower(self) -> str:
        return self.text.casefold()


def _words(text: str) -> list[str]:
    return re.findall(r"[\w.]+", text.casefold())


def _has_word(text: str, stems: tuple[str, ...]) -> bool:
    words = _words(text)
    return any(w.startswith(stem) if len(stem) > 3 else w.strip(".") == stem
               for w in words for stem in stems)  # fmt: skip


SP_Z_OO = re.compile(r"\bSp\.?\s*[zZ2]\s*[oO0]\.?\s*[oO0]\.?", re.I)
# A Russian legal form at the start of a line as OCR may spell it: "000", "OOO", "AO", "3AO".
_RU_FORM_AS_READ = re.compile(r"^([A-ZА-ЯЁ03]{2,4})(?=\s*[«\"“])")
_FORM_FIX = str.maketrans("03AOPEKHMTCB", "ОЗАОРЕКНМТСВ")


def _legal_form(text: str) -> bool:
    if SP_Z_OO.search(text):
        return True
    form = _RU_FORM_AS_READ.match(text)
    if form and form.group(1).translate(_FORM_FIX) in LEGAL_FORMS_RU:
        return True
    for form in LEGAL_FORMS_RU:
        if re.search(rf"(?<![А-ЯЁA-Za-zа-яё]){form}(?![А-ЯЁA-Za-zа-яё])", text):
            return True
    for form in LEGAL_FORMS_EN:
        if re.search(rf"(?<![A-Za-z]){re.escape(form)}(?![A-Za-z])", text):
            return True
    return False


def _clean_line(text: str) -> str:
    text = text.replace("|", " ").replace("©", "@").replace("®", "@")
    return re.sub(r"\s+", " ", text).strip()


def parse_card(
    text: str | list[str],
    *,
    default_region: str | None = None,
    line_confidence: list[float] | None = None,
) -> CardFields:
    """Read a card's lines into lead fields.

    ``default_region`` is the ISO country phones without a ``+`` are read in (the event's
    country; Russia when unknown). ``line_confidence`` gives the OCR's confidence per
    line (0..1); without it every line counts as certain. Never raises for text input.
    """
    raw = text.splitlines() if isinstance(text, str) else list(text)
    confidences = line_confidence or [1.0] * len(raw)
    lines = [
        _Line(_clean_line(t), c) for t, c in zip(raw, confidences, strict=False) if _clean_line(t)
    ]
    card = CardFields()
    _emails(lines, card)
    _phones(lines, card, (default_region or FALLBACK_REGION).upper())
    _website(lines, card)
    _company(lines, card)
    _name(lines, card)
    _job_title(lines, card)
    _place(lines, card)
    if "company" not in card.fields:
        _company_fallback(lines, card)
    _repair_addresses(card)
    return card


def _emails(lines: list[_Line], card: CardFields) -> None:
    for line in lines:
        candidate = line.text.translate(_HOMOGLYPHS)
        candidate = re.sub(r"\s*@\s*", "@", candidate)
        # "david johnson@x.com": OCR lost the dot between two parts of the local name.
        candidate = re.sub(
            r"(?<![\w:])([a-z]{2,}) ([a-z][\w.\-]*@)",
            lambda m: m.group(0) if m.group(1) in EMAIL_LABELS else f"{m.group(1)}.{m.group(2)}",
            candidate,
        )
        candidate = re.sub(r"(?<=\w)\s*\.\s*(?=[a-z]{2,}\b)", ".", candidate)
        match = EMAIL.search(candidate)
        if match:
            # An initial before the surname ("o.fedorov@") is a letter, never a zero.
            value = re.sub(r"^0(?=\.)", "o", match.group(0).lower().rstrip("."))
            card.put("email", value, 0.95 * line.ocr)
            line.used = True
            return


def _digits_fixed(text: str) -> str:
    # OCR reads 0 as O/О and 3 as З next to digits.
    table = str.maketrans({"O": "0", "О": "0", "o": "0", "о": "0", "З": "3", "l": "1", "I": "1"})
    return re.sub(
        r"(?<=[\d\s()\-])[OОoоЗlI](?=[\d\s()\-])", lambda m: m.group(0).translate(table), text
    )


def _phones(lines: list[_Line], card: CardFields, region: str) -> None:
    found: list[tuple[int, str, float, _Line]] = []
    for line in lines:
        if "@" in line.text:
            continue
        text = _digits_fixed(line.text)
        lower = line.lower
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        ):
            number = match.number
            if not phonenumbers.is_valid_number(number):
                continue
            before = lower[: match.start].strip()[-12:]
            rank = 1
            kind = phonenumbers.number_type(number)
            if kind in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            ):
                rank = 2 if kind == phonenumbers.PhoneNumberType.MOBILE else 1
            if any(w in before or before.startswith(w) for w in MOBILE_WORDS):
                rank = 3
            if any(w in before for w in FAX_WORDS) or (
                not before and any(w in lower[:6] for w in FAX_WORDS)
            ):
                rank = 0
            formatted = phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            found.append((rank, formatted, line.ocr, line))
            line.used = True
    if found:
        rank, formatted, ocr, _ = max(found, key=lambda item: item[0])
        card.put("phone", formatted, (0.95 if rank else 0.6) * ocr)


def _website(lines: list[_Line], card: CardFields) -> None:
    email_domain = card.fields.get("email", "").partition("@")[2]
    best = None
    for line in lines:
        if "@" in line.text:
            continue
        candidate = re.sub(
            r"(?i)\bw\s*w\s*w\s*[.,]?\s*(?=[a-z0-9])", "www.", line.text.translate(_HOMOGLYPHS)
        )
        for match in WEBSITE.finditer(candidate):
            value = match.group(0).rstrip(".,;").lower()
            if re.fullmatch(r"[\d.]+", value) or not re.search(r"[a-z]{2,}", value):
                continue
            score = 0.9 if value.startswith(("www.", "http")) else 0.6
            host = re.sub(r"^(?:https?://)?(?:www\.)?", "", value).split("/")[0]
            if email_domain and host == email_domain:
                score += 0.05
            if best is None or score > best[0]:
                best = (score * line.ocr, value, line)
    if best:
        value = best[1]
        host = re.sub(r"^(?:https?://)?(?:www\.)?", "", value).split("/")[0]
        if email_domain and host != email_domain and _close(host, email_domain):
            # One of the two was misread; an e-mail address is more often read right.
            value = value.replace(host, email_domain)
        card.put("website", value, best[0])
        best[2].used = True


def _close(a: str, b: str) -> bool:
    """Whether two short strings differ by at most two edits."""
    if abs(len(a) - len(b)) > 2:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 2


def _company(lines: list[_Line], card: CardFields) -> None:
    for line in lines:
        if line.used:
            continue
        quoted = QUOTED.search(line.text)
        if _legal_form(line.text) or (
            quoted and (quoted.start() == 0 or not _has_word(line.text, TITLE_WORDS))
        ):
            card.put("company", _company_value(line.text), 0.9 * line.ocr)
            line.used = True
            return


def _company_value(text: str) -> str:
    text = SP_Z_OO.sub("Sp. z o.o.", text)
    form = _RU_FORM_AS_READ.match(text)
    if form and form.group(1).translate(_FORM_FIX) in LEGAL_FORMS_RU:
        text = form.group(1).translate(_FORM_FIX) + text[form.end() :]
    return re.sub(r"\s+", " ", text).strip(" ,;")


def _company_fallback(lines: list[_Line], card: CardFields) -> None:
    for line in lines:
        if line.used or any(ch.isdigit() for ch in line.text):
            continue
        if _has_word(line.text, COMPANY_WORDS):
            card.put("company", _company_value(line.text), 0.6 * line.ocr)
            line.used = True
            return
    for line in lines:
        letters = [ch for ch in line.text if ch.isalpha()]
        if line.used or len(letters) < 3 or any(ch.isdigit() for ch in line.text):
            continue
        if line.text.isupper() and len(line.text.split()) <= 3:
            card.put("company", line.text, 0.4 * line.ocr)
            line.used = True
            return


def _name_words(text: str) -> list[str] | None:
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 3:
        return None
    if not all(NAME_WORD.match(w) for w in words):
        return None
    return [w.capitalize() if w.isupper() else w for w in words]


def _names_a_country(text: str) -> bool:
    from backend.routing.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    return any(len(word) > 2 and gazetteer.country_code(word) for word in text.split())


def _split_name(words: list[str]) -> tuple[str, str, float]:
    """(first, last, how sure) for a line of two or three name words."""
    known = [
        w.casefold().replace("ё", "е") in FIRST_NAMES or w.casefold() in FIRST_NAMES for w in words
    ]
    if len(words) == 3:
        if PATRONYMIC.search(words[2]):  # Иванов Иван Иванович
            return f"{words[1]} {words[2]}", words[0], 0.9
        if PATRONYMIC.search(words[1]):  # Иван Иванович Иванов
            return f"{words[0]} {words[1]}", words[2], 0.9
        return f"{words[0]} {words[1]}", words[2], 0.5
    first, second = words
    if known[0] and not known[1]:
        return first, second, 0.9
    if known[1] and not known[0]:
        return second, first, 0.85
    if SURNAME_ENDING.search(first) and not SURNAME_ENDING.search(second):
        return second, first, 0.6
    return first, second, 0.7 if known[0] else 0.5


def _name(lines: list[_Line], card: CardFields) -> None:
    best = None
    for position, line in enumerate(lines):
        if line.used or _has_word(line.text, TITLE_WORDS) or _has_word(line.text, COMPANY_WORDS):
            continue
        # "Елена Попова / Elena Popova": the first spelling; "Moscow, Russia" is no name.
        text = line.text.split(" / ")[0]
        if "," in text or _names_a_country(text):
            continue
        words = _name_words(text)
        if words is None:
            continue
        first, last, sure = _split_name(words)
        score = sure + max(0.0, 0.3 - 0.05 * position)
        if best is None or score > best[0]:
            best = (score, first, last, sure, line)
    if best:
        _, first, last, sure, line = best
        card.put("first_name", first, sure * line.ocr)
        card.put("last_name", last, sure * line.ocr)
        line.used = True


def _job_title(lines: list[_Line], card: CardFields) -> None:
    for line in lines:
        if line.used or "@" in line.text or sum(ch.isdigit() for ch in line.text) > 2:
            continue
        if _has_word(line.text, TITLE_WORDS):
            card.put("job_title", line.text, 0.85 * line.ocr)
            line.used = True
            return


def _place(lines: list[_Line], card: CardFields) -> None:
    from backend.routing.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    country = None
    for line in lines:
        for part in re.split(r"[,;]", line.text):
            code = gazetteer.country_code(part.strip(" ."))
            if code and len(part.strip()) > 2:
                country = (code, line.ocr)
    for line in lines:
        if line.used and not _looks_like_address(line.text):
            continue
        if "@" in line.text or _has_word(line.text, TITLE_WORDS):
            continue
        for part in re.split(r"[,;]", line.text):
            candidate = _city_candidate(part)
            if not candidate:
                continue
            place = gazetteer.resolve(candidate, country[0] if country else None)
            if place is None and re.fullmatch(r"[A-Za-z \-]+", candidate):
                cyrillic = candidate.translate(_LATIN_AS_CYRILLIC)
                place = gazetteer.resolve(cyrillic, country[0] if country else None)
                candidate = cyrillic if place is not None else candidate
            if place is not None:
                sure = (
                    0.85
                    if _looks_like_address(line.text) or re.match(r"\s*(г\.|г |город)", part)
                    else 0.6
                )
                card.put("city", candidate, sure * line.ocr)
                card.put("country", country[0] if country else place.country, sure * line.ocr)
                return
    if country:
        card.put("country", country[0], 0.7 * country[1])


def _looks_like_address(text: str) -> bool:
    return bool(re.search(r"\b\d{5,6}\b", text)) or _has_word(text, ADDRESS_WORDS) or "г." in text


def _city_candidate(part: str) -> str:
    part = re.sub(r"\b\d{4,6}\b", " ", part)
    part = re.sub(r"^\s*(?:г\.|г\s|город\s)", "", part.strip())
    part = part.strip(" .")
    words = part.split()
    if not 1 <= len(words) <= 3 or any(ch.isdigit() for ch in part):
        return ""
    if _has_word(part, ADDRESS_WORDS) or not words[0][:1].isupper():
        return ""
    return part


_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sch", "ы": "y", "ь": "", "ъ": "", "э": "e", "ю": "yu", "я": "ya",
})  # fmt: skip
_CONFUSED = {"i", "l", "1"}


def _card_words(card: CardFields) -> set[str]:
    """Latin spellings of the card's own words (names, company) for checking addresses."""
    text = " ".join(card.fields.get(name, "") for name in ("first_name", "last_name", "company"))
    for form in (*LEGAL_FORMS_RU, *LEGAL_FORMS_EN):
        text = text.replace(form, " ")
    return {w for w in re.findall(r"[a-z]{3,}", text.lower().translate(_TRANSLIT))}


def _i_or_l_only(read: str, word: str) -> bool:
    return (
        len(read) == len(word)
        and read != word
        and all(a == b or {a, b} <= _CONFUSED for a, b in zip(read, word, strict=True))
    )


def _repair_addresses(card: CardFields) -> None:
    """Undo OCR's i/l/1 mix-ups in the e-mail and website where the card spells the word
    elsewhere ("m.paviova@" under "Мария Павлова", "uraimash.com" under «Уралмаш»)."""
    words = _card_words(card)
    if not words:
        return

    def fix(match: re.Match) -> str:
        token = match.group(0)
        return next((w for w in words if _i_or_l_only(token, w)), token)

    for name in ("email", "website"):
        if card.fields.get(name):
            card.fields[name] = re.sub(r"[a-z0-9]{3,}", fix, card.fields[name])
