import { describe, expect, it } from 'vitest';
import { usdText, usdUnits } from '@llmops/kit/money';
import { attemptCost, estimate, fitUnderCap, type Price } from './cost.ts';

const price = (fields: Partial<Price> = {}): Price => ({
  input_per_mtok: '2.500000',
  output_per_mtok: '10.000000',
  cached_input_per_mtok: null,
  per_image: null,
  effective_from: '2025-01-01T00:00:00+00:00',
  ...fields,
});

describe('the actual cost of an attempt', () => {
  it('charges input, cached input and output at the price in force', () => {
    const usage = { input_tokens: 1_000, cached_input_tokens: 200, output_tokens: 500 };
    // (800 × 2.5 + 200 × 1.25 + 500 × 10) / 1,000,000
    expect(attemptCost(price({ cached_input_per_mtok: '1.250000' }), usage, 0)).toBe('0.007250000000');
    // Without a cached price, cached tokens cost the input price.
    expect(attemptCost(price(), usage, 0)).toBe('0.007500000000');
  });

  it('charges images at the price per image, and nothing for a model without a price', () => {
    expect(attemptCost(price({ per_image: '0.040000' }), null, 2)).toBe('0.080000000000');
    expect(attemptCost(price(), null, 2)).toBe('0.000000000000');
    expect(attemptCost(null, { input_tokens: 10_000, cached_input_tokens: 0, output_tokens: 10_000 }, 0)).toBe('0.000000000000');
  });

  it('is exact, never rounded: a token’s cost is a whole number of 10⁻¹² USD at a six-place price', () => {
    const one = (input_per_mtok: string, input_tokens = 1) =>
      attemptCost(price({ input_per_mtok }), { input_tokens, cached_input_tokens: 0, output_tokens: 0 }, 0);
    expect(one('0.500000')).toBe('0.000000500000');
    expect(one('0.000001')).toBe('0.000000000001');
    // 19 tokens at $0.15 per million: 2.85 µ$, which numeric(14, 6) stored as 0.000003 (+5 %).
    expect(one('0.150000', 19)).toBe('0.000002850000');
  });

  it('adds up over 10,000 cheap calls to exactly what the provider bills for their tokens', () => {
    const p = price({ input_per_mtok: '0.150000', cached_input_per_mtok: '0.075000', output_per_mtok: '0.600000' });
    let attempts = 0n;
    const tokens = { input: 0n, cached: 0n, output: 0n };
    let seed = 11;
    const next = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648; // a fixed LCG: the same usages every run
      return seed % below;
    };
    let rounded = 0n;
    for (let i = 0; i < 10_000; i++) {
      const input = 1 + next(400);
      const usage = { input_tokens: input, cached_input_tokens: next(input), output_tokens: next(60) };
      const cost = attemptCost(p, usage, 0);
      attempts += usdUnits(cost);
      // What six places per attempt would have stored (half away from zero).
      rounded += ((usdUnits(cost) + 500_000n) / 1_000_000n) * 1_000_000n;
      tokens.input += BigInt(usage.input_tokens - usage.cached_input_tokens);
      tokens.cached += BigInt(usage.cached_input_tokens);
      tokens.output += BigInt(usage.output_tokens);
    }
    // The bill: all the month's tokens at the price, computed once in exact decimals.
    const bill = (tokens.input * 150_000n + tokens.cached * 75_000n + tokens.output * 600_000n) * 1_000_000n;
    expect(usdText(attempts)).toBe(usdText(bill / 1_000_000n));
    expect(attempts * 1_000_000n).toBe(bill);
    // The test can fail: per-attempt rounding to six places drifts from the bill.
    expect(rounded).not.toBe(attempts);
  });
});

describe('estimates and spend caps', () => {
  it('estimates the prompt’s tokens and the most the attempt may write, or its images', () => {
    const chat = { kind: 'chat', estimated_input_tokens: 100, max_output_tokens: null, images: 1 } as const;
    const cheap = price({ input_per_mtok: '1', output_per_mtok: '2', per_image: '0.04' });
    // (100 × 1 + 4,096 × 2) / 1,000,000: the default output limit when neither the task nor its model sets one.
    expect(estimate(cheap, chat, 4_096)).toBe('0.008292000000');
    expect(estimate(cheap, { ...chat, max_output_tokens: 1_000 }, 4_096)).toBe('0.002100000000');
    expect(estimate(cheap, { kind: 'image', estimated_input_tokens: 100, max_output_tokens: null, images: 3 }, 4_096)).toBe(
      '0.120000000000',
    );
    expect(estimate(null, chat, 4_096)).toBe('0.000000000000');
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
