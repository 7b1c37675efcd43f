import { describe, expect, it } from 'vitest';
import { uuidv7, uuidv7At } from './uuid.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('makes distinct version-7 ids in creation order across refills of the random pool', () => {
    const ids = Array.from({ length: 2_000 }, () => uuidv7());
    for (const id of ids) expect(id).toMatch(V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The random tails differ between the pool's slices (not one slice handed out twice).
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
  });

  it('puts the given moment in an id made for the past', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    const id = uuidv7At(ms);
    expect(id).toMatch(V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
    expect(uuidv7At(ms)).not.toBe(id);
  });
});
