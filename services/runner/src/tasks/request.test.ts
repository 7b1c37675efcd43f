import { describe, expect, it } from 'vitest';
import { imagePrompt } from './request.ts';

describe('the prompt an image model is sent', () => {
  it("is the system and user messages' text, in order, a blank line apart; an assistant's text is left out", () => {
    expect(
      imagePrompt([
        { role: 'system', content: 'Flat colours, no text.' },
        { role: 'user', content: 'A lighthouse at dusk.' },
        { role: 'assistant', content: 'Here is a draft.' },
        { role: 'user', content: 'Make it rain.' },
      ]),
    ).toBe('Flat colours, no text.\n\nA lighthouse at dusk.\n\nMake it rain.');
  });

  it('is the one message alone, and empty when there is nothing to draw', () => {
    expect(imagePrompt([{ role: 'user', content: 'A red kite.' }])).toBe('A red kite.');
    expect(imagePrompt([{ role: 'assistant', content: 'ignored' }])).toBe('');
  });
});
