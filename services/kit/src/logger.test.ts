import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('the logger', () => {
  it('writes JSON with the service and redacts secrets by configuration', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const log = createLogger({ service: 'registry', destination: stream });
    log.info(
      { apiKey: 'sk-live-123', provider: { api_key: 'sk-live-456', name: 'OpenAI' }, headers: { authorization: 'Bearer abc' } },
      'saved',
    );
    log.error({ err: new Error('connect to postgres://llmops:pa55word@db:5432/x failed') }, 'failed');
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('\n');
    expect(text).not.toMatch(/sk-live|Bearer abc|pa55word/);
    const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({
      service: 'registry',
      level: 'info',
      msg: 'saved',
      provider: { name: 'OpenAI', api_key: '[redacted]' },
    });
  });
});
