import { describe, expect, it } from 'vitest';
import { amount, money } from './money.ts';

describe('money', () => {
  it('shows prices and caps in dollars and cents', () => {
    expect(money('2.500000000000')).toBe('$2.50');
    expect(money('25.000000000000')).toBe('$25.00');
    expect(money('0.000000000000')).toBe('$0.00');
    expect(money('1234567.100000000000')).toBe('$1,234,567.10');
    expect(money('0.15')).toBe('$0.15');
  });

  it('keeps every place a tiny cost needs, exactly', () => {
    expect(money('0.000002850000')).toBe('$0.00000285');
    expect(money('0.000000000001')).toBe('$0.000000000001');
    expect(money('3.141592653589')).toBe('$3.141592653589');
  });

  it('marks a negative amount, shows a missing one as a dash and anything else as it came', () => {
    expect(money('-1.500000000000')).toBe('−$1.50');
    expect(money('-0.000000000000')).toBe('$0.00');
    expect(money(null)).toBe('—');
    expect(money('not money')).toBe('not money');
  });

  it('gives a form field the plain amount', () => {
    expect(amount('25.000000000000')).toBe('25');
    expect(amount('2.500000000000')).toBe('2.5');
    expect(amount('0.000002850000')).toBe('0.00000285');
    expect(amount('007.10')).toBe('7.1');
    expect(amount(null)).toBe('');
  });
});
