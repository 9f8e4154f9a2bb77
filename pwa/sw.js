// LeadRelay booth app service worker (a module worker, scope /app/).
//
// The app shell is precached under a name versioned by its contents and served
// cache-first, so the app opens with no network after its first visit. The API is never
// cached. A new version waits until the page asks for it (the user tapped "Reload"): no
// code is swapped under an open form. Background Sync posts the outbox from IndexedDB
// itself, then the card photos and voice notes of the leads it confirmed.

import { syncOutbox, SYNC_TAG } from './js/outbox.js';
import { sendPending } from './js/attachments.js';

// The server (backend/pwa_views.py) serves this file with VERSION replaced by a hash of
// the files this worker caches (SHELL, ATTACHMENTS and SCANNER below, as the install
// handler lists them): changing any of them renames the cache, so phones fetch the new
// shell and offer the update. Never bump it by hand.
const VERSION = 'v-dev';
const CACHE_PREFIX = 'leadrelay-shell-';
const SHELL_CACHE = `${CACHE_PREFIX}${VERSION}`;

const SHELL = [
  '/app/',
  '/app/manifest.webmanifest',
  '/app/css/app.css',
  '/app/js/app.js',
  '/app/js/i18n.js',
  '/app/i18n/en.json',
  '/app/i18n/ru.json',
  '/app/js/api.js',
  '/app/js/db.js',
  '/app/js/outbox.js',
  '/app/js/badge.js',
  '/app/js/capture.js',
  '/app/js/countries.js',
  '/app/js/scanner.js',
  '/app/js/today.js',
  '/app/js/duplicates.js',
  '/app/js/attendees.js',
  '/app/js/sw-register.js',
  '/app/icons/icon-192.png',
  '/app/icons/icon-512.png',
  '/app/icons/icon-maskable-512.png',
];

// The badge decoder: loaded only when the scanner opens, but fetched at install too, so the
// phone can scan offline. Not part of the shell's size budget.
const SCANNER = [
  '/app/vendor/zxing-wasm/es/reader/index.js',
  '/app/vendor/zxing-wasm/es/share.js',
  '/app/vendor/zxing-wasm/reader/zxing_reader.wasm',
];

// Card photos and voice notes: loaded after the shell's first paint, precached so they work
// offline. Not part of the shell's size budget either.
const ATTACHMENTS = [
  '/app/js/attachments.js',
  '/app/js/attachment-ui.js',
  '/app/js/media.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll([...SHELL, ...ATTACHMENTS, ...SCANNER].map((url) => new Request(url, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== SHELL_CACHE).map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return; // network only, never cached
  if (!url.pathname.startsWith('/app/')) return;
  if (request.mode === 'navigate' && (url.pathname === '/app/' || url.pathname === '/app/index.html')) {
    // Every page of the app is the one shell; ?join=… is read by the page.
    event.respondWith(fromShell('/app/', request));
    return;
  }
  event.respondWith(fromShell(url.pathname, request));
});

async function fromShell(key, request) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(key, { ignoreSearch: true });
  return hit || fetch(request);
}

self.addEventListener('sync', (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    syncOutbox({ wait: true, force: true }).then(async (result) => {
      // Rejecting asks the browser to retry later; a lost session will not fix itself.
      if (result.status === 'failed') throw new Error(result.error.key);
      // Files go after their leads; one that fails waits for the page or the next sync.
      await sendPending().catch(() => null);
    }),
  );
});
