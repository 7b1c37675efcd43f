import { describe, expect, it } from 'vitest';
import { localField } from './dates.ts';

describe('localField', () => {
  it('shows a time in UTC to the second, the way a form reads it back', () => {
    expect(localField('2026-12-08T09:30:00.000Z')).toBe('2026-12-08T09:30:00');
    expect(localField('2026-12-08T10:30:15+01:00')).toBe('2026-12-08T09:30:15');
    expect(Date.parse(`${localField('2026-12-08T09:30:00Z')}Z`)).toBe(Date.parse('2026-12-08T09:30:00Z'));
    expect(localField('not a time')).toBe('');
  });
});
