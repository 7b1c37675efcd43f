import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The master keyring that protects provider API keys at rest (ADR 0007). Only the registry holds it.
 *
 * `LLMOPS_MASTER_KEYS` is a comma-separated list of `keyId:base64key` (32 random bytes each, standard or
 * url-safe base64); the first is current (it encrypts), every one decrypts. A key id is 1–32 of
 * `A-Za-z0-9_-`. Make one with `npm run llmops -- key rotate` or
 * `node -e "console.log('k1:' + require('crypto').randomBytes(32).toString('base64'))"`.
 *
 * Envelope: `v1:keyId:nonce:ciphertext:tag` (base64url parts), AES-256-GCM with a 96-bit random nonce
 * and the provider id as associated data, so a ciphertext copied onto another provider does not decrypt.
 */
export interface MasterKey {
  id: string;
  key: Buffer;
}

export interface Keyring {
  /** The key that encrypts. */
  current: MasterKey;
  /** Every key, current first: any of them decrypts. */
  keys: readonly MasterKey[];
}

export const KEYRING_VARIABLE = 'LLMOPS_MASTER_KEYS';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const VERSION = 'v1';

/** A keyring that does not parse; the message says what is wrong and never echoes key material. */
export class KeyringError extends Error {
  override name = 'KeyringError';
}

/** A ciphertext that does not decrypt: wrong key, wrong provider, damaged, or an unknown key id. */
export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  /** The key id the envelope names, when it could be read. */
  readonly keyId: string | undefined;
  constructor(message: string, keyId?: string) {
    super(message);
    this.keyId = keyId;
  }
}

export const KEYRING_HELP =
  `${KEYRING_VARIABLE} is a comma-separated list of keyId:base64key, current key first; each key is 32 random bytes. ` +
  `Make one with: node -e "console.log('k1:' + require('crypto').randomBytes(32).toString('base64'))"`;

export function parseKeyring(text: string): Keyring {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new KeyringError(`${KEYRING_VARIABLE} is empty. ${KEYRING_HELP}`);
  const keys: MasterKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon === -1 ? '' : entry.slice(0, colon);
    if (!KEY_ID.test(id)) {
      throw new KeyringError(
        `entry ${index + 1} of ${KEYRING_VARIABLE} does not start with a key id (1–32 of A-Z a-z 0-9 _ -) and a colon. ${KEYRING_HELP}`,
      );
    }
    const material = entry.slice(colon + 1);
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      throw new KeyringError(
        `key "${id}" in ${KEYRING_VARIABLE} is not 32 bytes of base64 (it decodes to ${key.length} bytes). ${KEYRING_HELP}`,
      );
    }
    if (keys.some((k) => k.id === id)) throw new KeyringError(`key id "${id}" appears twice in ${KEYRING_VARIABLE}`);
    keys.push({ id, key });
  }
  return { current: keys[0] as MasterKey, keys };
}

/** The text form of a keyring, current first: what goes into LLMOPS_MASTER_KEYS. */
export function formatKeyring(keys: readonly MasterKey[]): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}

/** A fresh random key with a time-ordered id (`k` + UTC timestamp + random suffix). */
export function generateMasterKey(now = new Date()): MasterKey {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return { id: `k${stamp}${randomBytes(2).toString('hex')}`, key: randomBytes(32) };
}

export function keyringOf(keys: readonly MasterKey[]): Keyring {
  if (keys.length === 0) throw new KeyringError('a keyring needs at least one key');
  return { current: keys[0] as MasterKey, keys };
}

/** Encrypts `plaintext` under the current key, bound to `associatedData` (the provider id). */
export function seal(keyring: Keyring, plaintext: string, associatedData: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, nonce);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    keyring.current.id,
    nonce.toString('base64url'),
    ciphertext.toString('base64url'),
    tag.toString('base64url'),
  ].join(':');
}

/** The key id an envelope was sealed with (without decrypting it). */
export function envelopeKeyId(envelope: string): string | undefined {
  const parts = envelope.split(':');
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
}

/** Decrypts an envelope with whichever key of the ring it names; throws EnvelopeError (never leaking material). */
export function open(keyring: Keyring, envelope: string, associatedData: string): string {
  const parts = envelope.split(':');
  if (parts.length !== 5 || parts[0] !== VERSION) throw new EnvelopeError('not a v1 key envelope');
  const [, keyId, nonce, ciphertext, tag] = parts as [string, string, string, string, string];
  const key = keyring.keys.find((k) => k.id === keyId);
  if (!key) throw new EnvelopeError(`the key was sealed with master key "${keyId}", which is not in the keyring`, keyId);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new EnvelopeError(`the envelope does not decrypt with master key "${keyId}" for this provider`, keyId);
  }
}

/** What responses show of a key: its last 4 characters (all but the last 4 of a short key are hidden). */
export function maskHint(plaintext: string): string {
  return plaintext.length <= 4 ? '…' : `…${plaintext.slice(-4)}`;
}
