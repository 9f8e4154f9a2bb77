// The booth app: sign in, join an event, capture leads offline-first, see today's leads.

import { api, ApiError } from './api.js';
import { STORES, kvGet, kvSet, kvDelete, get, put } from './db.js';
import * as outbox from './outbox.js';
import { parseBadge } from './badge.js';
import { CaptureForm } from './capture.js';
import { scanCode } from './scanner.js';
import { renderToday } from './today.js';
import { registerServiceWorker } from './sw-register.js';

const T = {
  unsent: (n) => (n === 1 ? '1 lead not yet sent' : `${n} leads not yet sent`),
  saved: (n) => (n ? `Saved on this phone — ${n} to send` : 'Saved'),
  savedSent: 'Saved and sent',
  nothingToSave: 'Enter a name, company, email or phone — or scan a badge — before saving.',
  storeFailed: (m) => `Could not store the lead on this phone: ${m}`,
  signinFailed: 'Email or password is wrong.',
  signinOffline: 'No connection — signing in needs the network once.',
  sessionEnded: 'Your session ended. Sign in again to send leads.',
  signInAgain: 'Sign in',
  waiting: (n) => `${n} lead${n === 1 ? '' : 's'} on this phone will be sent after you sign in.`,
  joinFirst: 'Sign in first, then you join the event.',
  joinOffline: 'Joining the event needs a connection. It will be tried again when the network is back.',
  joinBad: 'That join code is not valid any more. Ask the event lead for a new one.',
  joined: (name) => `You joined ${name}.`,
  noEvents: 'You are not on any event yet. Scan the event’s staff join QR code.',
  pickEvent: 'Pick the event you are working at.',
  eventOffline: 'This event is not on the phone yet; it needs the network once.',
  nothingQueued: 'Nothing waiting to be sent.',
  allSent: (when) => `All leads sent${when ? ` (last at ${when})` : ''}.`,
  notSent: (error, seconds) => `Not sent yet: ${error}.${seconds > 0 ? ` Next try in ${seconds} s.` : ''}`,
  rejectedCount: (n) => `${n} lead${n === 1 ? '' : 's'} need${n === 1 ? 's' : ''} attention.`,
  signoutStep1: (n) => `${n} lead${n === 1 ? ' is' : 's are'} still only on this phone. If you sign out now they wait here until someone signs in again.`,
  signoutStep2: (n) => `Really sign out? ${n} unsent lead${n === 1 ? '' : 's'} will not reach sales until someone signs in on this phone.`,
  signoutAnyway: 'Sign out anyway',
  signoutReally: 'Yes, sign out',
  briefParts: { offer: 'Offer', promo_conditions: 'Promo conditions', talking_points: 'Talking points' },
  signedInAs: (u) => `Signed in as ${u.name || u.email}${u.office ? ` (${u.office.name})` : ''}.`,
};

const TICK_MS = 20_000;
const $ = (id) => document.getElementById(id);
const state = { user: null, event: null, registration: null, screen: null, capture: null };
const perf = { lastSaveMs: null, saveTimes: [] };

// --- screens ------------------------------------------------------------------------------

function show(screen) {
  for (const section of document.querySelectorAll('main > .screen')) {
    section.hidden = section.id !== `screen-${screen}`;
  }
  const inApp = screen === 'capture' || screen === 'today';
  $('tabbar').hidden = !inApp;
  for (const tab of document.querySelectorAll('#tabbar button')) {
    if (tab.dataset.screen === screen) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  state.screen = screen;
  if (screen === 'today') refreshToday();
}

function banner(text, action = null) {
  $('banner').hidden = !text;
  $('banner-text').textContent = text || '';
  const button = $('banner-action');
  button.hidden = !action;
  if (action) {
    button.textContent = action.label;
    button.onclick = action.run;
  }
}

let toastTimer = null;
function toast(text) {
  const node = $('saved-toast');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 2500);
}

// --- counts, sync status and the today list ----------------------------------------------------

async function refreshCounts() {
  const count = await outbox.pendingCount();
  const badge = $('unsynced');
  badge.textContent = String(count);
  badge.setAttribute('aria-label', T.unsent(count));
  badge.classList.toggle('zero', count === 0);
  const sync = await outbox.syncState();
  if (sync.auth_required && state.user) {
    banner(T.sessionEnded, { label: T.signInAgain, run: () => signInAgain() });
  }
  if (state.screen === 'today') await refreshToday();
  return count;
}

async function refreshToday() {
  const [captures, entries, sync] = await Promise.all([
    outbox.capturesToday(),
    outbox.entries(),
    outbox.syncState(),
  ]);
  const byId = new Map(entries.map((e) => [e.client_id, e]));
  const shown = renderToday($('today-list'), captures, byId, {
    onRetry: async (clientId) => {
      await outbox.retryRejected(clientId);
      syncNow(true);
    },
  });
  $('today-empty').hidden = shown > 0;
  const rejected = entries.filter((e) => e.state === 'rejected').length;
  const queued = entries.length - rejected;
  let status;
  if (queued && sync.last_error) {
    status = T.notSent(sync.last_error, Math.max(0, Math.round((sync.next_attempt_at - Date.now()) / 1000)));
  } else if (!queued && rejected) {
    status = T.nothingQueued;
  } else if (!queued) {
    const when = sync.last_ok_at ? new Date(sync.last_ok_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
    status = T.allSent(when);
  } else {
    status = T.unsent(queued);
  }
  if (rejected) status += ` ${T.rejectedCount(rejected)}`;
  $('sync-status').textContent = status;
}

// Leads the server took but had not routed yet: ask once more when the list is open.
async function refreshRouting() {
  const rows = (await outbox.capturesToday()).filter((r) => r.state === 'sent' && r.lead_id).slice(0, 20);
  for (const row of rows) {
    try {
      const lead = await api(`/leads/${row.lead_id}`);
      if (lead.office) await outbox.updateCapture(row.client_id, { state: 'routed', office: lead.office, routing: lead.routing || null });
    } catch {
      return; // offline or not allowed: the list keeps what it has
    }
  }
}

// --- sync ---------------------------------------------------------------------------------------

async function syncNow(force = false) {
  const result = await outbox.syncOutbox({ force });
  if (result.status === 'auth') await refreshCounts();
  if (result.status === 'ok' && !$('banner-action').hidden && state.user) banner(null);
  return result;
}

function startSyncLoop() {
  setInterval(() => syncNow(false), TICK_MS);
  window.addEventListener('online', () => {
    syncNow(true);
    retryJoin();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow(false);
  });
}

// --- session ---------------------------------------------------------------------------------

async function setUser(user) {
  state.user = user;
  await kvSet('user', user);
  $('signed-in-as').textContent = T.signedInAs(user);
  const sync = await outbox.syncState();
  if (sync.auth_required) {
    await kvSet('sync', { ...sync, auth_required: false, next_attempt_at: 0 });
  }
  banner(null);
}

async function showSignin(note = '') {
  state.user = null;
  const waiting = await outbox.pendingCount();
  const text = [note, waiting ? T.waiting(waiting) : ''].filter(Boolean).join(' ');
  $('signin-note').textContent = text;
  $('signin-note').hidden = !text;
  show('signin');
  $('signin-email').focus();
}

function signInAgain() {
  banner(null);
  showSignin(T.sessionEnded);
}

async function onSignin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type="submit"]');
  $('signin-error').textContent = '';
  button.disabled = true;
  try {
    const data = await api('/auth/login', {
      method: 'POST',
      body: { email: form.elements.email.value.trim(), password: form.elements.password.value },
    });
    form.elements.password.value = '';
    await setUser(data.user);
    await enterApp();
    syncNow(true);
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) $('signin-error').textContent = T.signinOffline;
    else if (err instanceof ApiError && (err.status === 401 || err.status === 422)) $('signin-error').textContent = T.signinFailed;
    else $('signin-error').textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

// The server is the judge of the session; offline we trust the cached user.
async function verifySession() {
  try {
    const data = await api('/me');
    await setUser(data.user);
    return 'ok';
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return 'signed-out';
    return 'unknown';
  }
}

async function signOut() {
  const count = await outbox.pendingCount();
  if (count > 0 && !(await confirmSignout(count))) return;
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch {
    // Offline: the cookie stays, but this phone forgets the user.
  }
  await kvDelete('user');
  await kvDelete('current_event_id');
  state.event = null;
  showSignin();
}

// Two separate confirmations before leads are left without anyone to send them.
function confirmSignout(count) {
  const dialog = $('signout-dialog');
  const confirm = $('signout-confirm');
  let step = 1;
  $('signout-text').textContent = T.signoutStep1(count);
  confirm.textContent = T.signoutAnyway;
  return new Promise((resolve) => {
    const finish = (value) => {
      confirm.onclick = null;
      $('signout-cancel').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    confirm.onclick = () => {
      if (step === 1) {
        step = 2;
        $('signout-text').textContent = T.signoutStep2(count);
        confirm.textContent = T.signoutReally;
        $('signout-cancel').focus();
        return;
      }
      finish(true);
    };
    $('signout-cancel').onclick = () => finish(false);
    dialog.onclose = () => finish(false);
    dialog.showModal();
    $('signout-cancel').focus();
  });
}

// --- events -------------------------------------------------------------------------------------

async function loadEvent(id) {
  const cached = await get(STORES.events, id);
  if (cached) {
    refreshEvent(id); // in the background
    return cached;
  }
  return refreshEvent(id);
}

async function refreshEvent(id) {
  try {
    const event = await api(`/events/${id}`);
    await put(STORES.events, { ...event, cached_at: new Date().toISOString() });
    if (state.event && state.event.id === event.id && state.capture.isEmpty()) {
      state.event = event;
      renderEvent(event);
    }
    return event;
  } catch {
    return null;
  }
}

function renderEvent(event) {
  $('event-name').textContent = event.name;
  state.capture.setEvent(event);
  renderBrief(event.brief);
  const events = (state.user && state.user.events) || [];
  $('event-switch').hidden = events.length < 2;
  $('event-select').replaceChildren(
    ...events.map((e) => {
      const option = document.createElement('option');
      option.value = String(e.id);
      option.textContent = e.name;
      option.selected = e.id === event.id;
      return option;
    }),
  );
}

// The brief is what marketing promised visitors: { offer, promo_conditions, talking_points }.
function renderBrief(brief) {
  const parts = typeof brief === 'string'
    ? [['', brief]]
    : Object.entries(T.briefParts).map(([key, label]) => [label, (brief && brief[key]) || '']);
  const shown = parts.filter(([, text]) => String(text).trim());
  const list = document.createElement('dl');
  for (const [label, text] of shown) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = text;
    list.append(dt, dd);
  }
  $('brief-text').replaceChildren(list);
  $('brief').hidden = shown.length === 0;
}

async function useEvent(id) {
  const event = await loadEvent(id);
  if (!event) {
    showEvents(T.eventOffline);
    return false;
  }
  state.event = event;
  await kvSet('current_event_id', event.id);
  renderEvent(event);
  show('capture');
  return true;
}

function showEvents(note) {
  const events = (state.user && state.user.events) || [];
  $('events-note').textContent = note || (events.length ? T.pickEvent : T.noEvents);
  $('events-list').replaceChildren(
    ...events.map((e) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'button secondary wide';
      button.textContent = e.name;
      button.addEventListener('click', () => useEvent(e.id));
      li.append(button);
      return li;
    }),
  );
  show('events');
}

async function joinPending() {
  const token = await kvGet('pending_join');
  if (!token) return null;
  try {
    const data = await api('/join', { method: 'POST', body: { token } });
    await kvDelete('pending_join');
    const event = data.event || data;
    const events = state.user.events || [];
    if (!events.some((e) => e.id === event.id)) {
      await setUser({ ...state.user, events: [...events, { id: event.id, name: event.name }] });
    }
    if (event.questions) await put(STORES.events, { ...event, cached_at: new Date().toISOString() });
    toast(T.joined(event.name));
    return event.id;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      await kvDelete('pending_join');
      banner(T.joinBad);
    } else if (err instanceof ApiError && err.status === 401) {
      showSignin(T.joinFirst);
      return 'signin';
    } else {
      banner(T.joinOffline);
    }
    return null;
  }
}

// A join scanned while offline is tried again when the network is back.
async function retryJoin() {
  if (!state.user || !(await kvGet('pending_join'))) return;
  const joined = await joinPending();
  if (joined && joined !== 'signin') {
    banner(null);
    await useEvent(joined);
  }
}

async function enterApp() {
  const joined = await joinPending();
  if (joined === 'signin') return;
  const events = state.user.events || [];
  const saved = await kvGet('current_event_id');
  const id = joined || (events.some((e) => e.id === saved) ? saved : null) || (events.length === 1 ? events[0].id : null);
  if (id && (await useEvent(id))) return;
  if (!id) showEvents();
}

// --- capture -------------------------------------------------------------------------------------

async function onSave(event) {
  event.preventDefault();
  const started = performance.now();
  const capture = state.capture;
  $('capture-error').textContent = '';
  if (capture.isEmpty()) {
    $('capture-error').textContent = T.nothingToSave;
    return;
  }
  const lead = capture.lead();
  try {
    await outbox.addLead(lead);
  } catch (err) {
    $('capture-error').textContent = T.storeFailed(err && err.message ? err.message : String(err));
    return;
  }
  perf.lastSaveMs = performance.now() - started;
  perf.saveTimes.push(perf.lastSaveMs);
  capture.reset();
  $('badge-note').hidden = true;
  window.scrollTo(0, 0);
  $('f-first_name').focus({ preventScroll: true });
  const count = await refreshCounts();
  toast(T.saved(count));
  setTimeout(async () => {
    await outbox.requestBackgroundSync(state.registration);
    const result = await syncNow(true);
    if (result.status === 'ok') refreshCounts();
  }, 0);
}

let scanAbort = null;
async function openScanner() {
  const dialog = $('scanner');
  const status = $('scanner-status');
  scanAbort = new AbortController();
  dialog.showModal();
  try {
    const text = await scanCode($('scanner-video'), {
      signal: scanAbort.signal,
      onStatus: (message) => {
        status.textContent = message;
      },
    });
    if (text !== null) {
      const note = state.capture.applyBadge(parseBadge(text));
      $('badge-note').textContent = note;
      $('badge-note').hidden = false;
      dialog.close();
      $('f-first_name').focus();
    }
  } catch (err) {
    status.textContent = err.message;
  }
}

function closeScanner() {
  if (scanAbort) scanAbort.abort();
  if ($('scanner').open) $('scanner').close();
}

// --- start ------------------------------------------------------------------------------------------

function wire() {
  state.capture = new CaptureForm($('capture-form'));
  $('signin-form').addEventListener('submit', onSignin);
  $('capture-form').addEventListener('submit', onSave);
  $('scan-button').addEventListener('click', openScanner);
  $('scanner-cancel').addEventListener('click', closeScanner);
  $('scanner').addEventListener('close', () => scanAbort && scanAbort.abort());
  $('signout').addEventListener('click', signOut);
  $('sync-now').addEventListener('click', async () => {
    await syncNow(true);
    refreshToday();
  });
  $('unsynced').addEventListener('click', () => state.user && state.event && show('today'));
  $('event-select').addEventListener('change', (e) => useEvent(Number(e.target.value)));
  for (const tab of document.querySelectorAll('#tabbar button')) {
    tab.addEventListener('click', () => {
      show(tab.dataset.screen);
      if (tab.dataset.screen === 'today') refreshRouting();
    });
  }
  outbox.onChange(() => refreshCounts());
}

async function persistStorage() {
  try {
    if (navigator.storage && navigator.storage.persist && !(await navigator.storage.persisted())) {
      await navigator.storage.persist();
    }
  } catch {
    // Not granted: IndexedDB still works, the browser may just evict it under pressure.
  }
}

async function start() {
  window.__leadrelay = {
    perf,
    get lastSaveMs() {
      return perf.lastSaveMs;
    },
    sync: () => syncNow(true),
    pendingCount: () => outbox.pendingCount(),
    ready: false,
  };
  wire();
  registerServiceWorker((apply) => {
    $('update-toast').hidden = false;
    $('update-reload').onclick = () => {
      state.capture.saveDraft();
      apply();
    };
  })
    .then((registration) => {
      state.registration = registration;
    })
    .catch((err) => console.warn('leadrelay: service worker not registered', err));
  persistStorage();

  const params = new URLSearchParams(window.location.search);
  if (params.has('join')) {
    await kvSet('pending_join', params.get('join'));
    history.replaceState(null, '', window.location.pathname);
  }

  outbox.pruneCaptures().catch(() => {});
  const cached = await kvGet('user');
  if (cached) {
    await setUser(cached);
    await enterApp();
    verifySession().then(async (result) => {
      if (result !== 'signed-out') return;
      await kvDelete('user');
      showSignin(T.sessionEnded);
    });
  } else if ((await verifySession()) === 'ok') {
    await enterApp();
  } else {
    const pendingJoin = await kvGet('pending_join');
    await showSignin(pendingJoin ? T.joinFirst : '');
  }
  await refreshCounts();
  startSyncLoop();
  syncNow(true);
  window.__leadrelay.ready = true;
  document.documentElement.dataset.ready = 'true';
}

start().catch((err) => {
  console.error('leadrelay: start failed', err);
  banner(`The app could not start: ${err && err.message ? err.message : err}`);
});
