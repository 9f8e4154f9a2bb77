// JSON calls to /api/v1 from the pages (the outbox sends its own batches).

import { language, t } from './i18n.js';

export const API = '/api/v1';
const TIMEOUT_MS = 15_000;

/** An API failure: `status` 0 means no answer at all (offline, timeout, server down). */
export class ApiError extends Error {
  constructor(status, code, message, fields = [], retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

/** Call the API; resolves with the parsed JSON body, rejects with ApiError. */
export async function api(path, { method = 'GET', body, timeout = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  // The server's words for people (routing reasons) come in the app's language.
  const headers = { Accept: 'application/json', 'Accept-Language': language() };
  if (method !== 'GET') headers['X-Requested-With'] = 'XMLHttpRequest';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (err) {
    throw new ApiError(0, 'network', t('api.network'));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = response.status === 204 ? {} : await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const retryAfter = Number(response.headers.get('Retry-After')) || null;
    throw new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || t('api.http', { status: response.status }),
      Array.isArray(error.fields) ? error.fields : [],
      retryAfter,
    );
  }
  if (data === null) throw new ApiError(response.status, 'bad_json', t('api.badJson'));
  return data;
}

/** A v4 UUID; crypto.randomUUID where available (secure contexts), else from random bytes. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
