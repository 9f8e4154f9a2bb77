"""Server pages in Russian and English."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from backend.extensions import db
from backend.i18n import TRANSLATIONS
from tests.factories import make_user


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
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    method_map = [("backend/**.py", "python"), ("backend/templates/**.html", "jinja2"),
                  ("backend/templates/**.txt", "jinja2")]  # fmt: skip
    root = str(TRANSLATIONS.parent.parent)
    missing = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        root, method_map=method_map, keywords={"_": None, "gettext": None, "_l": None,
                                               "ngettext": (1, 2), "lazy_gettext": None}
    ):  # fmt: skip
        ids = message if isinstance(message, tuple) else (message,)
        missing.update(i for i in ids[:1] if i and i not in translated)
    assert not missing, sorted(missing)
