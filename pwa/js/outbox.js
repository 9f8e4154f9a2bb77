// The outbox: every lead is written here before any network call, and leaves only
// when the server has confirmed its client_id. Used by the page and the service worker.
//
// Entry: { client_id, lead, created_at, attempts, last_attempt_at, last_error, state, revision }
//   or a correction of a lead the server already has (kind "edit", applied in order after
//   the leads): { client_id: "edit:<uuid>", kind: "edit", target: <the lead's client_id>,
//   changes: {field: value}, created_at, attempts, last_error, state }
//   last_error: null, { key, params } (a message key of /app/i18n/*.json, translated where it
//   is shown: this module also runs in the service worker, which has no catalogue), or
//   the server's own words (a string) for a rejected lead.
//   state "queued"   — waiting to be sent (retried with backoff)
//   state "rejected" — the server refused it; kept, shown as needing attention, and
//                      only sent again when someone taps retry (no blind retry loop).

import { STORES, req, transact, getAll, kvGet, kvSet } from './db.js';

export const SYNC_TAG = 'leadrelay-outbox';
export const SYNC_URL = '/api/v1/sync';
export const BATCH_SIZE = 500;
const LOCK_NAME = 'leadrelay-sync';
const LEASE_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
const BASE_DELAY_MS = 20_000;
const MAX_DELAY_MS = 5 * 60_000;
const CONFIRMED = new Set(['created', 'duplicate', 'merged']);
const KEEP_CAPTURES_DAYS = 14;

// --- change notification (this context + every other tab and the service worker) ----

const listeners = new Set();
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('leadrelay') : null;
if (channel) {
  channel.onmessage = (event) => {
    if (event.data && event.data.type === 'outbox-changed') listeners.forEach((fn) => fn());
  };
}

/** Call `fn` whenever the outbox, the captures or the sync state change anywhere. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  listeners.forEach((fn) => fn());
  if (channel) channel.postMessage({ type: 'outbox-changed' });
}

// --- writing and reading ---------------------------------------------------------------

// What the Today list shows and searches, and what an edit starts from (`lead`).
function summary(lead) {
  const name = [lead.first_name, lead.last_name].filter(Boolean).join(' ');
  return {
    name: name || lead.email || lead.phone || lead.company || '',
    company: lead.company || '',
    email: lead.email || '',
    phone: lead.phone || '',
    rating: lead.rating || '',
    lead,
  };
}

function captureRecord(lead) {
  return {
    client_id: lead.client_id,
    event_id: lead.event_id,
    captured_at: lead.captured_at,
    ...summary(lead),
    source: lead.source,
    state: 'on_phone',
    office: null,
    routing: null,
    flags: [],
    errors: [],
    lead_id: null,
  };
}

/** Store a new lead (outbox entry + today's capture record) in one transaction. */
export async function addLead(lead) {
  const entry = {
    client_id: lead.client_id,
    lead,
    created_at: Date.now(),
    attempts: 0,
    last_attempt_at: null,
    last_error: null,
    state: 'queued',
  };
  await transact([STORES.outbox, STORES.captures], 'readwrite', (tx) => {
    tx.objectStore(STORES.outbox).add(entry);
    tx.objectStore(STORES.captures).put(captureRecord(lead));
  });
  notify();
  return entry;
}

// The fields the server lets the capturer correct after sync (PATCH …/contact).
export const CORRECTABLE = ['first_name', 'last_name', 'email', 'phone', 'company', 'job_title', 'rating', 'notes', 'answers'];

/**
 * Correct a lead captured on this phone: `changes` are the fields to set. Before sync the
 * queued lead itself changes; after sync a correction is queued and sent in order.
 * Resolves with "queued" (the lead was still on the phone) or "correction".
 */
export async function editLead(clientId, changes) {
  const outcome = await transact([STORES.outbox, STORES.captures], 'readwrite', async (tx) => {
    const outbox = tx.objectStore(STORES.outbox);
    const captures = tx.objectStore(STORES.captures);
    const entry = await req(outbox.get(clientId));
    const row = await req(captures.get(clientId));
    const base = (entry && entry.lead) || (row && row.lead) || { client_id: clientId };
    const lead = { ...base, ...changes };
    if (row) captures.put({ ...row, ...summary(lead) });
    if (entry) {
      outbox.put({ ...entry, lead, revision: (entry.revision || 0) + 1, state: 'queued', last_error: null });
      if (row && row.state === 'rejected') captures.put({ ...row, ...summary(lead), state: 'on_phone', errors: [] });
      return 'queued';
    }
    const sendable = Object.fromEntries(Object.entries(changes).filter(([name]) => CORRECTABLE.includes(name)));
    outbox.add(editEntry(clientId, sendable));
    return 'correction';
  });
  notify();
  return outcome;
}

function editEntry(target, changes) {
  const id = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  return {
    client_id: `edit:${id}`,
    kind: 'edit',
    target,
    changes,
    created_at: Date.now(),
    attempts: 0,
    last_attempt_at: null,
    last_error: null,
    state: 'queued',
  };
}

/** How many leads are on this phone and not yet confirmed by the server. */
export function pendingCount() {
  return transact([STORES.outbox], 'readonly', (tx) => req(tx.objectStore(STORES.outbox).count()));
}

export function entries() {
  return getAll(STORES.outbox);
}

/** Captures made since local midnight, newest first. */
export async function capturesToday(now = new Date()) {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
  const rows = await transact([STORES.captures], 'readonly', (tx) =>
    req(tx.objectStore(STORES.captures).index('captured_at').getAll(IDBKeyRange.lowerBound(midnight))),
  );
  return rows.reverse();
}

/** Update a capture record (e.g. with the routing fetched later from the server). */
export async function updateCapture(clientId, changes) {
  await transact([STORES.captures], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.captures);
    const row = await req(store.get(clientId));
    if (row) store.put({ ...row, ...changes });
  });
  notify();
}

/** Forget capture records older than two weeks whose lead the server already has. */
export async function pruneCaptures(now = Date.now()) {
  const cutoff = new Date(now - KEEP_CAPTURES_DAYS * 86_400_000).toISOString();
  await transact([STORES.captures, STORES.outbox], 'readwrite', async (tx) => {
    const captures = tx.objectStore(STORES.captures);
    const old = await req(captures.index('captured_at').getAll(IDBKeyRange.upperBound(cutoff, true)));
    for (const row of old) {
      const queued = await req(tx.objectStore(STORES.outbox).count(row.client_id));
      if (!queued) captures.delete(row.client_id);
    }
  });
}

/** Put a rejected lead (or its rejected corrections) back in the queue, after a look. */
export async function retryRejected(clientId) {
  await transact([STORES.outbox, STORES.captures], 'readwrite', async (tx) => {
    const outbox = tx.objectStore(STORES.outbox);
    const all = await req(outbox.getAll());
    const mine = all.filter((e) => e.state === 'rejected' && (e.client_id === clientId || e.target === clientId));
    for (const entry of mine) outbox.put({ ...entry, state: 'queued', last_error: null });
    const row = await req(tx.objectStore(STORES.captures).get(clientId));
    if (row) {
      const state = row.lead_id ? (row.office ? 'routed' : 'sent') : 'on_phone';
      tx.objectStore(STORES.captures).put({ ...row, state, errors: [] });
    }
  });
  notify();
}

// --- sync state and backoff ---------------------------------------------------------------

const EMPTY_STATE = { failures: 0, next_attempt_at: 0, last_error: null, last_ok_at: null, auth_required: false };

export async function syncState() {
  return { ...EMPTY_STATE, ...(await kvGet('sync', {})) };
}

async function patchSyncState(changes) {
  const state = { ...(await syncState()), ...changes };
  await kvSet('sync', state);
  return state;
}

/** Delay before the next automatic attempt after `failures` failures in a row. */
export function backoffDelay(failures, random = Math.random) {
  if (failures <= 0) return 0;
  const delay = Math.min(BASE_DELAY_MS * 2 ** (failures - 1), MAX_DELAY_MS);
  return Math.round(delay * (0.8 + 0.4 * random()));
}

// --- the lock -------------------------------------------------------------------------------
// Web Locks are shared by tabs and the service worker of one origin. Where they are
// missing, a lease row in IndexedDB does the same job (the read-then-write runs in one
// readwrite transaction, which IndexedDB serialises).

const SKIPPED = { status: 'skipped' };
const owner = Math.random().toString(36).slice(2);

async function takeLease() {
  return transact([STORES.kv], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.kv);
    const lease = await req(store.get('sync-lease'));
    const now = Date.now();
    if (lease && lease.value.expires > now && lease.value.owner !== owner) return false;
    store.put({ key: 'sync-lease', value: { owner, expires: now + LEASE_MS } });
    return true;
  });
}

async function dropLease() {
  await transact([STORES.kv], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.kv);
    const lease = await req(store.get('sync-lease'));
    if (lease && lease.value.owner === owner) store.delete('sync-lease');
  });
}

async function withLock(wait, fn) {
  const locks = globalThis.navigator && navigator.locks;
  if (locks && typeof locks.request === 'function') {
    return locks.request(LOCK_NAME, wait ? {} : { ifAvailable: true }, (lock) => (lock ? fn() : SKIPPED));
  }
  const giveUpAt = Date.now() + LEASE_MS;
  while (!(await takeLease())) {
    if (!wait || Date.now() > giveUpAt) return SKIPPED;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    return await fn();
  } finally {
    await dropLease();
  }
}

// --- sending ----------------------------------------------------------------------------------

// The replies carry words for people (routing reasons) in the request's language. The app
// keeps its language here because the service worker, which syncs too, cannot read the page's.
const LANGUAGE_KV = 'language';

/** Remember the app's language for the sync requests (the page calls this on each change). */
export function rememberLanguage(code) {
  return kvSet(LANGUAGE_KV, code);
}

/** The headers of the app's JSON writes: CSRF marker, and the reader's language if known. */
function jsonHeaders(language) {
  return {
    'Content-Type': 'application/json',
    Accept: 'application/json',
    'X-Requested-With': 'XMLHttpRequest',
    ...(language ? { 'Accept-Language': language } : {}),
  };
}

async function post(fetchImpl, leads, language) {
  const controller = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
  try {
    return await fetchImpl(SYNC_URL, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: jsonHeaders(language),
      body: JSON.stringify({ leads }),
      signal: controller ? controller.signal : undefined,
    });
  } finally {
    if (timer) clearTimeout(timer);
  }
}

async function markAttempt(batch, error) {
  const now = Date.now();
  await transact([STORES.outbox], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.outbox);
    for (const { client_id } of batch) {
      const entry = await req(store.get(client_id));
      if (!entry) continue;
      entry.attempts += error === undefined ? 1 : 0;
      entry.last_attempt_at = now;
      if (error !== undefined) entry.last_error = error;
      store.put(entry);
    }
  });
}

function reasonOf(result) {
  const errors = Array.isArray(result.errors) ? result.errors : [];
  if (!errors.length) return { key: 'sync.rejected', params: {} };
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}

async function applyResults(batch, results) {
  const byId = new Map();
  results.forEach((result, i) => {
    if (!result || typeof result !== 'object') return;
    const id = result.client_id || (batch[i] && batch[i].client_id);
    if (id) byId.set(id, result);
  });
  let confirmed = 0;
  let rejected = 0;
  await transact([STORES.outbox, STORES.captures], 'readwrite', async (tx) => {
    const outbox = tx.objectStore(STORES.outbox);
    const captures = tx.objectStore(STORES.captures);
    for (const entry of batch) {
      const result = byId.get(entry.client_id);
      if (!result) continue; // no word on this one: it stays queued
      const row = (await req(captures.get(entry.client_id))) || captureRecord(entry.lead);
      const common = {
        lead_id: result.lead_id ?? row.lead_id,
        flags: Array.isArray(result.flags) ? result.flags : [],
        errors: Array.isArray(result.errors) ? result.errors : [],
      };
      if (CONFIRMED.has(result.status)) {
        // Corrected while this batch was on its way: the server has the old version, so the
        // correction follows as an edit (nothing typed on the phone is lost).
        const current = await req(outbox.get(entry.client_id));
        outbox.delete(entry.client_id);
        if (current && (current.revision || 0) !== (entry.revision || 0)) {
          const changes = Object.fromEntries(CORRECTABLE.filter((n) => n in current.lead).map((n) => [n, current.lead[n]]));
          outbox.add({ ...editEntry(entry.client_id, changes), created_at: current.created_at });
        }
        captures.put({
          ...row,
          ...common,
          state: result.office ? 'routed' : 'sent',
          office: result.office || null,
          routing: result.routing || null,
          synced_at: new Date().toISOString(),
        });
        confirmed += 1;
      } else if (result.status === 'rejected') {
        const current = await req(outbox.get(entry.client_id));
        if (current) outbox.put({ ...current, state: 'rejected', last_error: reasonOf(result) });
        captures.put({ ...row, ...common, state: 'rejected' });
        rejected += 1;
      }
    }
  });
  return { confirmed, rejected };
}

// A try that failed while the device itself says it has no network tells nothing of the
// server or the venue's Wi-Fi: it does not lengthen the wait (the "online" event tries again
// at once). Counted, the twenty saves of an offline morning left five minutes of backoff
// for the first failed try after the network came back.
function knownOffline(kind) {
  return kind === 'network' && typeof navigator !== 'undefined' && navigator.onLine === false;
}

async function failed(batch, kind, key, params, failures, retryAfterMs = 0) {
  const message = { key, params };
  await markAttempt(batch, message);
  const counted = knownOffline(kind) ? failures : failures + 1;
  await patchSyncState({
    failures: counted,
    next_attempt_at: Date.now() + Math.max(backoffDelay(Math.max(counted, 1)), retryAfterMs),
    last_error: message,
    last_error_kind: kind,
    auth_required: kind === 'auth',
  });
  notify();
  return { status: kind === 'auth' ? 'auth' : 'failed', error: message };
}

// Send one correction; resolves null when it is done with (applied, or refused and kept
// for a person to look at), 'wait' when its lead has not reached the server yet, or the
// failure result that stops this sync (the next ones must wait: they apply in order).
async function sendEdit(fetchImpl, edit, language, failures, pending) {
  if (pending.some((e) => e.client_id === edit.target)) return 'wait';
  const row = await transact([STORES.captures], 'readonly', (tx) => req(tx.objectStore(STORES.captures).get(edit.target)));
  if (!row || !row.lead_id) return 'wait';
  await markAttempt([edit]);
  let response;
  try {
    response = await fetchImpl(`/api/v1/leads/${row.lead_id}/contact`, {
      method: 'PATCH',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: jsonHeaders(language),
      body: JSON.stringify(edit.changes),
    });
  } catch (err) {
    return failed([edit], 'network', 'sync.network', { name: err.name || 'error' }, failures);
  }
  if (response.status === 401) return failed([edit], 'auth', 'sync.auth', {}, failures);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const nothingChanged = response.status === 422 && body && body.error && body.error.code === 'nothing_changed';
  if (response.ok || nothingChanged) {
    await transact([STORES.outbox, STORES.captures], 'readwrite', async (tx) => {
      tx.objectStore(STORES.outbox).delete(edit.client_id);
      const captures = tx.objectStore(STORES.captures);
      const current = await req(captures.get(edit.target));
      if (current) {
        const noted = Boolean(body && body.first_touch_at);
        captures.put({ ...current, flags: (body && body.flags) || current.flags, correction: noted ? 'noted' : 'applied' });
      }
    });
    return null;
  }
  if (response.status >= 400 && response.status < 500 && response.status !== 429) {
    const errors = (body && body.error && (body.error.fields || [])) || [];
    const message = errors.length ? errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')
      : (body && body.error && body.error.message) || { key: 'sync.rejected', params: {} };
    await transact([STORES.outbox, STORES.captures], 'readwrite', async (tx) => {
      tx.objectStore(STORES.outbox).put({ ...edit, state: 'rejected', last_error: message });
      const captures = tx.objectStore(STORES.captures);
      const current = await req(captures.get(edit.target));
      if (current) captures.put({ ...current, state: 'rejected', errors });
    });
    return null;
  }
  const retryAfterMs = (Number(response.headers.get('Retry-After')) || 0) * 1000;
  return failed([edit], 'http', 'sync.http', { status: response.status }, failures, retryAfterMs);
}

async function runSync(fetchImpl) {
  const state = await syncState();
  const waiting = (await entries())
    .filter((entry) => entry.state !== 'rejected')
    .sort((a, b) => a.created_at - b.created_at);
  const queued = waiting.filter((entry) => entry.kind !== 'edit');
  const edits = waiting.filter((entry) => entry.kind === 'edit');
  if (!waiting.length) {
    if (state.failures || state.last_error) {
      await patchSyncState({ failures: 0, next_attempt_at: 0, last_error: null });
      notify();
    }
    return { status: 'empty', confirmed: 0, rejected: 0 };
  }
  let confirmed = 0;
  let rejected = 0;
  const language = await kvGet(LANGUAGE_KV);
  for (let start = 0; start < queued.length; start += BATCH_SIZE) {
    const batch = queued.slice(start, start + BATCH_SIZE);
    await markAttempt(batch);
    let response;
    try {
      response = await post(fetchImpl, batch.map((entry) => entry.lead), language);
    } catch (err) {
      return failed(batch, 'network', 'sync.network', { name: err.name || 'error' }, state.failures);
    }
    if (response.status === 401) {
      return failed(batch, 'auth', 'sync.auth', {}, state.failures);
    }
    if (!response.ok) {
      // 429 (rate limited) says when to come back; anything else backs off as usual.
      const retryAfterMs = (Number(response.headers.get('Retry-After')) || 0) * 1000;
      return failed(batch, 'http', 'sync.http', { status: response.status }, state.failures, retryAfterMs);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!body || !Array.isArray(body.results)) {
      return failed(batch, 'http', 'sync.badJson', {}, state.failures);
    }
    const counts = await applyResults(batch, body.results);
    confirmed += counts.confirmed;
    rejected += counts.rejected;
  }
  // Corrections go one by one, oldest first, after the leads they correct.
  const pending = edits.length ? await entries() : [];
  for (const edit of edits) {
    const failure = await sendEdit(fetchImpl, edit, language, state.failures, pending);
    if (failure === 'wait') continue; // its lead is not on the server yet
    if (failure) return failure;
  }
  await patchSyncState({
    failures: 0,
    next_attempt_at: 0,
    last_error: null,
    last_error_kind: null,
    last_ok_at: new Date().toISOString(),
    auth_required: false,
  });
  notify();
  return { status: 'ok', confirmed, rejected };
}

// A forced sync that finds another one running must not be dropped: that one may have
// started before the network came back (this page's start-up try, the service worker's
// Background Sync as the browser starts), fail after it, and leave minutes of backoff with
// nothing else due to try sooner. So it runs as soon as that one is done; forced calls made
// meanwhile share it (one run sends everything queued by then).
let followUp = null;

function runAfterCurrent(fetchImpl) {
  if (followUp) return followUp;
  const run = withLock(true, () => {
    if (followUp === run) followUp = null; // calls from now on may come too late for this run
    return runSync(fetchImpl);
  }).finally(() => {
    if (followUp === run) followUp = null;
  });
  followUp = run;
  return run;
}

/**
 * Send queued leads to the server in batches of at most 500.
 *
 * `wait`: wait for another context's sync to finish instead of skipping (the service
 * worker's Background Sync uses this so a failed page sync still gets its retry).
 * `force`: ignore the backoff delay (a user tap, the `online` event, a fresh save); when
 * another sync is running, run once it is done instead of skipping.
 * Never throws for network or server errors; returns `{status, confirmed, rejected, error}`
 * (`error`: `{key, params}`, a message key and its parameters).
 */
export async function syncOutbox({ fetchImpl = (...args) => fetch(...args), wait = false, force = false } = {}) {
  if (!force) {
    const state = await syncState();
    if (state.next_attempt_at && Date.now() < state.next_attempt_at) return { status: 'backoff' };
  }
  const result = await withLock(wait, () => runSync(fetchImpl));
  if (result === SKIPPED && force && !wait) return runAfterCurrent(fetchImpl);
  return result;
}

/** Ask the browser for a Background Sync; resolves false where it has none. */
export async function requestBackgroundSync(registration) {
  try {
    if (registration && registration.sync && typeof registration.sync.register === 'function') {
      await registration.sync.register(SYNC_TAG);
      return true;
    }
  } catch {
    // Permission denied or unsupported: the page's own timer keeps trying.
  }
  return false;
}
