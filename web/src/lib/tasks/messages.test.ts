import { describe, expect, it } from 'vitest';
import { legacyOrigin, sentMessages } from './messages.ts';

describe('a task snapshot as the record page reads it', () => {
  it('takes the messages with a role and a text, and leaves anything else out', () => {
    expect(sentMessages({ messages: [{ role: 'user', content: 'Hi' }, { role: 'user' }, 'x'] })).toEqual([
      { role: 'user', content: 'Hi' },
    ]);
    expect(sentMessages({})).toEqual([]);
  });

  it('names the legacy row a legacy record came from, or nothing when the snapshot does not say', () => {
    expect(
      legacyOrigin({ legacy: { source: 'blog', table: 'llm_interaction', id: '7', model: 'mistral', prompt_id: 116 } }),
    ).toEqual({ source: 'blog', table: 'llm_interaction', id: '7', model: 'mistral' });
    expect(legacyOrigin({ legacy: { source: 'blog', table: 'llm_interaction', id: '7', model: null } })?.model).toBeNull();
    expect(legacyOrigin({ legacy: { source: 'blog' } })).toBeUndefined();
    expect(legacyOrigin({ messages: [] })).toBeUndefined();
  });
});
