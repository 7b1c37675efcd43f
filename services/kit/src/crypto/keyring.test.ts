import { describe, expect, it } from 'vitest';
import { EnvelopeError, formatKeyring, generateMasterKey, keyringOf, maskHint, open, parseKeyring, seal } from './keyring.ts';

describe('the master keyring and its envelopes', () => {
  const a = generateMasterKey();
  const b = generateMasterKey();

  it('parses `keyId:base64key` lists, current first, and formats them back', () => {
    const text = formatKeyring([a, b]);
    const ring = parseKeyring(` ${text} `);
    expect(ring.current.id).toBe(a.id);
    expect(ring.keys.map((k) => k.id)).toEqual([a.id, b.id]);
    expect(formatKeyring(ring.keys)).toBe(text);
    expect(parseKeyring(`k1:${a.key.toString('base64url')}`).current.key.equals(a.key)).toBe(true);
  });

  it('refuses malformed keyrings without echoing key material', () => {
    expect(() => parseKeyring('')).toThrow(/empty/);
    expect(() => parseKeyring('nocolon')).toThrow(/key id/);
    expect(() => parseKeyring('k1:c2hvcnQ=')).toThrow(/not 32 bytes/);
    expect(() => parseKeyring(`k1:${a.key.toString('base64')},k1:${b.key.toString('base64')}`)).toThrow(/twice/);
    try {
      parseKeyring(`bad id:${a.key.toString('base64')}`);
    } catch (error) {
      expect((error as Error).message).not.toContain(a.key.toString('base64'));
    }
  });

  it('seals as v1:keyId:nonce:ciphertext:tag with a fresh nonce, and opens with any key of the ring', () => {
    const ring = keyringOf([a]);
    const envelope = seal(ring, 'sk-secret-value', 'provider-1');
    expect(envelope.split(':')).toHaveLength(5);
    expect(envelope.startsWith(`v1:${a.id}:`)).toBe(true);
    expect(envelope).not.toContain('sk-secret');
    expect(seal(ring, 'sk-secret-value', 'provider-1')).not.toBe(envelope);
    expect(open(keyringOf([b, a]), envelope, 'provider-1')).toBe('sk-secret-value');
  });

  it('binds the envelope to its provider and detects tampering or a missing key', () => {
    const envelope = seal(keyringOf([a]), 'sk-secret-value', 'provider-1');
    expect(() => open(keyringOf([a]), envelope, 'provider-2')).toThrow(EnvelopeError);
    const parts = envelope.split(':');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => open(keyringOf([a]), parts.join(':'), 'provider-1')).toThrow(EnvelopeError);
    expect(() => open(keyringOf([b]), envelope, 'provider-1')).toThrow(/not in the keyring/);
  });

  it('hints show the last 4 characters only', () => {
    expect(maskHint('sk-abcdefgh1234')).toBe('…1234');
    expect(maskHint('abc')).toBe('…');
  });
});
