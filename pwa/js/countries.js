// Countries as ISO 3166-1 alpha-2 codes, named in the reader's language by the browser
// itself (Intl.DisplayNames), so no list of names ships with the app.

const CODES = (
  'AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BW ' +
  'BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ' +
  'ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL ' +
  'IM IN IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA ' +
  'MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU ' +
  'NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SK SL SM ' +
  'SN SO SR SS ST SV SX SY SZ TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE ' +
  'VG VI VN VU WF WS XK YE YT ZA ZM ZW'
).split(' ');

function displayNames(locale) {
  try {
    return new Intl.DisplayNames([locale, 'en'], { type: 'region' });
  } catch {
    return { of: (code) => code };
  }
}

/** [{code, name}] sorted by name in `locale`. */
export function countryList(locale = (globalThis.navigator && navigator.language) || 'en') {
  const names = displayNames(locale);
  const collator = new Intl.Collator(locale);
  return CODES.map((code) => ({ code, name: names.of(code) || code })).sort((a, b) =>
    collator.compare(a.name, b.name),
  );
}

const ALIASES = { UK: 'GB', USA: 'US', 'U.S.A.': 'US', 'U.S.': 'US', 'UNITED STATES OF AMERICA': 'US' };
let index = null;

/** The ISO code for a country written as a code or a name (several languages); '' if unknown. */
export function countryCode(text) {
  const key = String(text || '').trim().toUpperCase();
  if (!key) return '';
  if (CODES.includes(key)) return key;
  if (ALIASES[key]) return ALIASES[key];
  if (!index) {
    index = new Map();
    for (const locale of [(globalThis.navigator && navigator.language) || 'en', 'en', 'de', 'fr', 'es', 'it', 'ru', 'pl', 'nl', 'pt']) {
      const names = displayNames(locale);
      for (const code of CODES) {
        const name = names.of(code);
        if (name) index.set(name.toUpperCase(), code);
      }
    }
  }
  return index.get(key) || '';
}
