import { describe, expect, it } from 'vitest';
import { millis } from './status.ts';

describe('millis', () => {
  it('shows milliseconds under a second, else seconds', () => {
    expect(millis(null)).toBe('—');
    expect(millis(250)).toBe('250 ms');
    expect(millis(1500)).toBe('1.50 s');
  });
});
