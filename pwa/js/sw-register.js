// Registers the service worker and offers new versions without swapping code under an
// open form: the new worker waits until the user taps "Reload".

const UPDATE_CHECK_MS = 30 * 60_000;

/** Register /app/sw.js; `onUpdate(apply)` is called when a new version waits. */
export async function registerServiceWorker(onUpdate) {
  if (!('serviceWorker' in navigator)) return null;
  let userAsked = false;
  const offer = (worker) =>
    onUpdate(() => {
      userAsked = true;
      worker.postMessage({ type: 'SKIP_WAITING' });
    });

  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // The first install also changes the controller (clients.claim): no reload then.
    if (userAsked) window.location.reload();
  });

  const registration = await navigator.serviceWorker.register('/app/sw.js', { scope: '/app/', type: 'module' });
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener('updatefound', () => {
    const worker = registration.installing;
    if (!worker) return;
    worker.addEventListener('statechange', () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
    });
  });
  const check = () => registration.update().catch(() => {});
  setInterval(check, UPDATE_CHECK_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  return registration;
}
