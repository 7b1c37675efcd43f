import { describe, expect, it } from 'vitest';
import { comparePositions, formatPosition, InvalidPositionError, isPosition, parsePosition } from './position.ts';

describe('position strings', () => {
  it('round-trip "<txid>-<id>" and order by txid, then id', () => {
    const position = parsePosition('18446744073709551615-9223372036854775807');
    expect(formatPosition(position)).toBe('18446744073709551615-9223372036854775807');
    expect(comparePositions(parsePosition('5-100'), parsePosition('6-1'))).toBe(-1);
    expect(comparePositions(parsePosition('6-2'), parsePosition('6-1'))).toBe(1);
    expect(comparePositions(parsePosition('6-1'), parsePosition('6-1'))).toBe(0);
  });

  it('rejects anything else, including values out of range', () => {
    for (const bad of [
      '',
      '1',
      '1-',
      '-1-2',
      '1-2-3',
      'a-1',
      '1-1 ',
      ' 1-1',
      '1.5-2',
      '18446744073709551616-1',
      '1-9223372036854775808',
    ]) {
      expect(isPosition(bad), bad).toBe(false);
      expect(() => parsePosition(bad)).toThrow(InvalidPositionError);
    }
  });
});
