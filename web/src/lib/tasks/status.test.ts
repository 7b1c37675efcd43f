import { describe, expect, it } from 'vitest';
import { millis, usd } from './status.ts';

describe('usd', () => {
  it('shows small amounts in full decimals, never as an exponent or rounded to zero', () => {
    expect(usd('0.000021000000')).toBe('$0.000021');
    expect(usd('0.000000000001')).toBe('$0.000000000001');
    expect(usd('0.000000000000')).toBe('$0');
    expect(usd('12.345600000000')).toBe('$12.35');
  });
});

describe('millis', () => {
  it('shows milliseconds under a second, else seconds', () => {
    expect(millis(null)).toBe('—');
    expect(millis(250)).toBe('250 ms');
    expect(millis(1500)).toBe('1.50 s');
  });
});
