/** A day as lists show it, in UTC like every time the API gives (`6 Dec 2026`). */
const DAY = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

export function day(iso: string): string {
  return DAY.format(new Date(iso));
}
