import { z } from 'zod';

/*
 * Money, in one format everywhere (docs/tasks.md#money): USD as a decimal string with exactly twelve
 * places ("0.000002850000"), in the API, in events and in the docs — tasks, attempts, usage rollups,
 * spend caps and prices alike. Twelve places because prices are per million tokens with up to six
 * places, so one token's cost is a whole number of 10⁻¹² USD: an attempt's cost is exact, never rounded,
 * and sums over any number of cheap calls match the provider's bill. SQL keeps it as numeric(20, 12).
 * Amounts are added and compared here as integers of 10⁻¹² USD (bigint), never as floats.
 */

/** Decimal places of every money amount. */
export const USD_PLACES = 12;
const SCALE = 10n ** BigInt(USD_PLACES);

/** What a money amount looks like in the API and events. */
export const USD_PATTERN = /^-?\d+\.\d{12}$/;

/** A money amount as contracts and event payloads declare it. */
export const UsdSchema = z
  .string()
  .regex(USD_PATTERN, 'expected USD as a decimal string with 12 places')
  .meta({ description: 'USD with exactly 12 decimal places', example: '0.000002850000' });

/** A decimal string ("12.5", "0.004200", "3") as an exact integer of 10⁻¹² USD; more than 12 places is a bug. */
export function usdUnits(value: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{0,12}))?$/.exec(value.trim());
  if (!match) throw new Error(`not a decimal amount with at most ${USD_PLACES} places: ${JSON.stringify(value)}`);
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(whole as string) * SCALE + BigInt(fraction.padEnd(USD_PLACES, '0'));
  return sign === '-' ? -units : units;
}

/** Integers of 10⁻¹² USD in the one format: "0.000002850000". */
export function usdText(units: bigint): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  return `${sign}${abs / SCALE}.${(abs % SCALE).toString().padStart(USD_PLACES, '0')}`;
}

/** Any decimal amount (numeric as PostgreSQL prints it, at any scale up to 12) in the one format. */
export function usd(value: string): string {
  return usdText(usdUnits(value));
}

/** The same, keeping null (an optional cap or price). */
export function usdOrNull(value: string | null): string | null {
  return value === null ? null : usd(value);
}
