// "Already captured at 10:42": the same e-mail or phone captured today on this phone.
// Works offline: it reads the Today records in IndexedDB, never the server.

const digits = (phone) => String(phone || '').replace(/\D/g, '');

/** Same phone: the same last 9 digits (ignores +7 / 8 / 0049 prefixes and spacing). */
export function samePhone(a, b) {
  const x = digits(a);
  const y = digits(b);
  if (x.length < 6 || y.length < 6) return false;
  return x.slice(-9) === y.slice(-9);
}

/** Same e-mail, ignoring case and surrounding spaces. */
export function sameEmail(a, b) {
  const x = String(a || '').trim().toLowerCase();
  return x.includes('@') && x === String(b || '').trim().toLowerCase();
}

/** The newest of `captures` with the same e-mail or phone as `values`, else null. */
export function findDuplicate(values, captures, exceptClientId = null) {
  for (const row of captures) {
    if (row.client_id === exceptClientId) continue;
    if (sameEmail(values.email, row.email) || samePhone(values.phone, row.phone)) return row;
  }
  return null;
}
