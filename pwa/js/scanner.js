// Reads badge codes: QR, PDF417, Code 128, Code 39, DataMatrix, Aztec, from the back camera
// or from a photo. The decoder is zxing-wasm (vendored in /app/vendor/zxing-wasm/), loaded
// only when the scanner opens; the service worker keeps it for offline use. Where the
// browser has a native BarcodeDetector the camera uses it (faster), with zxing as fallback.

import { t } from './i18n.js';

const ZXING = '/app/vendor/zxing-wasm/es/reader/index.js';
const ZXING_WASM = '/app/vendor/zxing-wasm/reader/zxing_reader.wasm';
// zxing-wasm's format names (codes, not words for people).
const FORMATS = 'QRCode,PDF417,Code128,Code39,DataMatrix,Aztec'.split(',');
const NATIVE_FORMATS = ['qr_code', 'pdf417', 'code_128', 'code_39', 'data_matrix', 'aztec'];
const FRAME_MS = 120;
const MAX_SIDE = 1024;

let zxing = null;

/** Load the decoder once (the first scan pays ~1 MB, cached by the service worker). */
export function loadDecoder() {
  if (!zxing) {
    zxing = import(ZXING).then((module) => {
      module.prepareZXingModule({
        overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? ZXING_WASM : prefix + path) },
        fireImmediately: true,
      });
      return module;
    }).catch((err) => {
      zxing = null;
      throw err;
    });
  }
  return zxing;
}

const OPTIONS = { formats: FORMATS, tryHarder: true, tryRotate: true, tryInvert: true, maxNumberOfSymbols: 1 };

function firstText(results) {
  const hit = (results || []).find((r) => r && r.isValid !== false && r.text);
  return hit ? hit.text : null;
}

/** Decode the first code in an image file (a photo of a badge); resolves its text or null. */
export async function decodeFile(file) {
  const { readBarcodes } = await loadDecoder();
  const text = firstText(await readBarcodes(file, OPTIONS));
  if (text) return text;
  // Big phone photos: a scaled-down copy often reads when the full size does not.
  const image = await scaled(file, MAX_SIDE);
  return image ? firstText(await readBarcodes(image, OPTIONS)) : null;
}

async function scaled(file, side) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return context.getImageData(0, 0, canvas.width, canvas.height);
  } catch {
    return null;
  }
}

async function nativeDetector() {
  if (!('BarcodeDetector' in globalThis)) return null;
  try {
    const supported = await BarcodeDetector.getSupportedFormats();
    const formats = NATIVE_FORMATS.filter((f) => supported.includes(f));
    return formats.includes('qr_code') ? new BarcodeDetector({ formats }) : null;
  } catch {
    return null;
  }
}

function frameDecoder(readBarcodes) {
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
    canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    return firstText(await readBarcodes(frame, { ...OPTIONS, tryRotate: false, tryInvert: false }));
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
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('no camera');
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    const key = errorKey(err);
    throw Object.assign(new Error(t(key)), { key });
  }
  try {
    const native = await nativeDetector();
    const detect = native
      ? async (v) => ((await native.detect(v))[0] || {}).rawValue || null
      : frameDecoder((await loadDecoder()).readBarcodes);
    video.srcObject = stream;
    await video.play().catch(() => {});
    onStatus('scanner.looking');
    while (!(signal && signal.aborted)) {
      if (video.readyState >= 2 && video.videoWidth) {
        let text = null;
        try {
          text = await detect(video);
        } catch {
          text = null;
        }
        if (text && !(signal && signal.aborted)) return text;
      }
      await new Promise((resolve) => setTimeout(resolve, FRAME_MS));
    }
    return null;
  } finally {
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  }
}
