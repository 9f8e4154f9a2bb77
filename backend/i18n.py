"""Languages: Flask-Babel with gettext catalogues in ``backend/translations``.

The language of a page is the user's profile language, else the one they picked with the
switcher (kept in the session), else the browser's ``Accept-Language``, else the instance
default. ``make i18n`` extracts and updates the catalogues; ``compile_catalogs`` turns the
``.po`` files into ``.mo`` files when they are stale (run by setup, tests and the image).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request, session
from flask_babel import Babel, get_locale
from flask_login import current_user

LANGUAGES = {"en": "English", "ru": "Русский"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def select_locale() -> str:
    user_language = getattr(current_user, "language", None) if current_user else None
    if user_language in LANGUAGES:
        return user_language
    if session.get("language") in LANGUAGES:
        return session["language"]
    return request.accept_languages.best_match(LANGUAGES) or current_app.config["DEFAULT_LANGUAGE"]


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every stale ``messages.po`` under ``directory``; returns the files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


def init_i18n(app: Flask) -> None:
    app.config.setdefault("DEFAULT_LANGUAGE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
