/**
 * Money as the dashboard shows it. The API's amounts are decimal strings with 12 places
 * ("2.500000000000", "0.000002850000"): exact, so they are never turned into floating point here.
 * `money()` shows at least two places (cents) and as many more as the amount needs, so a price or a cap
 * reads "$2.50" and a tiny task cost "$0.00000285"; `amount()` is the plain number a form field shows.
 */

interface Parts {
  negative: boolean;
  whole: string;
  fraction: string;
}

function parts(value: string): Parts | undefined {
  const match = /^\s*(-?)(\d+)(?:\.(\d*))?\s*$/.exec(value);
  if (!match) return undefined;
  const whole = (match[2] ?? '0').replace(/^0+(?=\d)/, '');
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  const zero = /^0*$/.test(whole) && fraction === '';
  return { negative: match[1] === '-' && !zero, whole, fraction };
}

const grouped = (whole: string) => whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** `"2.500000000000"` → `$2.50`, `"0.000002850000"` → `$0.00000285`, `"1234"` → `$1,234.00`. */
export function money(value: string | null | undefined, { currency = '$' } = {}): string {
  if (value === null || value === undefined) return '—';
  const p = parts(value);
  if (!p) return value;
  return `${p.negative ? '−' : ''}${currency}${grouped(p.whole)}.${p.fraction.padEnd(2, '0')}`;
}

/** The amount without its trailing zeros, as typed into a form field: `"25.000000000000"` → `25`, `"2.5"` → `2.5`. */
export function amount(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const p = parts(value);
  if (!p) return value;
  return `${p.negative ? '-' : ''}${p.whole}${p.fraction ? `.${p.fraction}` : ''}`;
}
