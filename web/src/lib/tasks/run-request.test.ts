import { describe, expect, it } from 'vitest';
import { runRequest } from './run-request.ts';

const model = '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b';
const other = '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5c';

function form(fields: Record<string, string | string[]>) {
  return {
    get: (name: string) => {
      const value = fields[name];
      return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
    },
    all: (name: string) => {
      const value = fields[name];
      return Array.isArray(value) ? value : value ? [value] : [];
    },
  };
}

describe('runRequest', () => {
  it('makes ad-hoc messages on one model', () => {
    const built = runRequest(form({ source: 'messages', system: 'Be brief.', user: 'Hello', model_ids: model }));
    expect(built).toMatchObject({
      body: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
        ],
        model_id: model,
      },
    });
  });

  it('makes a task group for several models, with a template label and overrides', () => {
    const built = runRequest(
      form({
        source: 'template',
        template_id: model,
        template_ref: 'production',
        inputs: '{"topic":"bread"}',
        model_ids: [model, other],
        temperature: '0.2',
        max_output_tokens: '100',
      }),
    );
    expect(built).toMatchObject({
      body: {
        template_id: model,
        label: 'production',
        inputs: { topic: 'bread' },
        model_ids: [model, other],
        parameters: { temperature: 0.2, max_output_tokens: 100 },
      },
    });
  });

  it('takes a version number as a version', () => {
    expect(runRequest(form({ source: 'template', template_id: model, template_ref: '3' }))).toMatchObject({
      body: { version: 3 },
    });
  });

  it('says what to fix beside each field', () => {
    const built = runRequest(form({ source: 'messages', user: '', inputs: '[1]', temperature: '5' }));
    expect(built).toMatchObject({
      problem: {
        fields: {
          user: 'Write the user message.',
          inputs: expect.stringContaining('JSON object'),
          temperature: 'Expected 0 to 2.',
        },
      },
    });
  });
});
