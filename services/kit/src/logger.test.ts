import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createLogger, REDACT_PATHS, serializeError } from './logger.ts';

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

describe('redaction', () => {
  /** What pino's own `redact` wrote with the same paths: the lines kit's redaction must reproduce. */
  function pinoRedacting(destination: NodeJS.WritableStream) {
    return pino(
      {
        level: 'info',
        base: { service: 'registry', pid: process.pid },
        timestamp: false,
        redact: { paths: REDACT_PATHS, censor: '[redacted]' },
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: serializeError },
      },
      destination as pino.DestinationStream,
    );
  }

  function collect(): { stream: NodeJS.WritableStream; lines: () => Array<Record<string, unknown>> } {
    const written: string[] = [];
    const stream = { write: (line: string) => written.push(line) } as unknown as NodeJS.WritableStream;
    return {
      stream,
      lines: () =>
        written.map((line) => {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          delete parsed.time;
          return parsed;
        }),
    };
  }

  /** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Every key a redaction path names (its segments), and keys no path names, at any depth. */
  const KEYS = [
    ...new Set(REDACT_PATHS.flatMap((path) => path.match(/[\w-]+/g) ?? [])),
    'provider',
    'name',
    'spans',
    'list',
    'err',
    'status',
  ];

  function value(next: () => number, depth: number): unknown {
    const pick = next();
    if (depth >= 4 || pick < 0.35) {
      const leaves = ['sk-live-secret', 42, true, null, undefined, 'plain text', 'Bearer abc'];
      return leaves[Math.floor(next() * leaves.length)];
    }
    if (pick < 0.5) return Array.from({ length: 1 + Math.floor(next() * 3) }, () => value(next, depth + 1));
    if (pick < 0.55) return new Error('connect to postgres://llmops:pa55word@db:5432/x failed');
    const object: Record<string, unknown> = {};
    for (let i = 0; i < 1 + Math.floor(next() * 4); i++)
      object[KEYS[Math.floor(next() * KEYS.length)] as string] = value(next, depth + 1);
    return object;
  }

  it('writes exactly the lines pino’s own redact wrote with REDACT_PATHS, leaving the logged objects as they were', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed);
      const ours = collect();
      const theirs = collect();
      const kit = createLogger({ service: 'registry', destination: ours.stream });
      const reference = pinoRedacting(theirs.stream);
      const bindings = value(next, 1);
      const object = value(next, 0);
      const err = new Error('broken with postgres://u:pw@h/db');
      Object.assign(err, { password: 'hunter2', detail: { api_key: 'sk-1', headers: { 'x-llmops-identity': 'jwt' } } });
      const logged = [object, { err, req: { headers: { authorization: 'Bearer x', cookie: 'c' } } }];
      const before = JSON.stringify(logged, (_, v: unknown) => (v === undefined ? '(undefined)' : v));
      for (const log of [kit, reference]) {
        const child = typeof bindings === 'object' && bindings !== null && !Array.isArray(bindings) ? log.child(bindings) : log;
        for (const item of logged) child.child({ reqId: 'r' }).info(item as object, 'line');
        // Kit's redaction copies what it changes (pino's own changed some objects it was given, so it goes second).
        if (log === kit)
          expect(
            JSON.stringify(logged, (_, v: unknown) => (v === undefined ? '(undefined)' : v)),
            `seed ${seed}`,
          ).toBe(before);
      }
      expect(ours.lines(), `seed ${seed}`).toEqual(theirs.lines());
    }
  });

  it('never changes an object it logs, and logs `err: null` as given', () => {
    const lines: string[] = [];
    const log = createLogger({ service: 'registry', destination: { write: (line: string) => lines.push(line) } as never });
    // pino's own redact replaced the inner key in the caller's object too (its wildcard reached past a copy).
    const logged = { headers: { 'x-llmops-identity': { api_key: 'sk-live-1', note: 'kept' } } };
    log.info(logged, 'line');
    expect(logged.headers['x-llmops-identity'].api_key).toBe('sk-live-1');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ headers: { 'x-llmops-identity': '[redacted]' } });
    log.error({ err: null }, 'no error after all');
    expect(JSON.parse(lines[1] as string)).toMatchObject({ err: null, msg: 'no error after all' });
  });
});
