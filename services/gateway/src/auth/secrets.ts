import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets (API tokens, session cookies, setup codes): 256 random bits, base64url, with a
 * recognisable prefix so secret scanners and people can tell what leaked. Only their SHA-256 is stored:
 * with that much entropy a slow hash adds nothing.
 */
export const TOKEN_PREFIX = 'llmops_';

export function newSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
