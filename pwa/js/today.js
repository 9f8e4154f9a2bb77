// The "Today" list: what was captured on this phone today and what became of each lead.

export const T = {
  onPhone: 'On phone',
  sent: 'Sent',
  routed: (office) => `Routed to ${office}`,
  rejected: 'Needs attention',
  retry: 'Send again',
  unnamed: 'Unnamed visitor',
  distance: (km) => `${Math.round(km)} km`,
  ratings: { hot: 'Hot', warm: 'Warm', cold: 'Cold' },
  flags: 'Flagged',
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function stateLabel(row) {
  if (row.state === 'routed' && row.office) return T.routed(row.office.name || row.office.code);
  if (row.state === 'sent') return T.sent;
  if (row.state === 'rejected') return T.rejected;
  return T.onPhone;
}

function reasonText(row, entry) {
  if (row.state === 'rejected') {
    const errors = (row.errors || []).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
    return errors.join('; ') || (entry && entry.last_error) || '';
  }
  if (row.state === 'on_phone') return (entry && entry.last_error) || '';
  const routing = row.routing || {};
  const parts = [];
  if (routing.reason) parts.push(routing.reason);
  const saysDistance = /\bkm\b/.test(routing.reason || '');
  if (typeof routing.distance_km === 'number' && !saysDistance) parts.push(T.distance(routing.distance_km));
  return parts.join(' · ');
}

/** Render `captures` into `list`; `entries` are outbox entries by client_id. */
export function renderToday(list, captures, entries, { onRetry }) {
  const items = captures.map((row) => {
    const entry = entries.get(row.client_id);
    const li = el('li', `lead state-${row.state}`);
    li.dataset.clientId = row.client_id;
    const who = el('p', 'who', row.name || T.unnamed);
    if (row.company && row.company !== row.name) who.append(el('span', 'company', ` · ${row.company}`));
    const meta = el('p', 'meta');
    const time = new Date(row.captured_at);
    meta.append(el('time', null, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    if (row.rating) meta.append(el('span', `rating-tag ${row.rating}`, T.ratings[row.rating] || row.rating));
    meta.append(el('span', 'chip', stateLabel(row)));
    if (row.flags && row.flags.length) meta.append(el('span', 'chip flag', `${T.flags}: ${row.flags.join(', ')}`));
    li.append(who, meta);
    const reason = reasonText(row, entry);
    if (reason) li.append(el('p', 'reason', reason));
    if (row.state === 'rejected' && entry) {
      const button = el('button', 'button small secondary', T.retry);
      button.type = 'button';
      button.addEventListener('click', () => onRetry(row.client_id));
      li.append(button);
    }
    return li;
  });
  list.replaceChildren(...items);
  return items.length;
}
