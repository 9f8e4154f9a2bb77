"""Mails in the reader's language, through a real worker and SMTP server: the visitor's
autoresponder in the language of their form, the office notice in the office's."""

from __future__ import annotations

from datetime import timedelta

from backend.extensions import db
from backend.messaging.rendering import render_autoresponder
from tests.factories import make_event, make_user
from tests.followup import messages
from workers.sweep import run_sweep

RUSSIAN = {
    "autoresponder_subject": "Спасибо за визит на {event}, {first_name}",
    "autoresponder_body": "Здравствуйте, {first_name}!\n\nЖдём вас снова. Выставка: {event_dates}",
    "office_notice_subject": "Лид с {event}: {first_name}",
    "office_notice_body": "Предложите пилот на 30 дней.",
}


def _text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def _html(mail) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def test_a_visitor_who_filled_in_the_russian_form_gets_the_russian_mail(
    app, capture, run_worker, smtp, world
):
    event = world["event"]
    event.mail_templates = {"ru": RUSSIAN}
    db.session.commit()
    [lead] = capture(first_name="Анна", language="ru-RU")
    assert lead.language == "ru"
    run_worker()
    [mail] = smtp.to(lead.email)
    assert mail["Subject"] == "Спасибо за визит на Innoprom, Анна"
    text = _text(mail)
    assert "Здравствуйте, Анна!" in text
    assert "Выставка: 25—28 нояб. 2026" in text  # Babel's Russian date interval
    assert "Телефон: +7 495 000-00-00" in text
    assert "Вы получили это письмо, потому что оставили свои контакты на нашем стенде." in text
    assert "Отписаться: http://leadrelay.test/u/" in text
    assert "Phone" not in text and "Unsubscribe" not in text
    html = _html(mail)
    assert '<html lang="ru">' in html and ">Отписаться</a>" in html and "Телефон:" in html


def test_an_english_visitor_at_the_same_event_gets_the_english_mail(
    capture, run_worker, smtp, world
):
    world["event"].mail_templates = {"ru": RUSSIAN}
    db.session.commit()
    [lead] = capture(first_name="Anna", language="en-GB")
    run_worker()
    [mail] = smtp.to(lead.email)
    assert mail["Subject"] == "Thanks for visiting us at Innoprom, Anna"
    assert "Unsubscribe: http://leadrelay.test/u/" in _text(mail)


def test_a_visitor_in_a_language_without_mails_gets_the_event_default(app, capture, world):
    event = make_event(name="Иннопром", language="ru", autoresponder_subject="Спасибо, {first_name}",
                       autoresponder_body="До встречи на {event}.")  # fmt: skip
    db.session.commit()
    [german] = capture(event=event, first_name="Lukas", language="de-DE")
    [unsaid] = capture(event=event, first_name="Lena")
    # German was asked for (no mails in it); for Lena nobody chose: her country (the
    # venue's, Russia) chose Russian.
    assert (german.language, unsaid.language) == (None, "ru")
    for lead in (german, unsaid):
        mail = render_autoresponder(lead)
        assert mail["subject"] == f"Спасибо, {lead.first_name}"
        assert "До встречи на Иннопром." in mail["body_text"]
        assert "Отписаться:" in mail["body_text"]
        assert mail["payload"]["language"] == "ru"


def test_a_russian_visitor_of_an_event_written_only_in_english_gets_english_not_a_mix(
    capture, world
):
    [lead] = capture(first_name="Анна", language="ru")
    mail = render_autoresponder(lead)
    assert mail["subject"] == "Thanks for visiting us at Innoprom, Анна"
    assert "Unsubscribe:" in mail["body_text"] and "Отписаться" not in mail["body_text"]


def test_an_event_without_texts_greets_in_the_visitors_language(capture, world):
    event = make_event(autoresponder_subject="", autoresponder_body="", name="Mashex")
    db.session.commit()
    [lead] = capture(event=event, first_name="Ольга", language="ru")
    mail = render_autoresponder(lead)
    assert mail["subject"] == "Спасибо, что посетили нас на выставке Mashex"
    assert mail["body_text"].startswith("Здравствуйте, Ольга!\n\nСпасибо, что заглянули к нам")


def test_the_office_notice_goes_in_the_language_its_reps_read(capture, run_worker, smtp, world):
    for user in (world["mow_manager"], world["mow_rep"]):
        user.language = "ru"
    world["event"].mail_templates = {"ru": RUSSIAN}
    db.session.commit()
    [lead] = capture(first_name="Boris", company="Globex", language="en")
    run_worker()
    [notice] = smtp.to("mow@offices.example.com")
    assert notice["Subject"] == "Лид с Innoprom: Boris"
    text = _text(notice)
    assert "Новый лид направлен в Moscow office. Пожалуйста, свяжитесь с ним сегодня." in text
    assert "Предложите пилот на 30 дней." in text
    assert "Лид: Boris Petrova, Globex" in text
    assert "Оценка: горячий" in text
    decision = lead.routing_decisions[-1]
    km = f"{decision.distance_km:.1f}"
    assert f"Почему ваш офис: ближайший офис: Moscow office, {km.replace('.', ',')} км" in text
    assert "Предложение: 20% off the first year" in text
    # The stored reason stays English for the API and the audit trail.
    assert decision.reason == f"nearest office: Moscow office, {km} km"
    # The visitor still gets their own (English) mail.
    assert smtp.to(lead.email)[0]["Subject"] == "Thanks for visiting us at Innoprom, Boris"


def test_an_office_whose_reps_read_english_gets_the_english_notice_with_the_english_note(
    capture, run_worker, smtp, world
):
    make_user("office_rep", world["mow"], email="ru-rep@mow.example.com", language="ru")
    world["mow_rep"].language = "en"
    world["mow_manager"].language = "en"
    world["event"].language = "ru"
    world["event"].mail_templates = {"ru": RUSSIAN}
    db.session.commit()
    [lead] = capture(first_name="Boris")
    run_worker()
    [notice] = smtp.to("mow@offices.example.com")
    assert notice["Subject"].startswith("New lead: Boris Petrova")
    text = _text(notice)
    assert "A new lead has been routed to Moscow office" in text
    # Marketing wrote the note in Russian only: sales still get it.
    assert "Предложите пилот на 30 дней." in text


def test_each_office_reads_the_reassignment_in_its_own_language(capture, world):
    for office in (world["mow"], world["spb"]):
        office.working_days, office.timezone = "1234567", "UTC"
    for user in (world["mow_manager"], world["mow_rep"]):
        user.language = "ru"
    db.session.commit()
    [lead] = capture(first_name="Boris")
    assert run_sweep(now=lead.routed_at + timedelta(hours=48))["reassigned"] == [lead.id]
    moved = {m.office_id: m for m in messages(kind="reassigned")}
    to_moscow, to_petersburg = moved[world["mow"].id], moved[world["spb"].id]
    assert to_moscow.subject.startswith("Передан: Boris")
    assert "и он передан в Saint Petersburg office" in to_moscow.body_text
    assert to_petersburg.subject.startswith("Reassigned: Boris")
    assert "has been reassigned to Saint Petersburg office" in to_petersburg.body_text


def test_the_office_placeholder_names_the_office_in_the_mails_language(app, capture, world):
    # A Russian visitor read "Ваш контакт: Moscow office" while the same mail's signature
    # said "Москва": {office_name} took the office's own name, not its name in Russian.
    world["mow"].names = {"ru": "Москва"}
    world["event"].mail_templates = {
        "ru": {
            "autoresponder_subject": "Спасибо",
            "autoresponder_body": "Ваш контакт: {office_name}.",
        }
    }
    db.session.commit()
    [russian] = capture(first_name="Анна", language="ru")
    [english] = capture(first_name="Anna", language="en")
    assert russian.office_id == english.office_id == world["mow"].id
    assert "Ваш контакт: Москва." in render_autoresponder(russian)["body_text"]
    assert f"Call {world['mow'].name} at" in render_autoresponder(english)["body_text"]
