// "Photo of card" and "Voice note" for the capture screen (or a saved lead): buttons, a
// recording timer with a stop button, and a line saying what happened. Files go to the
// attachments store under the lead's client_id and are sent after the lead.
//
// Wiring (done in capture.js, app.js, sw.js; kept here as the contract):
//   * capture.js: give the form its lead client_id when it opens (not only on save), then
//     mountAttachments(box, { leadClientId: () => id, form, eventId: () => event.id });
//     on a new visitor: destroy() and mount again with the next id; an abandoned form
//     calls discardForLead(id) (attachments.js). A saved lead's screen mounts it too.
//   * outbox.js / app.js: call sendAttachments() after each successful sync, on start and
//     on `online`; sw.js: the same from its Background Sync handler, and precache
//     /app/js/attachments.js, /app/js/attachment-ui.js and /app/js/media.js.
//   * app.js sign-out: add unsentWarning() to the unsent-leads question.

import { addAttachment, forLead, onChange, sendPending } from './attachments.js';
import { plain, say, t } from './i18n.js';
import { VOICE_MAX_SECONDS, VoiceRecorder, downscalePhoto, fillEmptyFields, readCard, voiceMimeType } from './media.js';

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([name, value]) => node.setAttribute(name, value));
  if (text) node.textContent = text;
  return node;
}

/** "1:05" for 65 seconds. */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/**
 * Put the two buttons into `container`.
 *   leadClientId(): the client_id the lead has (or will have when saved)
 *   form: the capture form, whose empty inputs a card read online fills in (optional)
 *   eventId(): the event, so phones on the card are read in its country (optional)
 * Returns { refresh, destroy }.
 */
export function mountAttachments(container, { leadClientId, form = null, eventId = () => null }) {
  const box = el('div', { class: 'attachments' });
  const photoInput = el('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: '' });
  photoInput.dataset.role = 'card-photo-input';
  const photoButton = el('button', { type: 'button', class: 'button secondary' });
  say(photoButton, 'att.cardPhoto');
  photoButton.dataset.role = 'card-photo';
  const voiceButton = el('button', { type: 'button', class: 'button secondary' });
  say(voiceButton, 'att.voice');
  voiceButton.dataset.role = 'voice-note';
  const stopButton = el('button', { type: 'button', class: 'button danger', hidden: '' });
  say(stopButton, 'att.stop');
  stopButton.dataset.role = 'voice-stop';
  const timer = el('span', { class: 'attachments-timer', role: 'timer', 'aria-live': 'off', hidden: '' });
  const status = el('p', { class: 'attachments-status', role: 'status', 'aria-live': 'polite' });
  const count = el('p', { class: 'attachments-count muted' });
  box.append(photoInput, photoButton, voiceButton, stopButton, timer, status, count);
  container.append(box);
  if (voiceMimeType() === null || !navigator.mediaDevices) voiceButton.hidden = true;

  let recorder = null;

  async function refresh() {
    const rows = await forLead(leadClientId());
    const hasFront = rows.some((row) => row.kind === 'card_front');
    say(photoButton, hasFront ? 'att.cardBackPhoto' : 'att.cardPhoto');
    if (rows.length) say(count, 'att.count', { count: rows.length });
    else plain(count, '');
  }

  photoButton.addEventListener('click', () => photoInput.click());
  photoInput.addEventListener('change', async () => {
    const file = photoInput.files && photoInput.files[0];
    photoInput.value = '';
    if (!file) return;
    try {
      const rows = await forLead(leadClientId());
      const kind = rows.some((row) => row.kind === 'card_front') ? 'card_back' : 'card_front';
      const blob = await downscalePhoto(file);
      await addAttachment(leadClientId(), kind, blob);
      say(status, 'att.reading');
      const reading = kind === 'card_front' ? await readCard(blob, eventId()) : null;
      if (reading && form) {
        const filled = fillEmptyFields(form, reading.fields);
        say(status, 'att.read', { count: filled.length });
      } else {
        say(status, 'att.readLater');
      }
    } catch (err) {
      say(status, 'att.photoFailed', { message: err.message || String(err) });
    }
    refresh();
  });

  voiceButton.addEventListener('click', async () => {
    recorder = new VoiceRecorder({
      onTick: (seconds) => {
        timer.textContent = t('att.recording', { time: clock(seconds), max: clock(VOICE_MAX_SECONDS) });
        if (seconds >= VOICE_MAX_SECONDS) stopButton.click();
      },
    });
    try {
      await recorder.start();
    } catch {
      recorder = null;
      say(status, 'att.noMic');
      return;
    }
    voiceButton.hidden = true;
    photoButton.disabled = true;
    stopButton.hidden = false;
    timer.hidden = false;
    stopButton.focus();
  });

  stopButton.addEventListener('click', async () => {
    if (!recorder) return;
    const current = recorder;
    recorder = null;
    stopButton.hidden = true;
    timer.hidden = true;
    const note = await current.stop();
    voiceButton.hidden = false;
    photoButton.disabled = false;
    if (note && note.blob.size) {
      await addAttachment(leadClientId(), 'voice', note.blob, { durationSeconds: note.durationSeconds });
      say(status, 'att.voiceSaved', { time: clock(note.durationSeconds) });
    }
    refresh();
  });

  const unsubscribe = onChange(refresh);
  refresh();
  return {
    refresh,
    destroy() {
      unsubscribe();
      if (recorder) recorder.cancel();
      box.remove();
    },
  };
}

// --- on the booth's capture screen (app.js) --------------------------------------------

let shown = null; // { leadClientId, handle }: the buttons on the capture screen
let sending = null;
const watched = new WeakSet();

/**
 * Show the buttons in `container` for the lead on `capture` (capture.js's CaptureForm): the
 * new visitor's, or the saved lead being corrected. The same lead again keeps what is on
 * screen (a recording goes on); another lead gets fresh buttons.
 */
export function showForCapture(container, capture, eventId) {
  const leadClientId = capture.leadClientId();
  if (shown && shown.leadClientId === leadClientId) return;
  if (shown) shown.handle.destroy();
  const handle = mountAttachments(container, { leadClientId: () => leadClientId, form: capture.form, eventId });
  shown = { leadClientId, handle };
  countForCapture(capture);
}

// A card photo or voice note keeps an otherwise empty form, and its draft, for the visitor.
async function countForCapture(capture) {
  if (!watched.has(capture)) {
    watched.add(capture);
    onChange(() => countForCapture(capture));
  }
  const id = capture.clientId;
  const count = (await forLead(id)).length;
  if (capture.clientId !== id || count === capture.attachmentCount) return;
  capture.attachmentCount = count;
  capture.saveDraft();
}

/** Send what can be sent now; call after each outbox sync, on start and on `online`. */
export function sendAttachments() {
  // One round at a time, so a photo is not posted twice over a slow network.
  sending ||= sendPending().finally(() => {
    sending = null;
  });
  return sending;
}

/** The sign-out warning's line for files not yet sent ("" when there are none). */
export async function unsentWarning() {
  const { pendingCount } = await import('./attachments.js');
  const count = await pendingCount();
  return count ? t('att.unsent', { count }) : '';
}
