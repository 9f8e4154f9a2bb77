// The "Today" list: what was captured on this phone today and what became of each lead.

import { t, formatTime, language } from './i18n.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** A stored error as words: `{key, params}` is translated, a string (the server's) kept. */
export function errorText(error) {
  if (!error) return '';
  if (typeof error === 'string') return error;
  return t(error.key, error.params || {});
}

/** The rating's label ("hot" → "Hot"); an unknown rating is shown as it is. */
export function ratingLabel(rating) {
  const labels = { hot: t('rating.hot'), warm: t('rating.warm'), cold: t('rating.cold') };
  return labels[rating] || rating;
}

/** A lead field's label ("email" → "Email"); a field the app does not know is shown as it is. */
export function fieldLabel(field) {
  const key = `field.${field}`;
  const text = t(key);
  return text === key ? field : text;
}

/** The office's name in the reader's language where it has one (`names`), else its name. */
export function officeName(office) {
  if (!office) return '';
  return (office.names && office.names[language()]) || office.name || office.code;
}

// The server's codes and the messages that say them (an unknown flag reads "needs a look").
const FLAGS = {
  bad_email: 'flag.bad_email',
  bad_phone: 'flag.bad_phone',
  bad_country: 'flag.bad_country',
  bad_rating: 'flag.bad_rating',
  bad_coordinates: 'flag.bad_coordinates',
  coordinates_invalid: 'flag.coordinates_invalid',
  bad_captured_at: 'flag.bad_captured_at',
  location_unknown: 'flag.location_unknown',
  over_capacity: 'flag.over_capacity',
  capacity_spill: 'flag.capacity_spill',
  unroutable: 'flag.unroutable',
  merged: 'flag.merged',
  feedback_requested: 'flag.feedback_requested',
};
const STATUSES = {
  contacted: 'status.contacted',
  qualified: 'status.qualified',
  won: 'status.won',
  lost: 'status.lost',
  stale: 'status.stale',
};

/** A lead flag in words ("bad_email" → "e-mail looks wrong"); never the code itself. */
export function flagLabel(flag) {
  return t(FLAGS[flag] || 'flag.other');
}

/** A lead status in words ("contacted" → "Contacted by the office"); '' for new or unknown. */
export function statusLabel(status) {
  return STATUSES[status] ? t(STATUSES[status]) : '';
}

function stateLabel(row) {
  if (row.state === 'routed' && row.office) return t('today.routed', { office: officeName(row.office) });
  if (row.state === 'sent') return t('today.sent');
  if (row.state === 'rejected') return t('today.rejected');
  return t('today.onPhone');
}

function reasonText(row, entry) {
  if (row.state === 'rejected') {
    const errors = (row.errors || []).map((e) => (e.field ? `${fieldLabel(e.field)}: ${e.message}` : e.message));
    const why = errors.join('; ') || errorText(entry && entry.last_error);
    return `${why} ${t('today.rejectedWhatToDo')}`.trim();
  }
  if (row.state === 'on_phone') return ''; // waiting is normal: the chip says it is safe
  const routing = row.routing || {};
  const parts = [];
  // reason_display is in the app's language at sync time (leads synced before the server sent
  // it have only the English reason); the English one tells whether it names a distance.
  // No reason_display (an old reply): the English reason only for a reader of English.
  const shown = routing.reason_display || (language() === 'en' ? routing.reason : '');
  if (shown) parts.push(shown);
  const saysDistance = /\bkm\b/.test(routing.reason || '');
  if (typeof routing.distance_km === 'number' && !saysDistance) {
    parts.push(t('today.distance', { km: Math.round(routing.distance_km) }));
  }
  return parts.join(' · ');
}

/** True when `row` matches the search text (name, company, e-mail, phone) and rating. */
export function matches(row, { query = '', rating = '' } = {}) {
  if (rating && row.rating !== rating) return false;
  const words = query.trim().toLocaleLowerCase().split(/\s+/).filter(Boolean);
  const text = [row.name, row.company, row.email, row.phone, row.lead && row.lead.last_name]
    .filter(Boolean).join(' ').toLocaleLowerCase();
  return words.every((word) => text.includes(word));
}

/**
 * Render `captures` into `list`; `entries` are outbox entries by client_id. `onOpen(row)`
 * opens a lead for correcting; `filter` is `{query, rating}`. Returns how many are shown.
 */
export function renderToday(list, captures, entries, { onRetry, onOpen, filter = {} }) {
  const corrections = new Set([...entries.values()].filter((e) => e.kind === 'edit' && e.state !== 'rejected').map((e) => e.target));
  const items = captures.filter((row) => matches(row, filter)).map((row) => {
    const entry = entries.get(row.client_id);
    const li = el('li', `lead state-${row.state}`);
    li.dataset.clientId = row.client_id;
    const name = row.name || t('today.unnamed');
    const open = el('button', 'who', name);
    open.type = 'button';
    open.setAttribute('aria-label', t('today.open', { name }));
    if (row.company && row.company !== row.name) open.append(el('span', 'company', ` · ${row.company}`));
    open.addEventListener('click', () => onOpen(row));
    const meta = el('p', 'meta');
    meta.append(el('time', null, formatTime(row.captured_at)));
    if (row.rating) meta.append(el('span', `rating-tag ${row.rating}`, ratingLabel(row.rating)));
    meta.append(el('span', 'chip', stateLabel(row)));
    if (row.status && row.status !== 'new' && statusLabel(row.status)) meta.append(el('span', 'chip status', statusLabel(row.status)));
    const flags = [...new Set((row.flags || []).map(flagLabel))];
    if (flags.length) meta.append(el('span', 'chip flag', t('today.flags', { flags: flags.join(', ') })));
    if (corrections.has(row.client_id)) meta.append(el('span', 'chip waiting', t('today.correctionWaiting')));
    else if (row.correction === 'noted') meta.append(el('span', 'chip', t('today.correctionNoted')));
    else if (row.correction === 'applied') meta.append(el('span', 'chip', t('today.corrected')));
    li.append(open, meta);
    const reason = reasonText(row, entry);
    if (reason) li.append(el('p', 'reason', reason));
    if (row.state === 'rejected') {
      const button = el('button', 'button small secondary', t('today.retry'));
      button.type = 'button';
      button.addEventListener('click', () => onRetry(row.client_id));
      li.append(button);
    }
    return li;
  });
  list.replaceChildren(...items);
  return items.length;
}
