// The phone's camera and microphone for the capture screen: card photos downscaled before
// they are stored, the card read at once when online, and voice notes recorded.

export const PHOTO_MAX_SIDE = 1600;
export const PHOTO_QUALITY = 0.82; // about 300 KB for a card at 1,600 px
export const VOICE_MAX_SECONDS = 120;
const READ_TIMEOUT_MS = 10_000;

/** A photo (File/Blob) as a JPEG whose longest side is at most 1,600 px, EXIF-upright. */
export async function downscalePhoto(file, maxSide = PHOTO_MAX_SIDE, quality = PHOTO_QUALITY) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  let blob;
  if (typeof OffscreenCanvas === 'function') {
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
    blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
    blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
  }
  bitmap.close();
  return blob;
}

/**
 * Read a card photo on the server (POST /api/v1/cards/read) while online.
 * Resolves with { fields, confidence, text }, or null when offline, slow or refused:
 * the card is then read after sync and the office sees the result.
 */
export async function readCard(blob, eventId = null) {
  const form = new FormData();
  form.append('file', blob, 'card.jpg');
  if (eventId != null) form.append('event_id', String(eventId));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), READ_TIMEOUT_MS);
  try {
    const response = await fetch('/api/v1/cards/read', {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' },
      signal: controller.signal,
    });
    if (!response.ok) return null;
    return await response.json();
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** Put the fields read from a card into empty inputs of `form` (by name); returns those filled. */
export function fillEmptyFields(form, fields) {
  const filled = [];
  for (const [name, value] of Object.entries(fields || {})) {
    const input = form.elements.namedItem(name);
    if (!value || !input || !('value' in input) || input.value.trim()) continue;
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    filled.push(name);
  }
  return filled;
}

/** The recording format this browser offers: WebM/Opus where supported, MP4/AAC on iOS. */
export function voiceMimeType() {
  if (typeof MediaRecorder !== 'function') return null;
  const wanted = ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4;codecs=mp4a.40.2', 'audio/mp4', 'audio/ogg;codecs=opus'];
  return wanted.find((type) => MediaRecorder.isTypeSupported(type)) || '';
}

/**
 * One voice note: `start()` asks for the microphone and records (at most two minutes),
 * `onTick(seconds)` is called every second for the timer, `stop()` resolves with
 * { blob, durationSeconds }. `cancel()` drops the recording.
 */
export class VoiceRecorder {
  constructor({ onTick = () => {}, maxSeconds = VOICE_MAX_SECONDS } = {}) {
    this.onTick = onTick;
    this.maxSeconds = maxSeconds;
    this.chunks = [];
    this.recorder = null;
    this.stream = null;
    this.started = 0;
    this.timer = null;
    this.finished = null;
  }

  async start() {
    const mimeType = voiceMimeType();
    if (mimeType === null) throw new Error('no-media-recorder');
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    this.recorder = new MediaRecorder(this.stream, mimeType ? { mimeType } : undefined);
    this.chunks = [];
    this.recorder.ondataavailable = (event) => {
      if (event.data && event.data.size) this.chunks.push(event.data);
    };
    this.finished = new Promise((resolve) => {
      this.recorder.onstop = () => resolve();
    });
    this.recorder.start(1000);
    this.started = performance.now();
    this.onTick(0);
    this.timer = setInterval(() => {
      const seconds = this.elapsed();
      this.onTick(Math.floor(seconds));
      if (seconds >= this.maxSeconds) this.stop();
    }, 250);
  }

  elapsed() {
    return this.started ? (performance.now() - this.started) / 1000 : 0;
  }

  recording() {
    return Boolean(this.recorder && this.recorder.state === 'recording');
  }

  async stop() {
    if (!this.recorder) return null;
    const durationSeconds = Math.min(this.maxSeconds, Math.round(this.elapsed() * 10) / 10);
    clearInterval(this.timer);
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    await this.finished;
    this.stream.getTracks().forEach((track) => track.stop());
    const type = (this.recorder.mimeType || 'audio/webm').split(';')[0];
    const blob = new Blob(this.chunks, { type });
    this.recorder = null;
    return { blob, durationSeconds };
  }

  cancel() {
    clearInterval(this.timer);
    if (this.recorder && this.recorder.state !== 'inactive') this.recorder.stop();
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.recorder = null;
    this.chunks = [];
  }
}
