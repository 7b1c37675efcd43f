/** A day as lists show it, in UTC like every time the API gives (`6 Dec 2026`). */
const DAY = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

export function day(iso: string): string {
  return DAY.format(new Date(iso));
}

/**
 * An RFC 3339 time as a `datetime-local` field shows it: UTC, to the second (`2026-12-08T09:30:00`), the
 * way forms read it back (`${value}Z`); empty for anything that is not a time.
 */
export function localField(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toISOString().slice(0, 19);
}
