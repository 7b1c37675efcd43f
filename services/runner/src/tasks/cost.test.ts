import { describe, expect, it } from 'vitest';
import { attemptCost, estimate, fitUnderCap, micros, usd, type Price } from './cost.ts';

const price = (fields: Partial<Price> = {}): Price => ({
  input_per_mtok: '2.500000',
  output_per_mtok: '10.000000',
  cached_input_per_mtok: null,
  per_image: null,
  effective_from: '2025-01-01T00:00:00+00:00',
  ...fields,
});

describe('amounts', () => {
  it('reads decimal strings exactly and prints them with six places, as numeric(14, 6) does', () => {
    expect(micros('12.5')).toBe(12_500_000n);
    expect(micros('0.004200')).toBe(4_200n);
    expect(micros('-0.1')).toBe(-100_000n);
    expect(micros('7')).toBe(7_000_000n);
    expect(usd(4_200n)).toBe('0.004200');
    expect(usd(-100_000n)).toBe('-0.100000');
    expect(usd(micros('1000.0300'))).toBe('1000.030000');
  });

  it('refuses what is not an amount of at most six places instead of rounding it silently', () => {
    expect(() => micros('0.0000001')).toThrow(/at most 6 places/);
    expect(() => micros('1e-3')).toThrow(/not a decimal amount/);
  });
});

describe('the actual cost of an attempt', () => {
  it('charges input, cached input and output at the price in force', () => {
    const usage = { input_tokens: 1_000, cached_input_tokens: 200, output_tokens: 500 };
    // (800 × 2.5 + 200 × 1.25 + 500 × 10) / 1,000,000
    expect(attemptCost(price({ cached_input_per_mtok: '1.250000' }), usage, 0)).toBe('0.007250');
    // Without a cached price, cached tokens cost the input price.
    expect(attemptCost(price(), usage, 0)).toBe('0.007500');
  });

  it('charges images at the price per image, and nothing for a model without a price', () => {
    expect(attemptCost(price({ per_image: '0.040000' }), null, 2)).toBe('0.080000');
    expect(attemptCost(price(), null, 2)).toBe('0.000000');
    expect(attemptCost(null, { input_tokens: 10_000, cached_input_tokens: 0, output_tokens: 10_000 }, 0)).toBe('0.000000');
  });

  it('rounds the total half away from zero to six places, as PostgreSQL rounds numeric', () => {
    const one = (input_per_mtok: string) =>
      attemptCost(price({ input_per_mtok }), { input_tokens: 1, cached_input_tokens: 0, output_tokens: 0 }, 0);
    expect(one('0.500000')).toBe('0.000001');
    expect(one('0.499999')).toBe('0.000000');
    // Rounded once, on the sum: three halves of a millionth are two millionths, not three.
    const halves = attemptCost(
      price({ input_per_mtok: '0.500000', cached_input_per_mtok: '0.500000', output_per_mtok: '0.500000' }),
      { input_tokens: 2, cached_input_tokens: 1, output_tokens: 1 },
      0,
    );
    expect(halves).toBe('0.000002');
  });
});

describe('estimates and spend caps', () => {
  it('estimates the prompt’s tokens and the most the attempt may write, or its images', () => {
    const chat = { kind: 'chat', estimated_input_tokens: 100, max_output_tokens: null, images: 1 } as const;
    const cheap = price({ input_per_mtok: '1', output_per_mtok: '2', per_image: '0.04' });
    // (100 × 1 + 4,096 × 2) / 1,000,000: the default output limit when neither the task nor its model sets one.
    expect(estimate(cheap, chat, 4_096)).toBe('0.008292');
    expect(estimate(cheap, { ...chat, max_output_tokens: 1_000 }, 4_096)).toBe('0.002100');
    expect(estimate(cheap, { kind: 'image', estimated_input_tokens: 100, max_output_tokens: null, images: 3 }, 4_096)).toBe(
      '0.120000',
    );
    expect(estimate(null, chat, 4_096)).toBe('0.000000');
  });

  it('reserves up to the cap exactly (no float drift), refuses past it, and lets a later cheaper task fit', () => {
    const tasks = [
      { id: 'a', amount: '0.200000' },
      { id: 'b', amount: '0.000001' },
      { id: 'c', amount: '0.700000' },
      { id: 'd', amount: '0.600000' },
    ];
    const roomy = fitUnderCap('1.0000', '0.100000', tasks);
    expect(roomy.reserve.map((t) => t.id)).toEqual(['a', 'b', 'd']);
    expect(roomy.refuse.map((t) => t.id)).toEqual(['c']);
    // 0.1 + 0.2 is 0.30000000000000004 in floating point, which would refuse `a`.
    const tight = fitUnderCap('0.3000', '0.100000', tasks);
    expect(tight.reserve.map((t) => t.id)).toEqual(['a']);
    expect(tight.refuse.map((t) => t.id)).toEqual(['b', 'c', 'd']);
  });
});
