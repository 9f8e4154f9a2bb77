// Reads a QR (or, with BarcodeDetector, a PDF417/Aztec/Data Matrix/Code 128) code from
// the back camera. BarcodeDetector where the browser has it, else jsQR in a worker.

import { t } from './i18n.js';

const FORMATS = ['qr_code', 'pdf417', 'aztec', 'data_matrix', 'code_128'];
const FRAME_MS = 150;
const MAX_SIDE = 800;

async function barcodeDetector() {
  if (!('BarcodeDetector' in globalThis)) return null;
  try {
    const supported = await BarcodeDetector.getSupportedFormats();
    const formats = FORMATS.filter((f) => supported.includes(f));
    return formats.includes('qr_code') ? new BarcodeDetector({ formats }) : null;
  } catch {
    return null;
  }
}

function workerDecoder() {
  const worker = new Worker('/app/js/qr-worker.js');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  let nextId = 0;
  const pending = new Map();
  worker.onmessage = (event) => {
    const resolve = pending.get(event.data.id);
    pending.delete(event.data.id);
    if (resolve) resolve(event.data.text);
  };
  return {
    detect(video) {
      const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
      const width = Math.max(1, Math.round(video.videoWidth * scale));
      const height = Math.max(1, Math.round(video.videoHeight * scale));
      canvas.width = width;
      canvas.height = height;
      context.drawImage(video, 0, 0, width, height);
      const { data } = context.getImageData(0, 0, width, height);
      const id = (nextId += 1);
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ id, width, height, buffer: data.buffer }, [data.buffer]);
      });
    },
    close() {
      worker.terminate();
      pending.forEach((resolve) => resolve(null));
      pending.clear();
    },
  };
}

// Message keys (see /app/i18n/*.json) for why the camera did not start.
function errorKey(err) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return 'scanner.noCamera';
  if (err && (err.name === 'NotAllowedError' || err.name === 'SecurityError')) return 'scanner.denied';
  if (err && (err.name === 'NotFoundError' || err.name === 'OverconstrainedError')) return 'scanner.noCamera';
  return 'scanner.failed';
}

/**
 * Start the camera in `video` and resolve with the first code's text, or null when
 * `signal` aborts. Calls `onStatus(key)` with the message key of what to tell the user;
 * rejects with an Error whose `key` names the message (and whose message is that
 * message, translated) when the camera cannot start.
 */
export async function scanCode(video, { signal, onStatus = () => {} } = {}) {
  onStatus('scanner.starting');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    const key = errorKey(err);
    throw Object.assign(new Error(t(key)), { key });
  }
  const native = await barcodeDetector();
  const decoder = native
    ? { detect: async (v) => ((await native.detect(v))[0] || {}).rawValue || null, close() {} }
    : workerDecoder();
  try {
    video.srcObject = stream;
    await video.play().catch(() => {});
    onStatus('scanner.looking');
    while (!(signal && signal.aborted)) {
      if (video.readyState >= 2 && video.videoWidth) {
        let text = null;
        try {
          text = await decoder.detect(video);
        } catch {
          text = null;
        }
        if (text && !(signal && signal.aborted)) return text;
      }
      await new Promise((resolve) => setTimeout(resolve, FRAME_MS));
    }
    return null;
  } finally {
    decoder.close();
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  }
}
