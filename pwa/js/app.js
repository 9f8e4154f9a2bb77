// The booth app: sign in, join an event, capture leads offline-first, see today's leads.

import { api, ApiError } from './api.js';
import { STORES, kvGet, kvSet, kvDelete, get, put } from './db.js';
import * as outbox from './outbox.js';
import { parseBadge } from './badge.js';
import { CaptureForm } from './capture.js';
import { findDuplicate } from './duplicates.js';
import { findAttendee, refreshAttendees } from './attendees.js';
import { renderToday } from './today.js';
import { registerServiceWorker } from './sw-register.js';
import {
  browserLanguage, formatNumber, formatTime, language, onLanguageChange, plain, say, sayAttr, setLanguage, supported, t,
  wireSwitcher,
} from './i18n.js';

const LANGUAGE_KEY = 'leadrelay-lang';
const BRIEF_PARTS = { offer: 'brief.offer', promo_conditions: 'brief.promo_conditions', talking_points: 'brief.talking_points' };

const TICK_MS = 20_000;
const $ = (id) => document.getElementById(id);
const state = { user: null, event: null, registration: null, screen: null, capture: null, signinNote: '' };
const perf = { lastSaveMs: null, saveTimes: [], lastScanMs: null, scanTimes: [] };

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
  $('brief-button').classList.toggle('off-screen', screen !== 'capture' && screen !== 'today');
  if (screen === 'today') refreshToday();
}

// `message`: { key, params } or null (hides the banner); `action`: { key, run }.
function banner(message, action = null) {
  $('banner').hidden = !message;
  if (message) say($('banner-text'), message.key, message.params);
  else plain($('banner-text'), '');
  const button = $('banner-action');
  button.hidden = !action;
  if (action) {
    say(button, action.key);
    button.onclick = action.run;
  }
}

let toastTimer = null;
function toast(key, params) {
  const node = $('saved-toast');
  say(node, key, params);
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
  badge.textContent = formatNumber(count);
  sayAttr(badge, 'aria-label', 'app.unsent', { count });
  badge.classList.toggle('zero', count === 0);
  // Nothing waiting needs no bubble (a bare "0" on the sign-in screen explained nothing).
  badge.hidden = count === 0;
  const sync = await outbox.syncState();
  if (sync.auth_required && state.user) {
    banner({ key: 'signin.sessionEnded' }, { key: 'signin.submit', run: () => signInAgain() });
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
  const filter = {
    query: $('today-search').value,
    rating: (document.querySelector('input[name="today-rating"]:checked') || {}).value || '',
  };
  const shown = renderToday($('today-list'), captures, byId, {
    onRetry: async (clientId) => {
      await outbox.retryRejected(clientId);
      syncNow(true);
    },
    onOpen: (row) => startEditing(row),
    filter,
  });
  $('today-empty').hidden = captures.length > 0;
  $('today-nomatch').hidden = !captures.length || shown > 0;
  const rejected = entries.filter((e) => e.state === 'rejected').length;
  const queued = entries.length - rejected;
  const onServer = captures.filter((row) => !byId.has(row.client_id)).length;
  // Waiting for a network is the normal state at a show: say the leads are safe, not why
  // the last try failed. Only a rejection needs someone to act.
  let status;
  if (queued && sync.last_error_kind === 'auth') {
    status = t('today.waitingSignin', { count: queued });
  } else if (queued && sync.last_error_kind === 'http') {
    status = t('today.waitingServer', { count: queued });
  } else if (queued && sync.last_error) {
    status = t('today.waitingOffline', { count: queued });
  } else if (queued) {
    status = t('today.sending', { count: queued });
  } else if (rejected) {
    status = t('today.nothingQueued');
  } else if (onServer) {
    status = t('today.allOnServer', { count: onServer });
  } else {
    status = t('today.allSent');
  }
  plain($('sync-status'), status);
  const problem = $('sync-problem');
  problem.hidden = !rejected;
  if (rejected) say(problem, 'today.rejectedCount', { count: rejected });
  $('sync-status').classList.toggle('calm', Boolean(queued));
}

// Leads the server took but had not routed yet: ask once more when the list is open.
async function refreshRouting() {
  const rows = (await outbox.capturesToday()).filter((r) => r.state === 'sent' && r.lead_id).slice(0, 20);
  for (const row of rows) {
    try {
      const lead = await api(`/leads/${row.lead_id}`);
      if (lead.office) {
        await outbox.updateCapture(row.client_id, {
          state: 'routed', office: lead.office, routing: lead.routing || null, status: lead.status, flags: lead.flags || [],
        });
      }
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
  // Then the files of confirmed leads (some may wait even when no lead does).
  if (result.status === 'ok' || result.status === 'empty') sendAttachments();
  return result;
}

function startSyncLoop() {
  setInterval(() => syncNow(false), TICK_MS);
  window.addEventListener('online', () => {
    syncNow(true); // sends the attachments after the leads
    retryJoin();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow(false);
  });
}

// --- card photos and voice notes (attachment-ui.js: loaded after the shell, precached) ---------

const attachmentUi = () => import('./attachment-ui.js');

/** Show "Photo of card" and "Voice note" for the lead on the form (new, or being corrected). */
function mountExtras() {
  const eventId = () => (state.event ? state.event.id : null);
  attachmentUi()
    .then((ui) => ui.showForCapture($('capture-extras'), state.capture, eventId))
    .catch((err) => console.warn('leadrelay: attachments not loaded', err));
}

/** Send the files whose leads the server has confirmed (after each sync, on start, online). */
function sendAttachments() {
  return attachmentUi()
    .then((ui) => ui.sendAttachments())
    .catch((err) => console.warn('leadrelay: attachments not sent', err));
}

// --- session ---------------------------------------------------------------------------------

async function setUser(user) {
  state.user = user;
  await kvSet('user', user);
  const who = { name: user.name || user.email, office: user.office ? user.office.name : '' };
  say($('signed-in-as'), user.office ? 'today.signedInAsOffice' : 'today.signedInAs', who);
  // The profile's language, unless someone chose one on this phone.
  const profile = supported(user.language);
  if (profile && !storedLanguage() && profile !== language()) await setLanguage(profile);
  const sync = await outbox.syncState();
  if (sync.auth_required) {
    await kvSet('sync', { ...sync, auth_required: false, next_attempt_at: 0 });
  }
  banner(null);
}

// `note`: a message key shown above the form (with how many leads wait on the phone).
async function showSignin(note = '') {
  state.user = null;
  state.signinNote = note;
  await renderSigninNote();
  show('signin');
  $('signin-email').focus();
}

async function renderSigninNote() {
  const waiting = await outbox.pendingCount();
  const text = [
    state.signinNote ? t(state.signinNote) : '',
    waiting ? t('signin.waiting', { count: waiting }) : '',
  ].filter(Boolean).join(' ');
  plain($('signin-note'), text);
  $('signin-note').hidden = !text;
}

function signInAgain() {
  banner(null);
  showSignin('signin.sessionEnded');
}

async function onSignin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type="submit"]');
  plain($('signin-error'), '');
  button.disabled = true;
  try {
    const data = await api('/auth/login', {
      method: 'POST',
      body: { email: form.elements.email.value.trim(), password: form.elements.password.value },
    });
    form.elements.password.value = '';
    // Whoever signs in now gets their profile's language on this phone.
    const profile = supported(data.user.language);
    if (profile) {
      storeLanguage(profile);
      if (profile !== language()) await setLanguage(profile);
    }
    await setUser(data.user);
    await enterApp();
    syncNow(true);
    const granted = await persistStorage();
    if (granted !== null) toast(granted ? 'storage.persisted' : 'storage.notPersisted');
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) say($('signin-error'), 'signin.offline');
    else if (err instanceof ApiError && (err.status === 401 || err.status === 422)) say($('signin-error'), 'signin.failed');
    else plain($('signin-error'), err.message);
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
  const files = await attachmentUi()
    .then(({ unsentWarning }) => unsentWarning())
    .catch(() => '');
  if ((count > 0 || files) && !(await confirmSignout(count, files))) return;
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
function confirmSignout(count, files = '') {
  const dialog = $('signout-dialog');
  const confirm = $('signout-confirm');
  let step = 1;
  const ask = (key) => {
    if (count > 0) say($('signout-text'), key, { count });
    else plain($('signout-text'), '');
    $('signout-text').hidden = count === 0;
    plain($('signout-files'), files ? `${files}.` : '');
    $('signout-files').hidden = !files;
  };
  ask('signout.step1');
  say(confirm, 'signout.anyway');
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
        ask('signout.step2');
        say(confirm, 'signout.really');
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
  mountExtras();
  renderBrief(event);
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

// The brief is what marketing promised visitors: { offer, promo_conditions, talking_points },
// in the staff's language where the event has it (`briefs[lang]`), else the default's.
function renderBrief(event) {
  const brief = event.brief;
  const own = (event.briefs && event.briefs[language()]) || {};
  const parts = typeof brief === 'string'
    ? [['', (typeof own === 'string' && own) || brief]]
    : Object.entries(BRIEF_PARTS).map(([part, key]) => [key, own[part] || (brief && brief[part]) || '']);
  const shown = parts.filter(([, text]) => String(text).trim());
  const list = document.createElement('dl');
  for (const [key, text] of shown) {
    const dt = document.createElement('dt');
    if (key) say(dt, key);
    const dd = document.createElement('dd');
    dd.textContent = text;
    list.append(dt, dd);
  }
  $('brief-text').replaceChildren(list);
  $('brief-button').hidden = shown.length === 0;
}

async function useEvent(id) {
  const event = await loadEvent(id);
  if (!event) {
    showEvents('events.offline');
    return false;
  }
  state.event = event;
  await kvSet('current_event_id', event.id);
  renderEvent(event);
  refreshAttendees(event.id); // in the background: the list for badge ids
  show('capture');
  return true;
}

function showEvents(note) {
  const events = (state.user && state.user.events) || [];
  say($('events-note'), note || (events.length ? 'events.pick' : 'events.none'));
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
    toast('events.joined', { name: event.name });
    return event.id;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 410)) {
      await kvDelete('pending_join');
      // 410: the code was replaced by a newer one (the organiser rotated it).
      banner({ key: err.status === 410 ? 'events.joinReplaced' : 'events.joinBad' });
    } else if (err instanceof ApiError && err.status === 401) {
      showSignin('events.joinFirst');
      return 'signin';
    } else {
      banner({ key: 'events.joinOffline' });
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

// --- the duplicate warning ---------------------------------------------------------------------

let duplicateTimer = null;
let duplicateDismissed = '';

function checkDuplicate() {
  clearTimeout(duplicateTimer);
  duplicateTimer = setTimeout(async () => {
    const capture = state.capture;
    const values = capture.values();
    const key = `${values.email}|${values.phone}`;
    const box = $('duplicate');
    const row = key !== '|' && key !== duplicateDismissed
      ? findDuplicate(values, await outbox.capturesToday(), capture.editing && capture.editing.client_id)
      : null;
    box.hidden = !row;
    if (!row) return box.replaceChildren();
    const text = document.createElement('p');
    say(text, 'duplicate.found', { time: formatTime(row.captured_at), name: row.name || t('today.unnamed') });
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'button small secondary';
    say(open, 'duplicate.open');
    open.addEventListener('click', () => {
      hideDuplicate();
      startEditing(row);
    });
    const anyway = document.createElement('button');
    anyway.type = 'button';
    anyway.className = 'button small secondary';
    say(anyway, 'duplicate.saveAnyway');
    anyway.addEventListener('click', () => {
      duplicateDismissed = key;
      hideDuplicate();
      $('capture-form').requestSubmit();
    });
    const actions = document.createElement('div');
    actions.className = 'actions';
    actions.append(open, anyway);
    box.replaceChildren(text, actions);
  }, 200);
}

function hideDuplicate() {
  clearTimeout(duplicateTimer);
  $('duplicate').hidden = true;
  $('duplicate').replaceChildren();
}

function startEditing(row) {
  state.capture.edit(row);
  say($('edit-text'), 'edit.editing', { name: row.name || t('today.unnamed'), time: formatTime(row.captured_at) });
  $('edit-bar').hidden = false;
  mountExtras(); // photos and voice notes for the saved lead
  say($('save-lead'), 'edit.save');
  plain($('capture-error'), '');
  show('capture');
  window.scrollTo(0, 0);
  $('f-first_name').focus({ preventScroll: true });
}

function stopEditing(goTo = 'today') {
  state.capture.stopEditing();
  hideDuplicate();
  $('edit-bar').hidden = true;
  mountExtras();
  say($('save-lead'), 'capture.save');
  show(goTo);
}

async function onSaveEdit() {
  const capture = state.capture;
  const changes = capture.changes();
  if (!Object.keys(changes).length) {
    say($('capture-error'), 'edit.nothing');
    return;
  }
  const outcome = await outbox.editLead(capture.editing.client_id, changes);
  stopEditing('today');
  toast(outcome === 'queued' ? 'edit.savedQueued' : 'edit.savedCorrection');
  setTimeout(() => syncNow(true).then(() => refreshCounts()), 0);
}

async function onSave(event) {
  event.preventDefault();
  const started = performance.now();
  const capture = state.capture;
  plain($('capture-error'), '');
  if (capture.editing) {
    await onSaveEdit();
    return;
  }
  if (capture.isEmpty(capture.values(), false)) {
    say($('capture-error'), 'capture.nothingToSave');
    return;
  }
  const lead = capture.lead();
  try {
    await outbox.addLead(lead);
  } catch (err) {
    say($('capture-error'), 'capture.storeFailed', { message: err && err.message ? err.message : String(err) });
    return;
  }
  perf.lastSaveMs = performance.now() - started;
  perf.saveTimes.push(perf.lastSaveMs);
  capture.reset();
  capture.newVisitor(); // the saved lead keeps its files; the next visitor starts a new id
  mountExtras();
  hideDuplicate();
  duplicateDismissed = '';
  $('badge-note').hidden = true;
  window.scrollTo(0, 0);
  $('f-first_name').focus({ preventScroll: true });
  const count = await refreshCounts();
  toast(count ? 'capture.savedPending' : 'capture.saved', { count });
  setTimeout(async () => {
    await outbox.requestBackgroundSync(state.registration);
    const result = await syncNow(true);
    if (result.status === 'ok') refreshCounts();
  }, 0);
}

// The scanner module (and its ~1 MB decoder) loads only when someone scans.
const scanner = () => import('./scanner.js');

async function applyScanned(text) {
  const parsed = parseBadge(text);
  const attendee = parsed.badge_id && state.event ? await findAttendee(state.event.id, parsed.badge_id).catch(() => null) : null;
  const note = state.capture.applyBadge(parsed, attendee);
  say($('badge-note'), note.key, note.params);
  $('badge-note').hidden = false;
  checkDuplicate();
  if ($('scanner').open) $('scanner').close();
  $('f-first_name').focus();
}

let scanAbort = null;
async function openScanner() {
  const dialog = $('scanner');
  const status = $('scanner-status');
  scanAbort = new AbortController();
  dialog.showModal();
  say(status, 'scanner.starting');
  try {
    const { scanCode } = await scanner();
    const text = await scanCode($('scanner-video'), {
      signal: scanAbort.signal,
      onStatus: (key) => say(status, key),
    });
    if (text !== null) await applyScanned(text);
  } catch (err) {
    say(status, err && err.key ? err.key : 'scanner.failed');
    dialog.classList.add('no-camera');
  }
}

// A photo of the badge: the way forward without a camera (and how tests drive the scanner).
async function onPhoto(event) {
  const input = event.currentTarget;
  const file = input.files && input.files[0];
  input.value = '';
  if (!file) return;
  const started = performance.now();
  const inDialog = $('scanner').open;
  const status = inDialog ? $('scanner-status') : $('badge-note');
  say(status, 'scanner.reading');
  status.hidden = false;
  let text = null;
  try {
    const { decodeFile } = await scanner();
    text = await decodeFile(file);
  } catch (err) {
    console.warn('leadrelay: photo not decoded', err);
    say(status, 'scanner.loadFailed');
    return;
  }
  if (text) await applyScanned(text);
  else say(status, 'scanner.noCode');
  // Photo picked → form filled (decoding, attendee lookup): the bench reads these.
  perf.lastScanMs = performance.now() - started;
  perf.scanTimes.push(perf.lastScanMs);
}

function closeScanner() {
  if (scanAbort) scanAbort.abort();
  if ($('scanner').open) $('scanner').close();
}

// --- language -------------------------------------------------------------------------------------
// Chosen on this phone (the EN / RU switcher) first, else the user's profile, else the
// browser's languages, else English. Signing in with a profile language resets the choice.

function storedLanguage() {
  try {
    return supported(localStorage.getItem(LANGUAGE_KEY));
  } catch {
    return null;
  }
}

function storeLanguage(code) {
  try {
    localStorage.setItem(LANGUAGE_KEY, code);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

async function startLanguage(user) {
  await setLanguage(storedLanguage() || supported(user && user.language) || browserLanguage() || 'en');
  await outbox.rememberLanguage(language());
  wireSwitcher(document.querySelector('.topbar .lang-switch'), async (code) => {
    storeLanguage(code);
    await setLanguage(code);
  });
  // Texts marked with data-i18n follow by themselves; composed ones are drawn again.
  onLanguageChange((code) => {
    outbox.rememberLanguage(code);
    refreshCounts();
    if (state.event) renderBrief(state.event);
    if (state.screen === 'signin') renderSigninNote();
  });
}

// --- start ------------------------------------------------------------------------------------------

function wire() {
  state.capture = new CaptureForm($('capture-form'));
  $('signin-form').addEventListener('submit', onSignin);
  $('capture-form').addEventListener('submit', onSave);
  $('scan-button').addEventListener('click', openScanner);
  $('scanner-cancel').addEventListener('click', closeScanner);
  $('scanner-type').addEventListener('click', () => {
    closeScanner();
    $('f-first_name').focus();
  });
  $('photo-input').addEventListener('change', onPhoto);
  $('scanner-photo').addEventListener('change', onPhoto);
  $('brief-button').addEventListener('click', () => $('brief-dialog').showModal());
  $('edit-cancel').addEventListener('click', () => stopEditing('today'));
  for (const id of ['f-email', 'f-phone']) $(id).addEventListener('input', checkDuplicate);
  $('today-search').addEventListener('input', () => refreshToday());
  $('today-rating').addEventListener('change', () => refreshToday());
  $('brief-close').addEventListener('click', () => $('brief-dialog').close());
  $('scanner').addEventListener('close', () => {
    if (scanAbort) scanAbort.abort();
    $('scanner').classList.remove('no-camera');
  });
  $('signout').addEventListener('click', signOut);
  $('sync-now').addEventListener('click', async () => {
    await syncNow(true);
    refreshToday();
  });
  $('unsynced').addEventListener('click', () => state.user && state.event && show('today'));
  $('event-select').addEventListener('change', (e) => useEvent(Number(e.target.value)));
  for (const tab of document.querySelectorAll('#tabbar button')) {
    tab.addEventListener('click', () => {
      if (state.capture.editing && tab.dataset.screen === 'capture') return;
      if (state.capture.editing) {
        stopEditing(tab.dataset.screen);
        return;
      }
      show(tab.dataset.screen);
      if (tab.dataset.screen === 'today') refreshRouting();
    });
  }
  outbox.onChange(() => refreshCounts());
}

// Ask the browser to keep IndexedDB under storage pressure, and say what it answered.
async function persistStorage() {
  let granted = null;
  try {
    if (navigator.storage && navigator.storage.persist) {
      granted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
    }
  } catch {
    granted = false; // IndexedDB still works; the browser may evict it under pressure
  }
  await kvSet('storage_persisted', granted);
  showStorage(granted);
  return granted;
}

function showStorage(granted) {
  const note = $('storage-note');
  note.hidden = granted === null;
  if (granted !== null) say(note, granted ? 'storage.persisted' : 'storage.notPersisted');
}

// Safari on iOS (not installed to the home screen) deletes a site's storage after 7 days
// without use; installed, the app keeps it.
function iosSafariNotInstalled() {
  const ua = navigator.userAgent || '';
  const ios = /iP(hone|ad|od)/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  const safari = /Safari\//.test(ua) && !/(CriOS|FxiOS|EdgiOS|OPiOS)/.test(ua);
  const installed = navigator.standalone === true || matchMedia('(display-mode: standalone)').matches;
  return ios && safari && !installed;
}

function showIosNote() {
  const show = iosSafariNotInstalled();
  for (const id of ['ios-note', 'ios-signin-note']) {
    $(id).hidden = !show;
    if (show) say($(id), 'storage.iosSafari');
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
  const cached = await kvGet('user');
  await startLanguage(cached);
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
  showStorage(await kvGet('storage_persisted'));
  showIosNote();
  if (cached) persistStorage();

  const params = new URLSearchParams(window.location.search);
  if (params.has('join')) {
    await kvSet('pending_join', params.get('join'));
    history.replaceState(null, '', window.location.pathname);
  }

  outbox.pruneCaptures().catch(() => {});
  if (cached) {
    await setUser(cached);
    await enterApp();
    verifySession().then(async (result) => {
      if (result !== 'signed-out') return;
      await kvDelete('user');
      showSignin('signin.sessionEnded');
    });
  } else if ((await verifySession()) === 'ok') {
    await enterApp();
  } else {
    const pendingJoin = await kvGet('pending_join');
    await showSignin(pendingJoin ? 'events.joinFirst' : '');
  }
  await refreshCounts();
  startSyncLoop();
  syncNow(true);
  window.__leadrelay.ready = true;
  document.documentElement.dataset.ready = 'true';
}

start().catch((err) => {
  console.error('leadrelay: start failed', err);
  banner({ key: 'app.startFailed', params: { message: err && err.message ? err.message : String(err) } });
});
