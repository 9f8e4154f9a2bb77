// Turn the text of a scanned badge or business-card code into lead fields.
//
// parseBadge(text) -> { kind, fields, raw, badge_id? }
//   kind:   "vcard" | "mecard" | "bizcard" | "mailto" | "tel" | "url" | "id" | "text" | "empty"
//   badge_id: the attendee id when the code carries one (a URL's id, or a bare id), to be
//           looked up in the organiser's attendee list
//   fields: any of first_name, last_name, company, job_title, email, phone,
//           city, country, postal_code, notes (strings, trimmed, never empty)
//   raw:    the input exactly as scanned (the caller stores it as badge_raw)
// It never throws: on anything it cannot read it returns what it found so far.

const EMAIL = /[A-Z0-9._%+'-]+@[A-Z0-9.-]+\.[A-Z]{2,}/i;
const PHONE = /(?:\+|00)?\d[\d ()./-]{5,}\d/;
const URL_ONLY = /^(https?:\/\/)\S+$/i;

function clean(fields) {
  const out = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== 'string') continue;
    const trimmed = value.replace(/\s+/g, ' ').trim();
    if (trimmed) out[key] = trimmed;
  }
  return out;
}

function splitName(full) {
  const words = String(full || '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return {};
  if (words.length === 1) return { first_name: words[0] };
  return { first_name: words.slice(0, -1).join(' '), last_name: words[words.length - 1] };
}

// --- vCard 2.1 / 3.0 / 4.0 ---------------------------------------------------------------

// Folded lines (a line starting with a space or tab continues the previous one) and
// vCard 2.1 quoted-printable soft line breaks (a QP value line ending in "=").
function unfold(text) {
  const out = [];
  let softBreak = false;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (softBreak && out.length) out[out.length - 1] = out[out.length - 1].slice(0, -1) + line;
    else if (/^[ \t]/.test(line) && out.length) out[out.length - 1] += line.slice(1);
    else out.push(line);
    const last = out[out.length - 1];
    softBreak = /QUOTED-PRINTABLE/i.test(last.split(':')[0]) && last.endsWith('=');
  }
  return out.join('\n');
}

function unescapeValue(value) {
  return value.replace(/\\([\\;,nN:])/g, (_, ch) => (ch === 'n' || ch === 'N' ? '\n' : ch));
}

// Split on separators that are not escaped with a backslash.
function splitUnescaped(value, separator) {
  const parts = [];
  let current = '';
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1];
      i += 1;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function decodeQuotedPrintable(value, charset = 'utf-8') {
  try {
    const bytes = [];
    const text = value.replace(/=\n/g, '');
    for (let i = 0; i < text.length; i += 1) {
      if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
        bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(...new TextEncoder().encode(text[i]));
      }
    }
    let decoder;
    try {
      decoder = new TextDecoder(charset || 'utf-8');
    } catch {
      decoder = new TextDecoder();
    }
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    return value;
  }
}

function parseContentLine(line) {
  const colon = splitUnescaped(line, ':');
  if (colon.length < 2) return null;
  // The name part never holds an escaped colon; the value may hold plain ones (URLs).
  const head = colon[0];
  const value = line.slice(head.length + 1);
  const [nameWithGroup, ...paramList] = splitUnescaped(head, ';');
  const name = nameWithGroup.split('.').pop().toUpperCase();
  const params = {};
  for (const param of paramList) {
    const [key, val = ''] = param.split('=');
    const k = val ? key.toUpperCase() : 'TYPE'; // vCard 2.1 writes bare types: TEL;WORK;VOICE
    const v = (val || key).toLowerCase().replace(/"/g, '');
    params[k] = params[k] ? `${params[k]},${v}` : v;
  }
  let decoded = value;
  const qp = (params.ENCODING || '').includes('quoted-printable') || (params.TYPE || '').split(',').includes('quoted-printable');
  if (qp) decoded = decodeQuotedPrintable(value, params.CHARSET);
  return { name, params, value: decoded };
}

function preferred(props, wanted = ['pref', 'work', 'cell']) {
  if (!props.length) return null;
  for (const word of wanted) {
    const hit = props.find((p) => `${p.params.TYPE || ''},${p.params.PREF ? 'pref' : ''}`.includes(word));
    if (hit) return hit;
  }
  return props[0];
}

function parseVcard(text) {
  const lines = unfold(text).split('\n');
  const props = {};
  for (const line of lines) {
    const prop = parseContentLine(line);
    if (!prop) continue;
    (props[prop.name] = props[prop.name] || []).push(prop);
  }
  const fields = {};
  const first = (name) => (props[name] && props[name].length ? props[name][0].value : '');

  const n = first('N');
  if (n) {
    const [family = '', given = '', additional = ''] = splitUnescaped(n, ';').map(unescapeValue);
    fields.last_name = family;
    fields.first_name = [given, additional].filter((s) => s.trim()).join(' ');
  }
  if (!fields.first_name && !fields.last_name && first('FN')) {
    Object.assign(fields, splitName(unescapeValue(first('FN'))));
  }
  const org = first('ORG');
  if (org) fields.company = unescapeValue(splitUnescaped(org, ';')[0]);
  if (first('TITLE')) fields.job_title = unescapeValue(first('TITLE'));
  else if (first('ROLE')) fields.job_title = unescapeValue(first('ROLE'));

  const email = preferred(props.EMAIL || []);
  if (email) fields.email = unescapeValue(email.value).replace(/^mailto:/i, '');
  const tel = preferred(props.TEL || []);
  if (tel) fields.phone = unescapeValue(tel.value).replace(/^tel:/i, '');

  const adr = preferred(props.ADR || [], ['work', 'pref']);
  if (adr) {
    const parts = splitUnescaped(adr.value, ';').map(unescapeValue);
    // PO box; extended; street; locality; region; postal code; country
    fields.city = parts[3] || '';
    fields.postal_code = parts[5] || '';
    fields.country = parts[6] || '';
  }
  if (first('NOTE')) fields.notes = unescapeValue(first('NOTE'));
  return clean(fields);
}

// --- MeCard (MECARD:N:Doe,John;TEL:...;EMAIL:...;;) and BIZCARD ---------------------------------

function parseKeyedCard(text, prefix) {
  const body = text.trim().slice(prefix.length);
  const values = {};
  for (const part of splitUnescaped(body, ';')) {
    const colon = splitUnescaped(part, ':');
    if (colon.length < 2) continue;
    const key = colon[0].trim().toUpperCase();
    const value = unescapeValue(part.slice(colon[0].length + 1));
    if (key && !(key in values)) values[key] = value;
  }
  return values;
}

function parseMecard(text) {
  const v = parseKeyedCard(text, 'MECARD:');
  const fields = {};
  if (v.N) {
    const [family = '', given = ''] = splitUnescaped(v.N, ',').map(unescapeValue);
    if (given) Object.assign(fields, { first_name: given, last_name: family });
    else Object.assign(fields, splitName(family));
  }
  fields.email = v.EMAIL;
  fields.phone = v.TEL;
  fields.company = v.ORG;
  fields.job_title = v.TITLE;
  fields.notes = v.NOTE;
  if (v.ADR) {
    // MeCard's ADR is vCard-like: PO box, extended, street, city, region, postal, country.
    const parts = v.ADR.split(',');
    if (parts.length >= 7) {
      fields.city = parts[3];
      fields.postal_code = parts[5];
      fields.country = parts[6];
    }
  }
  return clean(fields);
}

function parseBizcard(text) {
  const v = parseKeyedCard(text, 'BIZCARD:');
  return clean({
    first_name: v.N,
    last_name: v.X,
    job_title: v.T,
    company: v.C,
    phone: v.B,
    email: v.E,
  });
}

// --- mailto:, tel:, attendee ids ---------------------------------------------------------------

// Query parameters that carry an attendee's badge / registration id.
const ID_PARAMS = /^(id|badge|badge_?id|badgeid|attendee|attendee_?id|registration|registration_?id|reg|reg_?id|ticket|ticket_?id|uid|code|barcode)$/i;
// What an attendee id looks like: 4-40 letters, digits, dashes or underscores, with a digit.
const ID_SHAPE = /^(?=[^\s]*\d)[A-Za-z0-9][A-Za-z0-9_-]{3,39}$/;

function parseMailto(text) {
  const body = text.replace(/^mailto:/i, '');
  const [address] = body.split('?');
  let email = address;
  try {
    email = decodeURIComponent(address);
  } catch {
    // keep it as written
  }
  return clean({ email });
}

function parseTel(text) {
  return clean({ phone: text.replace(/^tel:/i, '').split(';')[0] });
}

/** The attendee id a badge URL carries (a query parameter, else an id-shaped last path part). */
function urlBadgeId(text) {
  try {
    const url = new URL(text.trim());
    for (const [key, value] of url.searchParams) {
      if (ID_PARAMS.test(key) && ID_SHAPE.test(value.trim())) return value.trim();
    }
    const last = url.pathname.split('/').filter(Boolean).pop() || '';
    let part = last;
    try {
      part = decodeURIComponent(last);
    } catch {
      // keep it as written
    }
    return ID_SHAPE.test(part) && !/\.(html?|php|aspx?)$/i.test(part) ? part : null;
  } catch {
    return null;
  }
}

// --- plain text and URLs ---------------------------------------------------------------------

const LABELS = {
  first_name: /^(first ?name|given ?name|vorname|prénom|prenom|имя)$/i,
  last_name: /^(last ?name|surname|family ?name|nachname|nom|фамилия)$/i,
  name: /^(name|full ?name|фио)$/i,
  company: /^(company|organi[sz]ation|org|firma|unternehmen|société|societe|компания)$/i,
  job_title: /^(title|job ?title|position|role|funktion|poste|должность)$/i,
  email: /^(e-?mail|mail|почта)$/i,
  phone: /^(phone|tel|telephone|mobile|cell|telefon|téléphone|телефон)$/i,
  city: /^(city|town|stadt|ville|город)$/i,
  country: /^(country|land|pays|страна)$/i,
  postal_code: /^(zip|postal ?code|postcode|plz|code postal|индекс)$/i,
};

function labelledField(label) {
  for (const [field, pattern] of Object.entries(LABELS)) {
    if (pattern.test(label.trim())) return field;
  }
  return null;
}

function parseUrl(text) {
  const fields = {};
  try {
    const url = new URL(text.trim());
    for (const [key, value] of url.searchParams) {
      const field = labelledField(key.replace(/[_-]/g, ' '));
      if (field === 'name') Object.assign(fields, splitName(value));
      else if (field && !fields[field]) fields[field] = value;
    }
  } catch {
    // Not a URL after all; the raw text is kept by the caller.
  }
  return clean(fields);
}

function parsePlainText(text) {
  const fields = {};
  const loose = [];
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split(/\n|\t|\|/)
    .map((line) => line.trim())
    .filter(Boolean);
  for (const line of lines) {
    const labelled = line.match(/^([^:=]{2,20})\s*[:=]\s*(.+)$/);
    const field = labelled ? labelledField(labelled[1]) : null;
    if (field === 'name') Object.assign(fields, splitName(labelled[2]));
    else if (field) fields[field] = fields[field] || labelled[2];
    else loose.push(line);
  }
  const rest = [];
  for (const line of loose) {
    const email = line.match(EMAIL);
    if (email && !fields.email) {
      fields.email = email[0];
      continue;
    }
    const phone = line.match(PHONE);
    if (phone && !fields.phone && phone[0].replace(/\D/g, '').length >= 7 && !/[A-Za-z]{3,}/.test(line)) {
      fields.phone = phone[0];
      continue;
    }
    rest.push(line);
  }
  // Badges usually print the name first, then the company.
  const looksLikeName = (line) => /^[\p{L}][\p{L}'’. -]{1,60}$/u.test(line) && line.split(/\s+/).length <= 4;
  if (!fields.first_name && !fields.last_name && rest.length && looksLikeName(rest[0])) {
    Object.assign(fields, splitName(rest.shift()));
  }
  const hasName = Boolean(fields.first_name || fields.last_name);
  if (hasName && !fields.company && rest.length && rest.length <= 3 && /\p{L}{2}/u.test(rest[0]) && rest[0].length <= 80) {
    fields.company = rest.shift();
  }
  return clean(fields);
}

/** Parse a scanned badge/card text; see the module comment. Never throws. */
export function parseBadge(text) {
  const raw = typeof text === 'string' ? text : text == null ? '' : String(text);
  try {
    const trimmed = raw.replace(/^\uFEFF/, '').trim();
    if (!trimmed) return { kind: 'empty', fields: {}, raw };
    if (/^BEGIN:VCARD/i.test(trimmed)) return { kind: 'vcard', fields: parseVcard(trimmed), raw };
    if (/^MECARD:/i.test(trimmed)) return { kind: 'mecard', fields: parseMecard(trimmed), raw };
    if (/^BIZCARD:/i.test(trimmed)) return { kind: 'bizcard', fields: parseBizcard(trimmed), raw };
    if (/^mailto:/i.test(trimmed)) return { kind: 'mailto', fields: parseMailto(trimmed), raw };
    if (/^tel:/i.test(trimmed)) return { kind: 'tel', fields: parseTel(trimmed), raw };
    if (URL_ONLY.test(trimmed)) {
      const id = urlBadgeId(trimmed);
      return { kind: 'url', fields: parseUrl(trimmed), raw, ...(id ? { badge_id: id } : {}) };
    }
    if (ID_SHAPE.test(trimmed)) return { kind: 'id', fields: {}, raw, badge_id: trimmed };
    return { kind: 'text', fields: parsePlainText(trimmed), raw };
  } catch (err) {
    return { kind: 'text', fields: {}, raw, error: String(err && err.message ? err.message : err) };
  }
}
