// Visitor self-registration: the public form at /v/<visitor_token>, on the visitor's own
// phone or on a kiosk tablet at the booth (?kiosk=1, resets after each visitor).

import { api, ApiError, uuid } from './api.js';
import { countryList } from './countries.js';
import {
  browserLanguage, language, onLanguageChange, plain, say, setLanguage, supported, t, wireSwitcher,
} from './i18n.js';

// The visitor's browser language (or their pick on the switcher, kept for this tab only:
// on a kiosk the next visitor starts from the browser's language again).
const LANGUAGE_KEY = 'leadrelay-visitor-lang';

const FIELDS = [
  { name: 'first_name', label: 'field.first_name', autocomplete: 'given-name' },
  { name: 'last_name', label: 'field.last_name', autocomplete: 'family-name' },
  { name: 'email', label: 'field.email', type: 'email', autocomplete: 'email', inputmode: 'email', required: true },
  { name: 'phone', label: 'field.phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel' },
  { name: 'company', label: 'field.company', autocomplete: 'organization' },
  { name: 'job_title', label: 'field.job_title', autocomplete: 'organization-title' },
  { name: 'city', label: 'field.city', autocomplete: 'address-level2' },
];
const KIOSK_RESET_S = 8;
const KIOSK_IDLE_MS = 120_000;

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(window.location.pathname.split('/').filter(Boolean).pop() || '');
const kiosk = new URLSearchParams(window.location.search).get('kiosk') === '1';
let event = null;
let idleTimer = null;
let countdownTimer = null;

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

function field(spec) {
  const id = `v-${spec.name}`;
  const label = el('label', { for: id }, [el('span', { i18n: spec.label })]);
  if (!spec.required) label.append(' ', el('span', { class: 'muted', i18n: 'visitor.optional' }));
  const input = el('input', {
    id,
    name: spec.name,
    type: spec.type || 'text',
    inputmode: spec.inputmode,
    required: spec.required,
    'aria-describedby': `${id}-error`,
    autocomplete: kiosk ? 'off' : spec.autocomplete,
  });
  return el('div', { class: 'field' }, [label, input, el('p', { id: `${id}-error`, class: 'error' })]);
}

function countryOptions() {
  return [
    el('option', { value: '', text: '—' }),
    ...countryList(language()).map(({ code, name }) => el('option', { value: code, text: name })),
  ];
}

function countryField() {
  const select = el('select', { id: 'v-country', name: 'country', 'aria-describedby': 'v-country-error' }, countryOptions());
  select.value = event.venue_country || '';
  return el('div', { class: 'field' }, [
    el('label', { for: 'v-country', i18n: 'field.country' }),
    select,
    el('p', { id: 'v-country-error', class: 'error' }),
  ]);
}

// The event's texts in the visitor's language, else in the event's default language
// (the base fields). A choice keeps its base option as the value, so answers compare
// across languages; only the words shown change.
function shown(q) {
  const own = (q.translations || {})[language()] || {};
  const options = q.options || [];
  const labels = own.options && own.options.length === options.length ? own.options : options;
  return { label: own.label || q.label, labels };
}

function consentText() {
  return (event.consent_texts || {})[language()] || event.consent_text || '';
}

function questionField(q, i) {
  const name = `q:${q.id}`;
  const words = shown(q);
  if (q.type === 'choice' || q.type === 'yesno') {
    const options = q.type === 'yesno'
      ? [{ value: 'yes', i18n: 'answer.yes' }, { value: 'no', i18n: 'answer.no' }]
      : (q.options || []).map((o, j) => ({ value: o, text: words.labels[j] }));
    // Side by side only while every option fits a short button, in every language.
    const long = [q.options || [], ...Object.values(q.translations || {}).map((t) => t.options || [])]
      .some((list) => list.some((o) => o.length > 12));
    return el('fieldset', { class: options.length <= 4 && !long ? 'segmented' : 'choices' }, [
      el('legend', { id: `v-q${i}-label`, text: words.label }),
      ...options.map((o, j) =>
        el('label', {}, [el('input', { type: 'radio', name, value: o.value, id: `v-q${i}-${j}` }), el('span', { id: `v-q${i}-${j}-text`, text: o.text, i18n: o.i18n })]),
      ),
    ]);
  }
  return el('div', { class: 'field' }, [
    el('label', { for: `v-q${i}`, id: `v-q${i}-label`, text: words.label }),
    el('input', { id: `v-q${i}`, name, autocomplete: 'off' }),
  ]);
}

// A language switch re-words the questions and consent in place, keeping the answers.
function rewordEventTexts() {
  if (!event || $('v-form').hidden) return;
  const text = document.querySelector('#v-form .consent-text');
  if (text) text.textContent = consentText();
  (event.questions || []).forEach((q, i) => {
    const words = shown(q);
    const label = $(`v-q${i}-label`);
    if (label) label.textContent = words.label;
    if (q.type !== 'choice') return;
    words.labels.forEach((word, j) => {
      const option = $(`v-q${i}-${j}-text`);
      if (option) option.textContent = word;
    });
  });
}

function buildForm() {
  const form = $('v-form');
  const consent = el('fieldset', { class: 'consent' }, [
    el('legend', { i18n: 'consent.legend' }),
    el('p', { class: 'consent-text', text: consentText() }),
    el('label', { class: 'check' }, [
      el('input', { type: 'checkbox', name: 'consent_contact', id: 'v-consent_contact', 'aria-describedby': 'v-consent_contact-error' }),
      el('span', { i18n: 'visitor.consentContact' }),
    ]),
    el('p', { id: 'v-consent_contact-error', class: 'error' }),
    el('label', { class: 'check' }, [
      el('input', { type: 'checkbox', name: 'consent_marketing', id: 'v-consent_marketing' }),
      el('span', { i18n: 'visitor.consentMarketing' }),
    ]),
  ]);
  // Humans never see or reach this field; naive bots fill every input they find.
  const honeypot = el('div', { class: 'honeypot', 'aria-hidden': 'true' }, [
    el('label', { for: 'v-website', i18n: 'visitor.honeypot' }),
    el('input', { id: 'v-website', name: 'website', type: 'text', tabindex: '-1', autocomplete: 'off' }),
  ]);
  form.replaceChildren(
    ...FIELDS.map(field),
    countryField(),
    ...(event.questions || []).map(questionField),
    consent,
    honeypot,
    el('p', { id: 'v-form-error', class: 'error', role: 'alert' }),
    el('button', { type: 'submit', class: 'button primary wide big', id: 'v-submit', i18n: 'visitor.submit' }),
  );
  form.hidden = false;
}

function lead(form) {
  const f = form.elements;
  const data = {
    client_id: uuid(),
    captured_at: new Date().toISOString(),
    source: 'kiosk',
    language: language(),
    website: f.website.value,
    answers: {},
    consent: { contact: f.consent_contact.checked, marketing: f.consent_marketing.checked, text: consentText() },
  };
  for (const { name } of FIELDS) {
    const value = f[name].value.trim();
    if (value) data[name] = value;
  }
  if (f.country.value) data.country = f.country.value;
  (event.questions || []).forEach((q) => {
    const name = `q:${q.id}`;
    const checked = form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
    const input = checked || (f[name] instanceof HTMLInputElement ? f[name] : null);
    const value = input ? input.value.trim() : '';
    if (value) data.answers[q.id] = q.type === 'yesno' ? value === 'yes' : value;
  });
  return data;
}

function clearErrors(form) {
  for (const node of form.querySelectorAll('.error')) plain(node, '');
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
}

function showFieldErrors(form, fields) {
  let first = null;
  const general = [];
  for (const { field: name, message } of fields) {
    const input = form.elements[name];
    const slot = $(`v-${name}-error`);
    if (input && slot && !(input instanceof RadioNodeList)) {
      if (message.key) say(slot, message.key);
      else plain(slot, message);
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    } else {
      general.push(message.key ? message : { text: message });
    }
  }
  // Our own messages stay translated on a switch; the server's words are shown as they are.
  if (general.length) plain($('v-form-error'), [t('visitor.checkFields'), ...general.map((m) => m.text || t(m.key))].join(' '));
  else say($('v-form-error'), 'visitor.checkFields');
  if (first) first.focus();
}

async function onSubmit(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const data = lead(form);
  const missing = [];
  if (!data.email) missing.push({ field: 'email', message: { key: 'visitor.emailRequired' } });
  if (!data.consent.contact) missing.push({ field: 'consent_contact', message: { key: 'visitor.consentRequired' } });
  if (missing.length) return showFieldErrors(form, missing);

  const button = $('v-submit');
  button.disabled = true;
  say(button, 'visitor.sending');
  try {
    const result = await api(`/public/visitor/${encodeURIComponent(token)}/leads`, { method: 'POST', body: data });
    showThanks(result.office);
  } catch (err) {
    if (err instanceof ApiError && err.status === 422 && err.fields.length) showFieldErrors(form, err.fields);
    else if (err instanceof ApiError && err.status === 429) say($('v-form-error'), 'visitor.rateLimited', { seconds: err.retryAfter || 60 });
    else if (err instanceof ApiError && err.status === 0) say($('v-form-error'), 'visitor.offline');
    else if (err.message) plain($('v-form-error'), err.message);
    else say($('v-form-error'), 'visitor.failed');
  } finally {
    button.disabled = false;
    say(button, 'visitor.submit');
  }
}

function officeCard(office) {
  const card = $('v-office');
  if (!office || !office.name) {
    card.hidden = true;
    return;
  }
  const rows = [el('h3', { text: office.name })];
  if (office.city) rows.push(el('p', { text: office.city }));
  if (office.email) {
    rows.push(el('p', {}, [el('span', { i18n: 'field.email' }), ': ', el('a', { href: `mailto:${office.email}`, text: office.email })]));
  }
  if (office.phone) {
    rows.push(el('p', {}, [el('span', { i18n: 'field.phone' }), ': ', el('a', { href: `tel:${office.phone.replace(/[^\d+]/g, '')}`, text: office.phone })]));
  }
  card.replaceChildren(...rows);
  card.hidden = false;
}

function showThanks(office) {
  $('v-form').hidden = true;
  officeCard(office);
  const thanks = $('v-thanks');
  thanks.hidden = false;
  thanks.focus();
  window.scrollTo(0, 0);
  if (!kiosk) return;
  let left = KIOSK_RESET_S;
  say($('v-countdown'), 'visitor.resetIn', { seconds: left });
  countdownTimer = setInterval(() => {
    left -= 1;
    say($('v-countdown'), 'visitor.resetIn', { seconds: left });
    if (left <= 0) reset();
  }, 1000);
}

// Kiosk: a fresh, empty form for the next visitor.
async function reset() {
  clearInterval(countdownTimer);
  clearTimeout(idleTimer);
  $('v-thanks').hidden = true;
  plain($('v-countdown'), '');
  if (sessionLanguage()) {
    forgetLanguage();
    await setLanguage(browserLanguage() || 'en');
  }
  buildForm();
  window.scrollTo(0, 0);
}

function armIdleReset() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (!$('v-form').hidden) reset();
  }, KIOSK_IDLE_MS);
}

function sessionLanguage() {
  try {
    return supported(sessionStorage.getItem(LANGUAGE_KEY));
  } catch {
    return null;
  }
}

function forgetLanguage() {
  try {
    sessionStorage.removeItem(LANGUAGE_KEY);
  } catch {
    // nothing kept
  }
}

async function startLanguage() {
  await setLanguage(sessionLanguage() || browserLanguage() || 'en');
  wireSwitcher($('v-lang'), async (code) => {
    try {
      sessionStorage.setItem(LANGUAGE_KEY, code);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    await setLanguage(code);
  });
  // The country names come from the browser (Intl.DisplayNames) in the chosen language.
  onLanguageChange(() => {
    rewordEventTexts();
    const select = $('v-country');
    if (!select) return;
    const chosen = select.value;
    select.replaceChildren(...countryOptions());
    select.value = chosen;
  });
}

async function start() {
  await startLanguage();
  $('v-again').hidden = !kiosk;
  $('v-again').addEventListener('click', reset);
  $('v-form').addEventListener('submit', onSubmit);
  if (kiosk) {
    document.body.classList.add('kiosk');
    document.addEventListener('pointerdown', () => {
      if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(() => {});
      }
    }, { once: true });
    document.addEventListener('input', armIdleReset);
  }
  try {
    const data = await api(`/public/visitor/${encodeURIComponent(token)}`);
    event = data.event;
    $('v-event').textContent = event.name;
    buildForm();
  } catch (err) {
    const gone = err instanceof ApiError && err.status === 410 ? 'visitor.replaced' : null;
    say($('v-fatal'), gone || (err instanceof ApiError && err.status === 404 ? 'visitor.notFound' : 'visitor.offline'));
  } finally {
    $('v-loading').hidden = true;
    document.documentElement.dataset.ready = 'true';
  }
}

start();
