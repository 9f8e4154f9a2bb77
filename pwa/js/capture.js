// The capture form: build it for an event, read a lead out of it, fill it from a badge.

import { countryList, countryCode } from './countries.js';
import { uuid } from './api.js';
import { language, languageNames, onLanguageChange, plain, say, supported, t, hasLanguage, loadLanguage } from './i18n.js';

// Message keys for what a scanned code filled in, by the badge parser's kind.
const FILLED = {
  vcard: 'capture.filled.vcard',
  mecard: 'capture.filled.mecard',
  bizcard: 'capture.filled.bizcard',
  url: 'capture.filled.url',
  mailto: 'capture.filled.text',
  tel: 'capture.filled.text',
  text: 'capture.filled.text',
};

const TEXT_FIELDS = [
  'first_name', 'last_name', 'company', 'job_title', 'email', 'phone', 'city', 'postal_code', 'notes',
];
const CONTACT_FIELDS = ['first_name', 'last_name', 'company', 'email', 'phone'];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
const DRAFT_KEY = 'leadrelay-draft';
// Visitors from these countries get their mails in Russian unless staff choose otherwise.
const RUSSIAN_SPEAKING = new Set(['RU', 'BY', 'KZ', 'KG']);

/** The language a visitor from `country` is mailed in: Russian for RU, BY, KZ, KG, else the event's. */
export function mailLanguageFor(country, event) {
  if (RUSSIAN_SPEAKING.has(String(country || '').toUpperCase())) return 'ru';
  return supported(event && event.language) || language();
}

/** A question's label and options in `lang` (options keep the base values' order). */
export function questionText(question, lang) {
  const own = (question.translations && question.translations[lang]) || {};
  const base = question.options || [];
  const options = Array.isArray(own.options) && own.options.length === base.length ? own.options : base;
  return { label: own.label || question.label, options: base.map((value, i) => ({ value, text: options[i] || value })) };
}

/** The event's consent text in `lang`, else its default language's. */
export function consentText(event, lang) {
  const own = event && event.consent_texts && event.consent_texts[lang];
  return own || (event && event.consent_text) || '';
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'i18n') say(node, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** A stored lead (the outbox's payload) as the form's values. */
export function valuesFromLead(lead) {
  const consent = lead.consent || {};
  return {
    ...Object.fromEntries(TEXT_FIELDS.map((name) => [name, lead[name] || ''])),
    country: lead.country || '',
    rating: lead.rating || '',
    language: lead.language || '',
    language_chosen: Boolean(lead.language),
    answers: lead.answers || {},
    consent_contact: Boolean(consent.contact),
    consent_marketing: Boolean(consent.marketing),
  };
}

/** The form controller; `form` is the capture <form>. */
export class CaptureForm {
  constructor(form) {
    this.form = form;
    this.event = null;
    this.badge = null; // { raw, kind } once a code was scanned
    this.countrySelect = form.elements.country;
    // The visitor's mails go out in this language. It starts at the event's language (the
    // audience's), not the staff's screen language; staff change it when the visitor asks.
    this.languageSelect = form.elements.language;
    this.languageSelect.replaceChildren(...languageNames().map(({ code, name }) => el('option', { value: code, lang: code, text: name })));
    this.countriesFilled = false;
    this.questionsBox = form.querySelector('#questions');
    // The lead's client_id from the moment the form opens: card photos and voice notes
    // taken before Save are kept under it. attachmentCount: how many (attachment-ui.js).
    this.clientId = uuid();
    this.attachmentCount = 0;
    form.addEventListener('input', () => this.saveDraft());
    form.elements.email.addEventListener('blur', () => this.hint('email'));
    form.elements.phone.addEventListener('blur', () => this.hint('phone'));
    // Until staff pick a mail language themselves, it follows the visitor's country.
    this.languageChosen = false;
    this.languageSelect.addEventListener('change', () => {
      this.languageChosen = true;
      this.showVisitorLanguage();
    });
    this.countrySelect.addEventListener('change', () => this.followCountry());
    onLanguageChange(() => this.fillCountries(true));
  }

  /** Country names in the current language; `again` refills (after a switch), keeping the choice. */
  fillCountries(again = false) {
    if (this.countriesFilled && !again) return;
    const chosen = this.countrySelect.value;
    const extra = [...this.countrySelect.options].filter((o) => o.dataset.extra);
    const options = [el('option', { value: '', text: '—' })];
    for (const { code, name } of countryList(language())) options.push(el('option', { value: code, text: name }));
    this.countrySelect.replaceChildren(...options, ...extra);
    this.countrySelect.value = chosen;
    this.countriesFilled = true;
  }

  /** Show `event`'s questions, consent text and default country; keeps typed values. */
  setEvent(event) {
    const draft = this.readDraft();
    this.event = event;
    this.fillCountries();
    this.renderQuestions(event.questions || []);
    if (draft && draft.event_id === event.id) {
      this.applyValues(draft.values);
    } else {
      this.discardAttachments(); // the form was abandoned
      this.reset();
    }
  }

  /** The lead the files on screen belong to: the one being corrected, else the new one. */
  leadClientId() {
    return this.editing ? this.editing.client_id : this.clientId;
  }

  /** A new client_id for the next visitor (after Save). */
  newVisitor() {
    this.clientId = uuid();
    this.attachmentCount = 0;
  }

  /** Drop the unsaved lead's files; the next visitor gets a new client_id. */
  discardAttachments() {
    const id = this.clientId;
    this.newVisitor();
    import('./attachments.js').then((m) => m.discardForLead(id)).catch(() => {});
  }

  /** The visitor's (mail) language: questions and consent are shown in it. */
  visitorLanguage() {
    return supported(this.languageSelect.value) || mailLanguageFor('', this.event);
  }

  /** Redraw questions and consent in the visitor's language, keeping the answers. */
  showVisitorLanguage() {
    if (!this.event) return;
    const lang = this.visitorLanguage();
    if (!hasLanguage(lang)) loadLanguage(lang).then((ok) => ok && this.showVisitorLanguage());
    const answers = this.values().answers;
    this.renderQuestions(this.event.questions || []);
    this.applyAnswers(answers);
  }

  followCountry() {
    if (this.languageChosen || !this.event) return;
    const wanted = mailLanguageFor(this.countrySelect.value, this.event);
    if (wanted !== this.languageSelect.value) {
      this.languageSelect.value = wanted;
      this.showVisitorLanguage();
    }
  }

  renderQuestions(questions) {
    const lang = this.visitorLanguage();
    this.form.querySelector('#consent-text').textContent = consentText(this.event, lang);
    const nodes = questions.map((q, i) => {
      const name = `q:${q.id}`;
      const id = `q-${i}`;
      const text = questionText(q, lang);
      if (q.type === 'choice' || q.type === 'yesno') {
        const yesno = [{ value: 'yes', text: t('answer.yes', {}, lang) }, { value: 'no', text: t('answer.no', {}, lang) }];
        const options = q.type === 'yesno' ? yesno : text.options;
        const fieldset = el('fieldset', { class: options.length <= 4 ? 'segmented question' : 'choices question', lang }, [
          el('legend', { text: text.label }),
        ]);
        options.forEach((option, j) => {
          fieldset.append(el('label', {}, [
            el('input', { type: 'radio', name, value: option.value, id: `${id}-${j}` }),
            el('span', { text: option.text }),
          ]));
        });
        return fieldset;
      }
      return el('div', { class: 'field', lang }, [
        el('label', { for: id, text: text.label }),
        el('input', { id, name, autocomplete: 'off' }),
      ]);
    });
    this.questionsBox.replaceChildren(...nodes);
  }

  values() {
    const f = this.form.elements;
    const values = {};
    for (const name of TEXT_FIELDS) values[name] = f[name].value.trim();
    values.country = f.country.value;
    values.rating = (this.form.querySelector('input[name="rating"]:checked') || {}).value || '';
    values.consent_contact = f.consent_contact.checked;
    values.consent_marketing = f.consent_marketing.checked;
    values.language = f.language.value;
    values.answers = {};
    for (const q of (this.event && this.event.questions) || []) {
      const name = `q:${q.id}`;
      const checked = this.form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
      const input = checked || (f[name] instanceof HTMLInputElement ? f[name] : null);
      const value = input ? input.value.trim() : '';
      if (value === '') continue;
      values.answers[q.id] = q.type === 'yesno' ? value === 'yes' : value;
    }
    return values;
  }

  /** True when nothing that identifies a visitor was entered or scanned (`withFiles`: or kept). */
  isEmpty(values = this.values(), withFiles = true) {
    if (withFiles && this.attachmentCount) return false;
    return !this.badge && CONTACT_FIELDS.every((name) => !values[name]) && !values.notes;
  }

  /** Open a lead captured earlier (a Today capture record) for correcting. */
  edit(row) {
    // A visitor half-typed before the tap comes back after the correction.
    if (!this.editing) this.stash = this.isEmpty() ? null : { ...this.values(), badge: this.badge, client_id: this.clientId };
    const lead = row.lead || { first_name: row.name, company: row.company, rating: row.rating };
    this.editing = { client_id: row.client_id, lead, row };
    this.applyValues(valuesFromLead(lead));
    this.badge = null;
  }

  /** Leave editing (the next Save captures a new lead). */
  stopEditing() {
    this.editing = null;
    this.reset();
    if (this.stash) {
      this.applyValues(this.stash);
      this.saveDraft();
    }
    this.stash = null;
  }

  /** What the user changed in the lead being edited: {field: new value}. */
  changes() {
    const before = this.editing.lead;
    const now = this.values();
    const changes = {};
    for (const name of [...TEXT_FIELDS, 'country', 'rating', 'language']) {
      if ((now[name] || '') !== (before[name] || '')) changes[name] = now[name];
    }
    const answers = {};
    for (const [id, value] of Object.entries(now.answers)) {
      if ((before.answers || {})[id] !== value) answers[id] = value;
    }
    if (Object.keys(answers).length) changes.answers = { ...(before.answers || {}), ...answers };
    const consent = before.consent || {};
    if (now.consent_contact !== Boolean(consent.contact) || now.consent_marketing !== Boolean(consent.marketing)) {
      changes.consent = { ...consent, contact: now.consent_contact, marketing: now.consent_marketing };
    }
    return changes;
  }

  /** The lead object for the outbox (see the sync API); empty fields are left out. */
  lead() {
    const v = this.values();
    const lead = {
      event_id: this.event.id,
      client_id: this.clientId,
      captured_at: new Date().toISOString(),
      source: this.badge ? 'badge' : 'staff',
      answers: v.answers,
      consent: {
        contact: v.consent_contact,
        marketing: v.consent_marketing,
        text: consentText(this.event, this.visitorLanguage()),
      },
    };
    for (const name of [...TEXT_FIELDS, 'country', 'rating', 'language']) if (v[name]) lead[name] = v[name];
    if (this.badge) lead.badge_raw = this.badge.raw;
    if (this.badge && this.badge.badge_id) lead.badge_id = this.badge.badge_id;
    return lead;
  }

  hint(name) {
    const value = this.form.elements[name].value.trim();
    let key = '';
    if (name === 'email' && value && !EMAIL.test(value)) key = 'capture.emailHint';
    if (name === 'phone' && value && value.replace(/\D/g, '').length < 6) key = 'capture.phoneHint';
    const node = this.form.querySelector(`#hint-${name}`);
    if (key) say(node, key);
    else plain(node, '');
  }

  /**
   * Fill the form from a parsed badge (and `attendee`, the organiser's list row for its id,
   * if any); the raw text and the id travel with the lead. Returns `{key, params}` to show.
   */
  applyBadge(parsed, attendee = null) {
    this.badge = { raw: parsed.raw, kind: parsed.kind, badge_id: parsed.badge_id || null };
    if (attendee) {
      for (const [name, value] of Object.entries(attendee)) {
        if (value && !parsed.fields[name] && (TEXT_FIELDS.includes(name) || name === 'country')) parsed.fields[name] = value;
      }
    }
    const fields = { ...parsed.fields };
    if (fields.country) {
      const code = countryCode(fields.country);
      if (code) fields.country = code;
      else this.addCountryOption(fields.country);
    }
    for (const [name, value] of Object.entries(fields)) {
      const input = this.form.elements[name];
      if (input && value) input.value = value;
    }
    this.followCountry();
    this.hint('email');
    this.hint('phone');
    this.saveDraft();
    const id = parsed.badge_id;
    if (id && attendee) return { key: 'capture.filled.attendee', params: { id } };
    if (id && !Object.keys(parsed.fields).length) return { key: 'capture.filled.idOnly', params: { id } };
    return { key: Object.keys(parsed.fields).length ? FILLED[parsed.kind] || FILLED.text : 'capture.nothingRead' };
  }

  addCountryOption(text) {
    if ([...this.countrySelect.options].some((o) => o.value === text)) return;
    this.countrySelect.append(el('option', { value: text, text, 'data-extra': true }));
  }

  applyValues(values) {
    this.reset();
    const f = this.form.elements;
    for (const name of TEXT_FIELDS) if (values[name]) f[name].value = values[name];
    if (values.country) {
      if (![...this.countrySelect.options].some((o) => o.value === values.country)) this.addCountryOption(values.country);
      f.country.value = values.country;
    }
    if (values.rating) {
      const radio = this.form.querySelector(`input[name="rating"][value="${CSS.escape(values.rating)}"]`);
      if (radio) radio.checked = true;
    }
    f.consent_contact.checked = Boolean(values.consent_contact);
    f.consent_marketing.checked = Boolean(values.consent_marketing);
    if (supported(values.language)) {
      f.language.value = values.language;
      this.languageChosen = Boolean(values.language_chosen);
      this.showVisitorLanguage();
    }
    this.applyAnswers(values.answers);
    if (values.badge) this.badge = values.badge;
    if (values.client_id) this.clientId = values.client_id;
  }

  applyAnswers(answers) {
    const f = this.form.elements;
    for (const [id, answer] of Object.entries(answers || {})) {
      const name = `q:${id}`;
      const value = answer === true ? 'yes' : answer === false ? 'no' : String(answer);
      const radio = this.form.querySelector(`input[name="${CSS.escape(name)}"][value="${CSS.escape(value)}"]`);
      if (radio) radio.checked = true;
      else if (f[name] instanceof HTMLInputElement) f[name].value = value;
    }
  }

  /** Clear everything for the next visitor; the country goes back to the event's. */
  reset() {
    this.form.reset();
    this.badge = null;
    for (const hint of this.form.querySelectorAll('.hint')) plain(hint, '');
    const country = (this.event && this.event.venue_country) || '';
    if ([...this.countrySelect.options].some((o) => o.value === country)) this.countrySelect.value = country;
    this.languageChosen = false;
    this.languageSelect.value = mailLanguageFor(this.countrySelect.value, this.event);
    this.showVisitorLanguage();
    this.clearDraft();
  }

  // A draft survives a reload (e.g. the user accepted an update mid-visitor).
  saveDraft() {
    if (this.editing) return;
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => {
      if (!this.event) return;
      const values = this.values();
      if (this.isEmpty(values)) return this.clearDraft();
      try {
        sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ event_id: this.event.id, values: { ...values, badge: this.badge, language_chosen: this.languageChosen, client_id: this.clientId } }));
      } catch {
        // Private mode or full storage: the draft is a convenience only.
      }
    }, 300);
  }

  readDraft() {
    try {
      return JSON.parse(sessionStorage.getItem(DRAFT_KEY) || 'null');
    } catch {
      return null;
    }
  }

  clearDraft() {
    clearTimeout(this.draftTimer);
    try {
      sessionStorage.removeItem(DRAFT_KEY);
    } catch {
      // ignore
    }
  }
}
