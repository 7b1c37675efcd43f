import { describe, expect, it } from 'vitest';
import { passwordCostOf } from '../config.ts';
import { decoyHash, hashPassword, PASSWORD_COST, verifyPassword } from './passwords.ts';

describe('password hashes', () => {
  it('name the cost they were made at, and verify whatever the cost new ones get', async () => {
    const cheap = await hashPassword('a long enough password', 14);
    const standard = await hashPassword('a long enough password', 15);
    expect(cheap).toMatch(/^scrypt\$14\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(standard).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(await verifyPassword('a long enough password', cheap)).toBe(true);
    expect(await verifyPassword('a long enough password', standard)).toBe(true);
    expect(await verifyPassword('another long password', cheap)).toBe(false);
  });

  it('are never made outside the costs the gateway takes', async () => {
    for (const cost of [PASSWORD_COST.min - 1, PASSWORD_COST.max + 1, 14.5]) {
      await expect(hashPassword('a long enough password', cost)).rejects.toThrow(/from 14 to 20/);
    }
  });

  it('check an unknown email against a decoy made at the same cost', async () => {
    expect(await decoyHash(14)).toMatch(/^scrypt\$14\$/);
    expect(await decoyHash(14)).toBe(await decoyHash(14));
  });
});

describe('GATEWAY_PASSWORD_COST', () => {
  it('defaults to 16 and takes 14 to 20, saying what it expects', () => {
    expect(passwordCostOf({})).toBe(16);
    expect(passwordCostOf({ GATEWAY_PASSWORD_COST: '14' })).toBe(14);
    expect(() => passwordCostOf({ GATEWAY_PASSWORD_COST: '12' })).toThrow(/GATEWAY_PASSWORD_COST.*14 to 20/s);
    expect(() => passwordCostOf({ GATEWAY_PASSWORD_COST: 'high' })).toThrow(/GATEWAY_PASSWORD_COST.*whole number/s);
  });
});
