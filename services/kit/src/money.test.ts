import { describe, expect, it } from 'vitest';
import { usd, usdOrNull, usdText, usdUnits, UsdSchema } from './money.ts';

describe('money', () => {
  it('writes every amount with exactly twelve places, whatever scale PostgreSQL printed', () => {
    expect(usd('0.0002')).toBe('0.000200000000');
    expect(usd('0.000200')).toBe('0.000200000000');
    expect(usd('25.5000')).toBe('25.500000000000');
    expect(usd('3')).toBe('3.000000000000');
    expect(usd('0.000002850000')).toBe('0.000002850000');
    expect(usd('-1.5')).toBe('-1.500000000000');
    expect(usdOrNull(null)).toBeNull();
  });

  it('reads amounts exactly, as integers of 10⁻¹² USD', () => {
    expect(usdUnits('0.000002850000')).toBe(2_850_000n);
    expect(usdUnits('12.5')).toBe(12_500_000_000_000n);
    expect(usdText(usdUnits('0.1') + usdUnits('0.2'))).toBe('0.300000000000');
  });

  it('refuses what is not a decimal amount of at most twelve places', () => {
    expect(() => usdUnits('1e-6')).toThrow(/not a decimal amount/);
    expect(() => usdUnits('0.0000000000001')).toThrow(/at most 12 places/);
    expect(() => usdUnits('')).toThrow();
  });

  it('declares the format for contracts and events', () => {
    expect(UsdSchema.safeParse('0.000200000000').success).toBe(true);
    expect(UsdSchema.safeParse('0.0002').success).toBe(false);
  });
});
