// The booth app's one IndexedDB database, shared by the page and the service worker.
//
// Upgrades go step by step from whatever version the phone has. A store is never
// dropped: the outbox may hold the only copy of a lead.

export const DB_NAME = 'leadrelay';
export const DB_VERSION = 3;

export const STORES = {
  outbox: 'outbox', // leads not yet confirmed by the server, keyed by client_id
  kv: 'kv', // small settings: signed-in user, current event, sync state, lock lease
  events: 'events', // event details cached for offline capture
  captures: 'captures', // what was captured on this phone and what became of it
  attendees: 'attendees', // organisers' attendee lists, keyed "<event_id>:<BADGE ID>"
};

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    const outbox = db.createObjectStore(STORES.outbox, { keyPath: 'client_id' });
    outbox.createIndex('created_at', 'created_at');
    db.createObjectStore(STORES.kv, { keyPath: 'key' });
  }
  if (oldVersion < 2) {
    db.createObjectStore(STORES.events, { keyPath: 'id' });
    const captures = db.createObjectStore(STORES.captures, { keyPath: 'client_id' });
    captures.createIndex('captured_at', 'captured_at');
  }
  if (oldVersion < 3) {
    const attendees = db.createObjectStore(STORES.attendees, { keyPath: 'key' });
    attendees.createIndex('event_id', 'event_id');
  }
}

/**
 * A function that opens (and upgrades) database `name` once per context and hands out the
 * same connection after; it rejects if IndexedDB is unavailable. The attachments module
 * opens its own database with it.
 */
export function opener(name, version, upgradeFn) {
  let opening = null;
  return function open() {
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(name, version);
      request.onupgradeneeded = (event) => upgradeFn(request.result, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        // Another tab (or a new service worker) wants a newer schema: let it have it.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
      request.onblocked = () => console.warn(`leadrelay: ${name} upgrade waits for another tab`);
    });
    return opening;
  };
}

/** Open (and upgrade) the app's database once per context. */
export const openDb = opener(DB_NAME, DB_VERSION, upgrade);

/** Wrap an IDBRequest in a promise. */
export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Resolve when a transaction commits, reject when it aborts. */
export function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new DOMException('Transaction aborted', 'AbortError'));
    tx.onerror = () => reject(tx.error);
  });
}

/** Run `work(tx)` in one transaction over `stores`; resolves with its result after commit. */
export async function transact(stores, mode, work) {
  const db = await openDb();
  const tx = db.transaction(stores, mode);
  const committed = done(tx);
  const result = await work(tx);
  await committed;
  return result;
}

export async function kvGet(key, fallback = null) {
  const row = await transact([STORES.kv], 'readonly', (tx) => req(tx.objectStore(STORES.kv).get(key)));
  return row ? row.value : fallback;
}

export function kvSet(key, value) {
  return transact([STORES.kv], 'readwrite', (tx) => {
    tx.objectStore(STORES.kv).put({ key, value });
  });
}

export function kvDelete(key) {
  return transact([STORES.kv], 'readwrite', (tx) => {
    tx.objectStore(STORES.kv).delete(key);
  });
}

export function getAll(store) {
  return transact([store], 'readonly', (tx) => req(tx.objectStore(store).getAll()));
}

export function put(store, value) {
  return transact([store], 'readwrite', (tx) => {
    tx.objectStore(store).put(value);
  });
}

export function get(store, key) {
  return transact([store], 'readonly', (tx) => req(tx.objectStore(store).get(key)));
}
