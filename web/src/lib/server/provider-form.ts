/**
 * A provider's limits as a form sends them (text inputs) in the API's shape: a whole number, or a decimal
 * string for the spend cap, as the contract takes them; an empty field is "no limit" (null) when editing and
 * left out when creating. A value that is not a number is passed on as it is, so the API's own message
 * for that field is shown beside it.
 */
export function providerLimits(
  form: { get: (name: string) => string },
  { omitEmpty }: { omitEmpty: boolean },
): { max_concurrency?: number | null; rpm_limit?: number | null; monthly_spend_cap_usd?: string | null } {
  const out: Record<string, number | string | null> = {};
  for (const name of ['max_concurrency', 'rpm_limit'] as const) {
    const text = form.get(name).trim();
    if (text === '') {
      if (!omitEmpty) out[name] = null;
    } else out[name] = /^\d+$/.test(text) ? Number(text) : text;
  }
  const cap = form.get('monthly_spend_cap_usd').trim().replace(/^\$/, '');
  if (cap === '') {
    if (!omitEmpty) out.monthly_spend_cap_usd = null;
  } else out.monthly_spend_cap_usd = cap;
  return out as never;
}
