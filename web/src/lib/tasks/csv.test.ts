import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from './csv.ts';

describe('csvField', () => {
  it('quotes commas, quotes and line breaks', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
  });

  it('defuses a formula a spreadsheet would run, but leaves negative numbers', () => {
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('-3')).toBe('-3');
  });
});

describe('toCsv', () => {
  it('writes a header and one line per task', () => {
    const task = {
      id: '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b',
      created_at: '2026-01-01T00:00:00.000Z',
      finished_at: null,
      status: 'succeeded',
      model_id: null,
      provider_id: null,
      preset_id: null,
      template: null,
      group_id: null,
      retry_of: null,
      attempt_count: 1,
      usage: { input_tokens: 3, output_tokens: 4, cached_input_tokens: 0 },
      cost_usd: '0.000001000000',
      timing: { queue_wait_ms: 0, provider_ms: 5, overhead_ms: 1, time_to_first_token_ms: 2, total_ms: 9 },
      error: null,
      output_text: 'Hello, world',
    } as unknown as Parameters<typeof toCsv>[0][number];
    const [header, line, end] = toCsv([task]).split('\r\n');
    expect(header?.split(',')).toContain('cost_usd');
    expect(line).toContain('0.000001000000');
    expect(line?.endsWith('"Hello, world"')).toBe(true);
    expect(end).toBe('');
  });
});
