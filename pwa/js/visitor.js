// Visitor self-registration: the public form at /v/<visitor_token>, on the visitor's own
// phone or on a kiosk tablet at the booth (?kiosk=1, resets after each visitor).

import { api, ApiError, uuid } from './api.js';
import { countryList } from './countries.js';

// Every string the visitor sees, by language; the page picks the browser's language.
const STRINGS = {
  en: {
    title: 'Leave your contact',
    loading: 'Loading…',
    notFound: 'This sign-up link is not valid. Please ask at the booth.',
    offline: 'No connection — please check the network and try again.',
    fields: {
      first_name: 'First name',
      last_name: 'Last name',
      email: 'Email',
      phone: 'Phone',
      company: 'Company',
      job_title: 'Job title',
      city: 'City',
      country: 'Country',
    },
    optional: '(optional)',
    yes: 'Yes',
    no: 'No',
    consentLegend: 'Consent',
    consentContact: 'I agree to be contacted about my enquiry',
    consentMarketing: 'Send me news and offers (optional)',
    consentRequired: 'Please tick this box so that we may contact you.',
    emailRequired: 'Please enter your email address.',
    honeypot: 'Leave this field empty',
    submit: 'Send',
    sending: 'Sending…',
    checkFields: 'Please check the highlighted fields.',
    rateLimited: (s) => `Too many sign-ups from this network just now. Please try again in ${s} seconds.`,
    failed: 'Something went wrong. Please try again.',
    thanksTitle: 'Thank you!',
    thanksText: 'We have your details. Your contact at our nearest office:',
    officeEmail: 'Email',
    officePhone: 'Phone',
    nextVisitor: 'Next visitor',
    resetIn: (s) => `This screen resets in ${s} s.`,
  },
};

const LANG = (navigator.languages || [navigator.language || 'en'])
  .map((l) => String(l).slice(0, 2).toLowerCase())
  .find((l) => l in STRINGS) || 'en';
const S = STRINGS[LANG];

const FIELDS = [
  { name: 'first_name', autocomplete: 'given-name' },
  { name: 'last_name', autocomplete: 'family-name' },
  { name: 'email', type: 'email', autocomplete: 'email', inputmode: 'email', required: true },
  { name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel' },
  { name: 'company', autocomplete: 'organization' },
  { name: 'job_title', autocomplete: 'organization-title' },
  { name: 'city', autocomplete: 'address-level2' },
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
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) node.append(child);
  return node;
}

function field(spec) {
  const id = `v-${spec.name}`;
  const label = el('label', { for: id, text: S.fields[spec.name] });
  if (!spec.required) label.append(' ', el('span', { class: 'muted', text: S.optional }));
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

function countryField() {
  const select = el('select', { id: 'v-country', name: 'country', 'aria-describedby': 'v-country-error' }, [
    el('option', { value: '', text: '—' }),
    ...countryList(LANG).map(({ code, name }) => el('option', { value: code, text: name })),
  ]);
  select.value = event.venue_country || '';
  return el('div', { class: 'field' }, [
    el('label', { for: 'v-country', text: S.fields.country }),
    select,
    el('p', { id: 'v-country-error', class: 'error' }),
  ]);
}

function questionField(q, i) {
  const name = `q:${q.id}`;
  if (q.type === 'choice' || q.type === 'yesno') {
    const options = q.type === 'yesno'
      ? [{ value: 'yes', label: S.yes }, { value: 'no', label: S.no }]
      : (q.options || []).map((o) => ({ value: o, label: o }));
    return el('fieldset', { class: options.length <= 4 ? 'segmented' : 'choices' }, [
      el('legend', { text: q.label }),
      ...options.map((o, j) =>
        el('label', {}, [el('input', { type: 'radio', name, value: o.value, id: `v-q${i}-${j}` }), el('span', { text: o.label })]),
      ),
    ]);
  }
  return el('div', { class: 'field' }, [
    el('label', { for: `v-q${i}`, text: q.label }),
    el('input', { id: `v-q${i}`, name, autocomplete: 'off' }),
  ]);
}

function buildForm() {
  const form = $('v-form');
  const consent = el('fieldset', { class: 'consent' }, [
    el('legend', { text: S.consentLegend }),
    el('p', { class: 'consent-text', text: event.consent_text || '' }),
    el('label', { class: 'check' }, [
      el('input', { type: 'checkbox', name: 'consent_contact', id: 'v-consent_contact', 'aria-describedby': 'v-consent_contact-error' }),
      el('span', { text: S.consentContact }),
    ]),
    el('p', { id: 'v-consent_contact-error', class: 'error' }),
    el('label', { class: 'check' }, [
      el('input', { type: 'checkbox', name: 'consent_marketing', id: 'v-consent_marketing' }),
      el('span', { text: S.consentMarketing }),
    ]),
  ]);
  // Humans never see or reach this field; naive bots fill every input they find.
  const honeypot = el('div', { class: 'honeypot', 'aria-hidden': 'true' }, [
    el('label', { for: 'v-website', text: S.honeypot }),
    el('input', { id: 'v-website', name: 'website', type: 'text', tabindex: '-1', autocomplete: 'off' }),
  ]);
  form.replaceChildren(
    ...FIELDS.map(field),
    countryField(),
    ...(event.questions || []).map(questionField),
    consent,
    honeypot,
    el('p', { id: 'v-form-error', class: 'error', role: 'alert' }),
    el('button', { type: 'submit', class: 'button primary wide big', id: 'v-submit', text: S.submit }),
  );
  form.hidden = false;
}

function lead(form) {
  const f = form.elements;
  const data = {
    client_id: uuid(),
    captured_at: new Date().toISOString(),
    source: 'kiosk',
    website: f.website.value,
    answers: {},
    consent: { contact: f.consent_contact.checked, marketing: f.consent_marketing.checked, text: event.consent_text || '' },
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
  for (const node of form.querySelectorAll('.error')) node.textContent = '';
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
}

function showFieldErrors(form, fields) {
  let first = null;
  const general = [];
  for (const { field: name, message } of fields) {
    const input = form.elements[name];
    const slot = $(`v-${name}-error`);
    if (input && slot && !(input instanceof RadioNodeList)) {
      slot.textContent = message;
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    } else {
      general.push(message);
    }
  }
  $('v-form-error').textContent = [S.checkFields, ...general].join(' ');
  if (first) first.focus();
}

async function onSubmit(e) {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const data = lead(form);
  const missing = [];
  if (!data.email) missing.push({ field: 'email', message: S.emailRequired });
  if (!data.consent.contact) missing.push({ field: 'consent_contact', message: S.consentRequired });
  if (missing.length) return showFieldErrors(form, missing);

  const button = $('v-submit');
  button.disabled = true;
  button.textContent = S.sending;
  try {
    const result = await api(`/public/visitor/${encodeURIComponent(token)}/leads`, { method: 'POST', body: data });
    showThanks(result.office);
  } catch (err) {
    if (err instanceof ApiError && err.status === 422 && err.fields.length) showFieldErrors(form, err.fields);
    else if (err instanceof ApiError && err.status === 429) $('v-form-error').textContent = S.rateLimited(err.retryAfter || 60);
    else if (err instanceof ApiError && err.status === 0) $('v-form-error').textContent = S.offline;
    else $('v-form-error').textContent = err.message || S.failed;
  } finally {
    button.disabled = false;
    button.textContent = S.submit;
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
    rows.push(el('p', {}, [`${S.officeEmail}: `, el('a', { href: `mailto:${office.email}`, text: office.email })]));
  }
  if (office.phone) {
    rows.push(el('p', {}, [`${S.officePhone}: `, el('a', { href: `tel:${office.phone.replace(/[^\d+]/g, '')}`, text: office.phone })]));
  }
  card.replaceChildren(...rows);
  card.hidden = false;
}

function showThanks(office) {
  $('v-form').hidden = true;
  $('v-thanks-title').textContent = S.thanksTitle;
  $('v-thanks-text').textContent = S.thanksText;
  officeCard(office);
  const thanks = $('v-thanks');
  thanks.hidden = false;
  thanks.focus();
  window.scrollTo(0, 0);
  if (!kiosk) return;
  let left = KIOSK_RESET_S;
  $('v-countdown').textContent = S.resetIn(left);
  countdownTimer = setInterval(() => {
    left -= 1;
    $('v-countdown').textContent = S.resetIn(left);
    if (left <= 0) reset();
  }, 1000);
}

// Kiosk: a fresh, empty form for the next visitor.
function reset() {
  clearInterval(countdownTimer);
  clearTimeout(idleTimer);
  $('v-thanks').hidden = true;
  $('v-countdown').textContent = '';
  buildForm();
  window.scrollTo(0, 0);
}

function armIdleReset() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (!$('v-form').hidden) reset();
  }, KIOSK_IDLE_MS);
}

async function start() {
  document.documentElement.lang = LANG;
  document.title = `${S.title} — LeadRelay`;
  $('v-title').textContent = S.title;
  $('v-loading').textContent = S.loading;
  $('v-again').textContent = S.nextVisitor;
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
    $('v-fatal').textContent = err instanceof ApiError && err.status === 404 ? S.notFound : S.offline;
  } finally {
    $('v-loading').hidden = true;
    document.documentElement.dataset.ready = 'true';
  }
}

start();
