/**
 * What the API's contract says about the fields the dashboard's forms send (services/kit/src/contracts),
 * so the browser can say so before anything is sent. tests/web-form-limits.test.ts compares each one with
 * the contract's own schema, so they cannot drift apart.
 */
export const LIMITS = {
  password: { minlength: 12, maxlength: 256 },
  personName: { maxlength: 200 },
  email: { maxlength: 254 },
  tokenName: { maxlength: 200 },
} as const;
