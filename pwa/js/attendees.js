// The organiser's attendee list of each event, kept on the phone so a scanned badge id
// fills the form offline. Fetched when an event is opened; a failed fetch keeps the last copy.

import { api } from './api.js';
import { STORES, req, transact } from './db.js';

const keyOf = (eventId, badgeId) => `${eventId}:${String(badgeId).trim().toUpperCase()}`;

/** Fetch the event's list and replace the copy on the phone; resolves how many, or null offline. */
export async function refreshAttendees(eventId) {
  let data;
  try {
    data = await api(`/events/${eventId}/attendees`);
  } catch {
    return null;
  }
  const rows = data.attendees || [];
  await transact([STORES.attendees], 'readwrite', async (tx) => {
    const store = tx.objectStore(STORES.attendees);
    const old = await req(store.index('event_id').getAllKeys(eventId));
    for (const key of old) store.delete(key);
    for (const row of rows) store.put({ ...row, event_id: eventId, key: keyOf(eventId, row.badge_id) });
  });
  return rows.length;
}

/** The attendee with `badgeId` on the event's list (case-insensitive), or null. */
export async function findAttendee(eventId, badgeId) {
  if (!badgeId) return null;
  const row = await transact([STORES.attendees], 'readonly', (tx) => req(tx.objectStore(STORES.attendees).get(keyOf(eventId, badgeId))));
  if (!row) return null;
  const { key, event_id: _event, badge_id: _badge, ...fields } = row;
  return fields;
}
