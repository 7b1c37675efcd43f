import { describe, expect, it } from 'vitest';
import { fieldOf, showProblem } from './problem.ts';

describe('a problem’s fields', () => {
  it('land on the form field the path names, list indexes of either form dropped', () => {
    expect(fieldOf('body.email')).toBe('email');
    expect(fieldOf('body.scopes.0')).toBe('scopes');
    expect(fieldOf('body.fallback_model_ids[1]')).toBe('fallback_model_ids');
    expect(fieldOf('body.parameters.temperature')).toBe('temperature');
  });

  it('read as sentences, the first message per field kept', () => {
    const shown = showProblem(
      {
        detail: 'The preset was not saved.',
        errors: [
          { field: 'body.fallback_model_ids[0]', message: 'model "Image" generates images' },
          { field: 'body.fallback_model_ids[1]', message: 'no such model' },
        ],
      },
      'fallback',
    );
    expect(shown).toEqual({
      detail: 'The preset was not saved.',
      fields: { fallback_model_ids: 'Model "Image" generates images.' },
    });
  });
});
