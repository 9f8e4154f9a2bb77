// Decodes QR codes from camera frames off the main thread, for browsers without
// BarcodeDetector. A classic worker, because the vendored jsQR is a UMD script.
/* global jsQR */
importScripts('/app/vendor/jsQR.js');

self.onmessage = (event) => {
  const { id, width, height, buffer } = event.data;
  let text = null;
  try {
    const code = jsQR(new Uint8ClampedArray(buffer), width, height, { inversionAttempts: 'attemptBoth' });
    if (code && typeof code.data === 'string' && code.data) text = code.data;
  } catch (err) {
    text = null;
  }
  self.postMessage({ id, text });
};
