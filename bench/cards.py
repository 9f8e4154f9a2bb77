"""Business-card reading benchmark: `python bench/cards.py [--cards N] [--seed S]`.

Renders a corpus of business cards with known truth — Russian and English, several fonts
from Debian's font packages (DejaVu, Liberation, Noto), four layouts — as clean renders
and as phone-like photos (on a table, rotated, blurred, unevenly lit, noisy, JPEG),
runs the real OCR (Tesseract 5, rus+eng, on one core) and the card parser, and prints
per-field accuracy and seconds per card against the goals of issue #19.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# One core: Tesseract's OpenMP threads would otherwise hide the per-card cost.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

from backend.cards.ocr import preprocess, read_text  # noqa: E402
from backend.cards.parser import parse_card  # noqa: E402

TESSDATA = os.environ.get("TESSDATA_DIR", "/usr/share/tesseract-ocr/5/tessdata")
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
             "/usr/share/fonts/truetype/noto")  # fmt: skip
FONTS = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf"),
)
GOALS = {
    "clean": {"email": 0.98, "phone": 0.98, "name": 0.90, "company": 0.85},
    "photo": {"email": 0.90, "phone": 0.90, "name": 0.75, "company": 0.70},
}
REPORTED = ("name", "company", "job_title", "email", "phone", "website", "city")
SECONDS_GOAL = 1.5

RU_MEN = [("Иван", "Петров"), ("Сергей", "Кузнецов"), ("Алексей", "Смирнов"), ("Дмитрий", "Волков"),
          ("Андрей", "Морозов"), ("Михаил", "Соколов"), ("Николай", "Лебедев"), ("Павел", "Новиков"),
          ("Олег", "Фёдоров"), ("Виктор", "Ковальчук"), ("Артём", "Зайцев"), ("Роман", "Белоусов")]  # fmt: skip
RU_WOMEN = [("Анна", "Иванова"), ("Елена", "Попова"), ("Ольга", "Васильева"), ("Мария", "Павлова"),
            ("Татьяна", "Семёнова"), ("Наталья", "Голубева"), ("Ирина", "Виноградова"),
            ("Светлана", "Богданова"), ("Юлия", "Воробьёва"), ("Екатерина", "Орлова")]  # fmt: skip
PATRONYMIC_M = ["Сергеевич", "Александрович", "Викторович", "Игоревич", "Петрович"]
PATRONYMIC_F = ["Сергеевна", "Александровна", "Викторовна", "Игоревна", "Петровна"]
TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sch", "ы": "y", "ь": "", "ъ": "", "э": "e", "ю": "yu", "я": "ya",
})  # fmt: skip
EN_PEOPLE = [("John", "Smith"), ("Sarah", "Miller"), ("David", "Johnson"), ("Emma", "Williams"),
             ("Michael", "Brown"), ("Laura", "Davis"), ("Peter", "Wilson"), ("Anna", "Taylor"),
             ("Thomas", "Anderson"), ("Olivia", "Moore"), ("James", "Clarke"), ("Helen", "Wright"),
             ("Markus", "Weber"), ("Julia", "Fischer")]  # fmt: skip
RU_COMPANIES = [("ООО", "Уралмаш"), ("АО", "Сибирские Сети"), ("ПАО", "Северсталь"),
                ("ЗАО", "Промтехника"), ("ООО", "Техностиль"), ("АО", "ВолгаТрансСервис"),
                ("ООО", "Ромашка"), ("ООО", "НПО Энергия"), ("АО", "Ростехмаш"),
                ("ООО", "Альфа Логистик")]  # fmt: skip
EN_COMPANIES = ["Acme Widgets Ltd", "Northwind Trading LLC", "Globex Inc.", "Brightline GmbH",
                "Polaris Systems Ltd", "Bluewave Sp. z o.o.", "Initech Corp.",
                "Vertex Analytics Inc.", "Helios Energy AG", "Stark Components Ltd"]  # fmt: skip
RU_TITLES = ["Коммерческий директор", "Генеральный директор", "Менеджер по продажам",
             "Руководитель отдела закупок", "Главный инженер", "Ведущий специалист",
             "Начальник отдела логистики", "Технический директор"]  # fmt: skip
EN_TITLES = ["Sales Manager", "Head of Procurement", "Chief Executive Officer",
             "Business Development Director", "Senior Engineer", "Marketing Manager",
             "Key Account Manager", "Operations Director"]  # fmt: skip
RU_CITIES = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань",
             "Нижний Новгород", "Самара", "Челябинск", "Пермь", "Красноярск"]  # fmt: skip
EN_CITIES = [("London", "United Kingdom", "GB"), ("Berlin", "Germany", "DE"),
             ("Munich", "Germany", "DE"), ("Manchester", "United Kingdom", "GB"),
             ("Warsaw", "Poland", "PL"), ("New York", "USA", "US")]  # fmt: skip
EN_PHONES = {"GB": ("+44 7{} {}", 3, 6), "DE": ("+49 151 {} {}", 4, 4),
             "PL": ("+48 601 {} {}", 3, 3), "US": ("+1 212 {}-{}", 3, 4)}  # fmt: skip


@dataclass
class Card:
    lines: list[tuple[str, str]]  # (role, text); role decides size and placement
    truth: dict[str, str]
    region: str


def _digits(rng, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().translate(TRANSLIT))


def russian_card(rng: random.Random) -> Card:
    female = rng.random() < 0.45
    first, last = rng.choice(RU_WOMEN if female else RU_MEN)
    form, name = rng.choice(RU_COMPANIES)
    company = f"{form} «{name}»"
    domain = _slug(name.split()[-1]) + rng.choice([".ru", ".com", ".рф" if False else ".ru"])
    email = f"{_slug(first)[0]}.{_slug(last)}@{domain}"
    mobile = f"+7 9{_digits(rng, 2)} {_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 2)}"
    city = rng.choice(RU_CITIES)
    if rng.random() < 0.35:
        patronymic = rng.choice(PATRONYMIC_F if female else PATRONYMIC_M)
        name_line, first_truth = f"{last} {first} {patronymic}", f"{first} {patronymic}"
    else:
        name_line, first_truth = f"{first} {last}", first
    phone_line = rng.choice([f"Моб.: {mobile}", f"Тел.: {mobile}", mobile])
    lines = [("name", name_line), ("title", rng.choice(RU_TITLES)), ("company", company),
             ("contact", phone_line)]  # fmt: skip
    if rng.random() < 0.4:
        lines.append(
            (
                "contact",
                f"Факс: +7 (4{_digits(rng, 2)}) {_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 2)}",
            )
        )
    lines += [("contact", f"E-mail: {email}" if rng.random() < 0.5 else email),
              ("contact", f"www.{domain}"),
              ("address", rng.choice([f"г. {city}, ул. Ленина, д. {rng.randint(1, 99)}",
                                      f"{_digits(rng, 6)}, {city}, пр. Мира, {rng.randint(1, 99)}"]))]  # fmt: skip
    truth = {"first_name": first_truth, "last_name": last, "company": company,
             "job_title": lines[1][1], "email": email, "phone": mobile, "website": f"www.{domain}",
             "city": city}  # fmt: skip
    return Card(lines, truth, "RU")


def english_card(rng: random.Random) -> Card:
    first, last = rng.choice(EN_PEOPLE)
    company = rng.choice(EN_COMPANIES)
    domain = _slug(company.split()[0]) + rng.choice([".com", ".co.uk", ".de", ".io"])
    email = f"{first.lower()}.{last.lower()}@{domain}"
    city, country, code = rng.choice(EN_CITIES)
    pattern, a, b = EN_PHONES[code]
    mobile = pattern.format(_digits(rng, a), _digits(rng, b))
    if code == "GB":
        mobile = f"+44 7{rng.choice('4579')}{_digits(rng, 2)} {_digits(rng, 6)}"
    if code == "US":
        mobile = f"+1 212-{rng.randint(200, 989)}-{_digits(rng, 4)}"
    title = rng.choice(EN_TITLES)
    name_line = f"{first} {last}".upper() if rng.random() < 0.25 else f"{first} {last}"
    lines = [("name", name_line), ("title", title), ("company", company),
             ("contact", rng.choice([f"M: {mobile}", f"Mobile: {mobile}", mobile])),
             ("contact", rng.choice([f"E: {email}", email])), ("contact", f"www.{domain}"),
             ("address", f"{rng.randint(1, 200)} High Street, {city}, {country}")]  # fmt: skip
    truth = {"first_name": first, "last_name": last, "company": company, "job_title": title,
             "email": email, "phone": mobile, "website": f"www.{domain}", "city": city}  # fmt: skip
    return Card(lines, truth, code)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        path = Path(folder) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise SystemExit(
        f"font {name} is missing: apt-get install fonts-dejavu fonts-liberation fonts-noto-core"
    )


SIZES = {"name": 46, "title": 28, "company": 32, "contact": 26, "address": 24}


def render(card: Card, rng: random.Random, layout: int, fonts: tuple[str, str]) -> Image.Image:
    """The card at 300 dpi (1050 x 600 px) in one of four layouts."""
    width, height = 1050, 600
    image = Image.new("RGB", (width, height), rng.choice(["white", "#fbfaf5", "#f4f6fa"]))
    draw = ImageDraw.Draw(image)
    ink = rng.choice([(15, 15, 15), (20, 35, 80), (60, 60, 60)])
    accent = rng.choice([(170, 20, 30), (20, 90, 160), (15, 15, 15)])
    regular, bold = fonts

    def put(text, role, x, y, anchor="la"):
        font = _font(bold if role in ("name", "company") else regular, SIZES[role])
        draw.text((x, y), text, font=font, fill=accent if role == "company" else ink, anchor=anchor)
        return SIZES[role] + 14

    top = [line for line in card.lines if line[0] in ("name", "title", "company")]
    rest = [line for line in card.lines if line[0] not in ("name", "title", "company")]
    if layout == 0:  # one column
        y = 40
        for role, text in card.lines:
            y += put(text, role, 60, y)
    elif layout == 1:  # name top left, contacts bottom left
        y = 40
        for role, text in top:
            y += put(text, role, 60, y)
        y = height - 30 - sum(SIZES[r] + 14 for r, _ in rest)
        for role, text in rest:
            y += put(text, role, 60, y)
    elif layout == 2:  # company on top, person under it, contacts right-aligned
        y = 40
        for role, text in sorted(top, key=lambda line: line[0] != "company"):
            y += put(text, role, 60, y)
        y += 20
        for role, text in rest:
            y += put(text, role, width - 60, y, anchor="ra")
    else:  # centred
        y = 40
        for role, text in card.lines:
            y += put(text, role, width // 2, y, anchor="ma")
    draw.line((60, height - 18, width - 60, height - 18), fill=accent, width=4)
    return image


def photograph(card_image: Image.Image, rng: random.Random) -> bytes:
    """The card as a phone takes it: on a table, turned and tilted, soft, unevenly lit, JPEG."""
    card = card_image.convert("RGB")
    table_colour = rng.choice([(95, 80, 65), (140, 140, 135), (60, 60, 70), (180, 170, 150)])
    scale = rng.uniform(1.25, 1.6)  # how much table is around the card
    table = Image.new(
        "RGB", (int(card.width * scale), int(card.height * scale * 1.1)), table_colour
    )
    table.paste(card, ((table.width - card.width) // 2, (table.height - card.height) // 2))
    # The phone is not held square: a slight keystone, then a turn.
    w, h = table.size
    d = [rng.uniform(0, 0.04) * w for _ in range(4)]
    quad = (d[0], d[1], d[2], h - d[3], w - d[1], h - d[0], w - d[3], d[2])
    photo = table.transform(table.size, Image.QUAD, quad, resample=Image.BICUBIC)
    photo = photo.rotate(rng.uniform(-10, 10), resample=Image.BICUBIC, fillcolor=table_colour)
    # Uneven light: falling off towards one side, and a brighter spot.
    shade = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize(photo.size)
    low = rng.uniform(0.45, 0.8)
    shade = shade.point(lambda v: int(255 * (low + (1 - low) * v / 255)))
    photo = Image.composite(photo, Image.new("RGB", photo.size, 0), shade)
    spot = Image.radial_gradient("L").resize(photo.size).point(lambda v: int(40 * (1 - v / 255)))
    photo = Image.composite(Image.new("RGB", photo.size, (255, 255, 240)), photo, spot)
    photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.8)))
    noise = Image.effect_noise(photo.size, rng.uniform(8, 20)).convert("RGB")
    photo = Image.blend(photo, noise, 0.07)
    photo.thumbnail((1600, 1600))  # what the phone sends
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=rng.randint(50, 80))
    return out.getvalue()


def _norm(value: str) -> str:
    value = value.casefold().replace("ё", "е")
    value = re.sub(r"[«»“”„\"']", '"', value)
    return re.sub(r"\s+", " ", value).strip(" .")


def _phone_key(value: str, region: str) -> str | None:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(value, region), phonenumbers.PhoneNumberFormat.E164
        )
    except phonenumbers.NumberParseException:
        return None


def score(card: Card, fields: dict) -> dict[str, bool]:
    truth = card.truth
    result = {
        "name": _norm(fields["first_name"]) == _norm(truth["first_name"])
        and _norm(fields["last_name"]) == _norm(truth["last_name"]),
        "phone": bool(fields["phone"])
        and _phone_key(fields["phone"], card.region) == _phone_key(truth["phone"], card.region),
    }
    for name in ("company", "job_title", "email", "website", "city"):
        result[name] = _norm(fields[name]) == _norm(truth[name])
    return result


def corpus(count: int, seed: int) -> list[tuple[Card, Image.Image]]:
    rng = random.Random(seed)
    cards = []
    for index in range(count):
        card = russian_card(rng) if index % 2 == 0 else english_card(rng)
        cards.append((card, render(card, rng, index % 4, FONTS[index % len(FONTS)])))
    return cards


def run(count: int, seed: int, show_misses: bool, conditions=("clean", "photo")) -> bool:
    cards = corpus(count, seed)
    rng = random.Random(seed + 1)
    read_text(Image.new("L", (100, 50), 255), TESSDATA)  # load the engine once (~0.2 s)
    all_ok = True
    print(f"{count} cards per set ({count // 2} Russian, {count - count // 2} English), "
          f"{len(FONTS)} fonts, 4 layouts; OCR on one core (OMP_THREAD_LIMIT=1)\n")  # fmt: skip
    for condition in conditions:
        hits = {name: 0 for name in REPORTED}
        seconds = []
        for card, image in cards:
            if condition == "clean":
                buffer = io.BytesIO()
                image.save(buffer, "PNG")
                data = buffer.getvalue()
            else:
                data = photograph(image, rng)
            started = time.perf_counter()
            photo = Image.open(io.BytesIO(data))
            photo.load()
            result = read_text(photo, TESSDATA)
            parsed = parse_card([line.text for line in result.lines], default_region=card.region,
                                line_confidence=[line.confidence for line in result.lines])  # fmt: skip
            seconds.append(time.perf_counter() - started)
            fields = parsed.as_dict()["fields"]
            for name, ok in score(card, fields).items():
                hits[name] += ok
                if show_misses and not ok:
                    pair = name == "name"
                    want = (
                        f"{card.truth['first_name']} / {card.truth['last_name']}"
                        if pair
                        else card.truth[name]
                    )
                    got = (
                        f"{fields['first_name']} / {fields['last_name']}" if pair else fields[name]
                    )
                    print(f"  miss {condition} {name}: want {want!r} got {got!r}")
        print(
            f"{condition:>5}: "
            + "  ".join(f"{name} {hits[name] / count:5.0%}" for name in REPORTED)
        )
        goals = GOALS[condition]
        for name, goal in goals.items():
            ok = hits[name] / count >= goal
            all_ok &= ok
            print(f"       goal {name:<8} >= {goal:.0%}: {'ok' if ok else 'MISSED'}")
        mean = sum(seconds) / len(seconds)
        worst = max(seconds)
        all_ok &= mean <= SECONDS_GOAL
        print(f"       {mean:.2f} s per card on average, {worst:.2f} s at worst "
              f"(goal <= {SECONDS_GOAL} s: {'ok' if mean <= SECONDS_GOAL else 'MISSED'})\n")  # fmt: skip
    return all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cards", type=int, default=40, help="cards per set (default 40)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--misses", action="store_true", help="print every wrong field")
    parser.add_argument("--only", choices=("clean", "photo"), help="run one set only")
    parser.add_argument("--save", type=Path, help="write the rendered photos to this folder")
    args = parser.parse_args(argv)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        rng = random.Random(args.seed + 1)
        for index, (_, image) in enumerate(corpus(args.cards, args.seed)):
            image.save(args.save / f"card-{index:02d}-clean.png")
            (args.save / f"card-{index:02d}-photo.jpg").write_bytes(photograph(image, rng))
            preprocess(Image.open(io.BytesIO(photograph(image, rng)))).save(
                args.save / f"card-{index:02d}-pre.png"
            )
        return 0
    run(args.cards, args.seed, args.misses, (args.only,) if args.only else ("clean", "photo"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
