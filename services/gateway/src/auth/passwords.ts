import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords are hashed with scrypt (RFC 7914; OWASP's recommended minimum N=2^17, r=8, p=1 is about
 * 0.2 s here, so N=2^16 keeps a sign-in under 0.1 s on two cores while staying far beyond GPU-friendly
 * hashes). The stored form names its parameters, so they can be raised later and old hashes still verify:
 * `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (salt and hash base64url). log2 N is the gateway's
 * `GATEWAY_PASSWORD_COST`: 14 (scrypt's own recommendation for interactive sign-ins, 16 MiB) to 20 (1 GiB).
 */
export const PASSWORD_COST = { min: 14, default: 16, max: 20 } as const;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFKC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

function optionsFor(logN: number, r: number, p: number): ScryptOptions {
  const N = 2 ** logN;
  return { N, r, p, maxmem: 256 * N * r };
}

/** The stored form of `password`, hashed at `cost` (log2 of scrypt's N; GATEWAY_PASSWORD_COST). */
export async function hashPassword(password: string, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < PASSWORD_COST.min || cost > PASSWORD_COST.max) {
    throw new RangeError(`a password cost is a whole number from ${PASSWORD_COST.min} to ${PASSWORD_COST.max}, not ${cost}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, optionsFor(cost, R, P));
  return `scrypt$${cost}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `password` matches `stored`; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every(Number.isInteger) || logN < 10 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(parts[4] as string, 'base64url');
  const expected = Buffer.from(parts[5] as string, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const key = await scrypt(password, salt, optionsFor(logN, r, p));
  return timingSafeEqual(key, expected);
}

/**
 * A hash of nothing anyone knows, at the cost new passwords get: verifying against it makes an unknown
 * email cost as much as a known one.
 */
const decoys = new Map<number, Promise<string>>();
export function decoyHash(cost: number): Promise<string> {
  let decoy = decoys.get(cost);
  if (!decoy) {
    decoy = hashPassword(randomBytes(32).toString('base64url'), cost);
    decoys.set(cost, decoy);
  }
  return decoy;
}
