// Card photos and voice notes kept on the phone until the server has them.
//
// Each attachment has its own client UUID and belongs to a lead by the lead's client_id.
// It is sent only after its lead is confirmed (the lead's server id comes from the
// captures store the outbox fills), one multipart POST per file; a retry with the same
// client_id never stores two. An entry leaves the phone only when the server answered
// 200/201 (stored) or 410 (the lead was erased: nothing to keep). 403/404/409/413/415/422 mark it
// "rejected" (kept, shown, not retried blindly); anything else keeps it queued.
//
// Its own IndexedDB database, so the booth app's schema (db.js) needs no upgrade for it.
// Entry: { client_id, lead_client_id, kind, blob, content_type, duration_seconds,
//          created_at, attempts, last_attempt_at, state: "queued"|"rejected", last_error }

import { STORES, get, opener } from './db.js';

export const DB_NAME = 'leadrelay-attachments';
export const DB_VERSION = 1;
const STORE = 'attachments';
export const KINDS = ['card_front', 'card_back', 'voice', 'photo'];
const STORED = new Set([200, 201, 410]);
const REJECTED = new Set([403, 404, 409, 413, 415, 422]);
const REQUEST_TIMEOUT_MS = 60_000;
const BASE_DELAY_MS = 20_000;
const MAX_DELAY_MS = 5 * 60_000;

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    const store = db.createObjectStore(STORE, { keyPath: 'client_id' });
    store.createIndex('lead_client_id', 'lead_client_id');
  }
}

const openAttachmentsDb = opener(DB_NAME, DB_VERSION, upgrade);

async function run(mode, work) {
  const db = await openAttachmentsDb();
  const tx = db.transaction([STORE], mode);
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new DOMException('Transaction aborted', 'AbortError'));
  });
  const result = await work(tx.objectStore(STORE));
  await committed;
  return result;
}

function wrap(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// --- change notification ---------------------------------------------------------------

const listeners = new Set();
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('leadrelay-attachments') : null;
if (channel) channel.onmessage = () => listeners.forEach((fn) => fn());

/** Call `fn` whenever attachments are added, sent or rejected (in any tab). */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  listeners.forEach((fn) => fn());
  if (channel) channel.postMessage('changed');
}

// --- writing and reading ---------------------------------------------------------------

/** Keep a file for the lead `leadClientId`; resolves with the new entry's client_id. */
export async function addAttachment(leadClientId, kind, blob, { durationSeconds = null, clientId = null } = {}) {
  if (!KINDS.includes(kind)) throw new Error(`unknown attachment kind ${kind}`);
  const entry = {
    client_id: clientId || crypto.randomUUID(),
    lead_client_id: leadClientId,
    kind,
    blob,
    content_type: blob.type || '',
    duration_seconds: durationSeconds,
    created_at: Date.now(),
    attempts: 0,
    last_attempt_at: null,
    state: 'queued',
    last_error: null,
  };
  await run('readwrite', (store) => {
    store.add(entry);
  });
  notify();
  return entry.client_id;
}

/** Every attachment still on the phone (oldest first). */
export async function entries() {
  const rows = await run('readonly', (store) => wrap(store.getAll()));
  return rows.sort((a, b) => a.created_at - b.created_at);
}

/** The attachments of one lead, by the lead's client_id. */
export function forLead(leadClientId) {
  return run('readonly', (store) => wrap(store.index('lead_client_id').getAll(leadClientId)));
}

/** How many attachments the server has not confirmed (for the sign-out warning). */
export async function pendingCount() {
  return run('readonly', (store) => wrap(store.count()));
}

/** Drop the files of a lead that was never saved (the capture form was abandoned). */
export async function discardForLead(leadClientId) {
  const rows = await forLead(leadClientId);
  await run('readwrite', (store) => {
    rows.forEach((row) => store.delete(row.client_id));
  });
  if (rows.length) notify();
  return rows.length;
}

/** Send a rejected attachment again (after someone looked at it). */
export async function retryRejected(clientId) {
  await run('readwrite', async (store) => {
    const entry = await wrap(store.get(clientId));
    if (entry) store.put({ ...entry, state: 'queued', last_error: null, attempts: 0 });
  });
  notify();
}

// --- sending ---------------------------------------------------------------------------

function due(entry, now) {
  if (entry.state !== 'queued') return false;
  if (!entry.last_attempt_at) return true;
  const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, entry.attempts - 1));
  return now - entry.last_attempt_at >= delay;
}

async function leadId(leadClientId) {
  const capture = await get(STORES.captures, leadClientId);
  return capture && capture.lead_id ? capture.lead_id : null;
}

async function post(entry, id) {
  const form = new FormData();
  form.append('kind', entry.kind);
  form.append('client_id', entry.client_id);
  if (entry.duration_seconds != null) form.append('duration_seconds', String(entry.duration_seconds));
  const extension = entry.kind === 'voice' ? (entry.content_type.includes('mp4') ? 'm4a' : 'webm') : 'jpg';
  form.append('file', entry.blob, `${entry.kind}.${extension}`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(`/api/v1/leads/${id}/attachments`, {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' },
      signal: controller.signal,
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, body };
  } catch {
    return { status: 0, body: null };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Send every due attachment whose lead the server has confirmed; resolves with counts.
 * Safe to call often (on start, on `online`, after each outbox sync, from Background Sync).
 */
export async function sendPending(now = Date.now()) {
  const counts = { sent: 0, rejected: 0, waiting: 0, failed: 0 };
  for (const entry of await entries()) {
    if (!due(entry, now)) continue;
    const id = await leadId(entry.lead_client_id);
    if (!id) {
      counts.waiting += 1; // its lead is not confirmed yet
      continue;
    }
    const { status, body } = await post(entry, id);
    const error = body && body.error ? body.error.message || body.error.code : null;
    await run('readwrite', async (store) => {
      const current = await wrap(store.get(entry.client_id));
      if (!current) return;
      if (STORED.has(status)) {
        store.delete(entry.client_id);
        counts.sent += 1;
      } else if (REJECTED.has(status)) {
        store.put({ ...current, state: 'rejected', last_error: error || `HTTP ${status}` });
        counts.rejected += 1;
      } else {
        store.put({
          ...current,
          attempts: current.attempts + 1,
          last_attempt_at: Date.now(),
          last_error: error || (status ? `HTTP ${status}` : null),
        });
        counts.failed += 1;
      }
    });
  }
  if (counts.sent || counts.rejected || counts.failed) notify();
  return counts;
}
