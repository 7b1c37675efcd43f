import { describe, expect, it } from 'vitest';
import { move, moveEntry, type Message } from './assembly.ts';

const text = (key: string) => ({ key, type: 'text' as const, text: key });
const messages: Message[] = [
  { key: 'm1', role: 'system', entries: [text('a'), text('b'), text('c')] },
  { key: 'm2', role: 'user', entries: [text('d')] },
];

describe('reordering the assembly', () => {
  it('moves an item up, down, and clamps at the ends', () => {
    expect(move(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
    expect(move(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(move(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c']);
    expect(move(['a', 'b', 'c'], 2, 9)).toEqual(['a', 'b', 'c']);
  });

  it('moves an entry within a message and into another one', () => {
    expect(moveEntry(messages, [0, 0], [0, 2])[0]!.entries.map((entry) => entry.key)).toEqual(['b', 'c', 'a']);
    const across = moveEntry(messages, [0, 1], [1, 0]);
    expect(across.map((message) => message.entries.map((entry) => entry.key))).toEqual([
      ['a', 'c'],
      ['b', 'd'],
    ]);
  });
});
