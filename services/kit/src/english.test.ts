import { describe, expect, it } from 'vitest';
import { withArticle } from './english.ts';

describe('withArticle', () => {
  it('puts "an" before a vowel and "a" before anything else', () => {
    expect(withArticle('object')).toBe('an object');
    expect(withArticle('Anthropic provider')).toBe('an Anthropic provider');
    expect(withArticle('OpenAI or OpenAI-compatible provider')).toBe('an OpenAI or OpenAI-compatible provider');
    expect(withArticle('list')).toBe('a list');
    expect(withArticle('runner.task.queued event')).toBe('a runner.task.queued event');
  });
});
