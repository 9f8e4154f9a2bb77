// Messages in the reader's language: one flat JSON catalogue per language in /app/i18n/
// (precached by the service worker, so the app speaks Russian offline too).
//
// A value is a string with {name} placeholders, or for counts an object of plural forms
// ({one, other} in English; {one, few, many, other} in Russian) chosen by
// Intl.PluralRules from params.count. Numbers in params are formatted for the locale.
// Elements marked data-i18n="key" (text) or data-i18n-attr="placeholder:key;aria-label:key2",
// with optional data-i18n-params='{"count":2}', are filled by applyTranslations(); the
// HTML keeps the English text as the fallback.

export const LANGUAGES = ['en', 'ru'];
const DEFAULT = 'en';
const catalogues = {};
const listeners = new Set();
let current = DEFAULT;

/** Each language named in itself ("English", "Русский"), for choosing a visitor's language. */
export function languageNames() {
  return LANGUAGES.map((code) => {
    let name = code;
    try {
      name = new Intl.DisplayNames([code], { type: 'language' }).of(code) || code;
    } catch {
      // An old browser without Intl.DisplayNames: the code will do.
    }
    return { code, name: name.charAt(0).toLocaleUpperCase(code) + name.slice(1) };
  });
}

/** The language in use ("en" or "ru"). */
export function language() {
  return current;
}

/** A supported language code for `tag` ("ru-RU" → "ru"), or null. */
export function supported(tag) {
  const code = String(tag || '').slice(0, 2).toLowerCase();
  return LANGUAGES.includes(code) ? code : null;
}

/** The first supported language of the browser, or null. */
export function browserLanguage() {
  const tags = (globalThis.navigator && (navigator.languages || [navigator.language])) || [];
  for (const tag of tags) {
    const code = supported(tag);
    if (code) return code;
  }
  return null;
}

async function load(code) {
  if (catalogues[code]) return catalogues[code];
  const response = await fetch(`/app/i18n/${code}.json`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`catalogue ${code}: ${response.status}`);
  catalogues[code] = await response.json();
  return catalogues[code];
}

/**
 * Switch to `code` (loading its catalogue and the English fallback), translate the
 * page and tell the listeners. An unknown code or a catalogue that cannot be loaded
 * leaves English; never throws.
 */
export async function setLanguage(code) {
  const wanted = supported(code) || DEFAULT;
  try {
    await load(DEFAULT);
    if (wanted !== DEFAULT) await load(wanted);
    current = wanted;
  } catch (err) {
    console.warn('leadrelay: messages not loaded', err);
    current = catalogues[wanted] ? wanted : DEFAULT;
  }
  if (globalThis.document) {
    document.documentElement.lang = current;
    applyTranslations(document);
  }
  listeners.forEach((fn) => fn(current));
  return current;
}

/** Call `fn(language)` after every language switch. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function lookup(key, code = current) {
  const own = catalogues[code] && catalogues[code][key];
  if (own !== undefined) return own;
  const fallback = catalogues[DEFAULT] && catalogues[DEFAULT][key];
  return fallback !== undefined ? fallback : key;
}

/** Format a number for the current locale. */
export function formatNumber(value, options) {
  return new Intl.NumberFormat(current, options).format(value);
}

/** Hours and minutes of `date` in the current locale. */
export function formatTime(date) {
  return new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit' }).format(new Date(date));
}

/** Load `code`'s catalogue without switching to it (for texts shown in a visitor's language). */
export async function loadLanguage(code) {
  const wanted = supported(code);
  if (!wanted) return false;
  try {
    await load(wanted);
    return true;
  } catch {
    return false;
  }
}

/** True when `code`'s catalogue is loaded. */
export function hasLanguage(code) {
  return Boolean(catalogues[code]);
}

/**
 * The message `key` with `{name}` placeholders filled from `params`; in `code` when its
 * catalogue is loaded (see loadLanguage), else in the language in use.
 */
export function t(key, params = {}, code = current) {
  if (!catalogues[code]) code = current;
  let message = lookup(key, code);
  if (message && typeof message === 'object') {
    const count = Number(params.count);
    const form = new Intl.PluralRules(code).select(Number.isFinite(count) ? count : 0);
    message = message[form] ?? message.other ?? message.many ?? message.one ?? key;
  }
  return String(message).replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    return typeof value === 'number' ? formatNumber(value) : String(value ?? '');
  });
}

function paramsOf(node) {
  try {
    return JSON.parse(node.dataset.i18nParams || '{}');
  } catch {
    return {};
  }
}

/** Translate every element under `root` marked with data-i18n / data-i18n-attr. */
export function applyTranslations(root = document) {
  const nodes = [...root.querySelectorAll('[data-i18n], [data-i18n-attr]')];
  if (root.matches && root.matches('[data-i18n], [data-i18n-attr]')) nodes.push(root);
  for (const node of nodes) {
    const params = paramsOf(node);
    if (node.dataset.i18n) node.textContent = t(node.dataset.i18n, params);
    for (const pair of (node.dataset.i18nAttr || '').split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key, params));
    }
  }
}

/** Show message `key` in `node` and keep it translated on later switches. */
export function say(node, key, params) {
  node.dataset.i18n = key;
  if (params) node.dataset.i18nParams = JSON.stringify(params);
  else delete node.dataset.i18nParams;
  node.textContent = t(key, params);
  return node;
}

/** Show text that is not a message (a name, a server's words) in `node`. */
export function plain(node, text) {
  delete node.dataset.i18n;
  delete node.dataset.i18nParams;
  node.textContent = text;
  return node;
}

/** Set attribute `attr` of `node` to message `key`, kept translated on later switches. */
export function sayAttr(node, attr, key, params) {
  const others = (node.dataset.i18nAttr || '').split(';').filter((p) => p && !p.startsWith(`${attr}:`));
  node.dataset.i18nAttr = [...others, `${attr}:${key}`].join(';');
  if (params) node.dataset.i18nParams = JSON.stringify(params);
  node.setAttribute(attr, t(key, params));
  return node;
}

/** Wire EN / RU buttons (`button[data-lang]` under `group`) to `choose(code)`. */
export function wireSwitcher(group, choose) {
  const mark = () => {
    for (const button of group.querySelectorAll('button[data-lang]')) {
      button.setAttribute('aria-pressed', String(button.dataset.lang === current));
    }
  };
  group.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-lang]');
    if (button && button.dataset.lang !== current) choose(button.dataset.lang);
  });
  onLanguageChange(mark);
  mark();
}
