/**
 * Provider keys in the runner's hands, through the public API.
 *
 * A provider that echoes the key it was sent (a proxy, a misconfigured local server), in each encoding
 * servers use — as sent, base64, base64url, URL-encoded, hex in either case, and base64 of a longer text
 * holding the key at each alignment — in its error bodies and in its replies, streamed in pieces. The
 * key must be stored and shown nowhere: not in tasks, attempts (wire record and response text
 * included), bus events, live events (SSE, deltas included), the API's answers, nor the registry's
 * connection test and model listing. Checked by decoding what is there, not by looking for a marker.
 *
 * A key the registry cannot decrypt (sealed with a master key its keyring lacks) fails a task at once,
 * naming what to do, instead of burning its attempts on retries.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateMasterKey, keyringOf, seal } from '@llmops/kit/crypto/keyring';
import { withClient } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { KEY_ENCODINGS, startEmulator, type KeyEncoding, type Protocol } from '@llmops/emulator/server';
import { startGateway, type Caller } from './gateway-support.ts';

/** Characters that URL-encoding changes, so the URL-encoded echo differs from the key itself. */
const KEY = 'sk-echo/Key+9=Zq:x7~0123456789abcdefXYZ';
const db = await useTestDatabase();
const emulator = await startEmulator({ apiKeys: [KEY] });
const gw = await startGateway(db, { services: ['registry', 'prompt', 'runner'] });
afterAll(async () => {
  await gw.stop();
  await emulator.stop();
});
const admin: Caller = await gw.caller('admin');
const auth = () => ({ authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' });

/** Whether the key can be read back from `text`: as is, URL-decoded, or decoded from hex or base64 at any offset. */
function revealsKey(text: string): boolean {
  if (text.includes(KEY)) return true;
  const unescaped = text.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
  if (unescaped.includes(KEY)) return true;
  for (const run of text.match(/[0-9a-fA-F]{16,}/g) ?? []) {
    for (const start of [0, 1]) if (Buffer.from(run.slice(start), 'hex').toString('latin1').includes(KEY)) return true;
  }
  for (const run of unescaped.match(/[A-Za-z0-9+/_-]{16,}/g) ?? []) {
    for (let start = 0; start < 4; start++) {
      const decoded = Buffer.from(run.slice(start).replaceAll('-', '+').replaceAll('_', '/'), 'base64').toString('latin1');
      if (decoded.includes(KEY)) return true;
    }
  }
  return false;
}

describe('the check itself', () => {
  it('finds the key in every encoding the emulator echoes, and in none of the redacted forms', async () => {
    const { encodeKey } = await import('@llmops/emulator/server');
    for (const encoding of KEY_ENCODINGS) expect(revealsKey(`x ${encodeKey(KEY, encoding)} y`), encoding).toBe(true);
    expect(revealsKey('You said: hello (key: [redacted])')).toBe(false);
  });
});

interface Case {
  tag: string;
  protocol: Protocol;
  encoding: KeyEncoding;
  /** `error`: a 400 whose body echoes the key; `retried`: a 503 that does, then an answer; `reply`: an answer that does. */
  how: 'error' | 'retried' | 'reply';
}

const PROTOCOLS: Protocol[] = ['openai', 'anthropic', 'ollama'];
const MODEL: Record<Protocol, string> = { openai: 'emu-gpt-small', anthropic: 'emu-claude-fast', ollama: 'emu-llama:latest' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function json(response: Response): Promise<{ status: number; text: string; body: Json }> {
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : null };
}

/** Every frame of one SSE connection, as raw text. */
async function openEvents(url: string, token: string) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const stream = { text: '', done: false };
  const wakers = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as ReadableStream<Uint8Array>) {
        stream.text += decoder.decode(chunk, { stream: true });
        for (const wake of wakers) wake();
      }
    } catch {
      // closed by the test
    } finally {
      stream.done = true;
    }
  })();
  return {
    stream,
    /** Waits until `condition` holds on the frames so far (bounded). */
    async until(condition: (text: string) => boolean, what: string, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition(stream.text)) {
        if (Date.now() > deadline || stream.done) throw new Error(`no ${what} in the live events:\n${stream.text.slice(-2000)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 250);
          wakers.add(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        wakers.clear();
      }
    },
    close: () => controller.abort(),
  };
}

let providerCount = 0;
async function provider(protocol: Protocol): Promise<{ provider: string; model: string }> {
  const created = await json(
    await gw.api('/api/v1/providers', {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        name: `${protocol} ${++providerCount}`,
        kind: protocol,
        base_url: emulator.baseUrl(protocol),
        api_key: KEY,
      }),
    }),
  );
  expect(created.status, created.text).toBe(201);
  const model = await json(
    await gw.api('/api/v1/models', {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ provider_id: created.body.id, provider_model_id: MODEL[protocol] }),
    }),
  );
  expect(model.status, model.text).toBe(201);
  return { provider: created.body.id, model: model.body.id };
}

describe('a provider that echoes the key it was sent', () => {
  it('shows it nowhere: tasks, attempts, the bus, live events with deltas, the API, connection tests', async () => {
    const run = `echo-${Date.now()}`;
    const providers = Object.fromEntries(
      await Promise.all(PROTOCOLS.map(async (protocol) => [protocol, await provider(protocol)] as const)),
    ) as Record<Protocol, { provider: string; model: string }>;

    // Each encoding in an error body and in a reply, each on another protocol (every protocol gets both).
    const cases: Case[] = [];
    for (const [index, encoding] of KEY_ENCODINGS.entries())
      for (const [shift, how] of (['error', 'reply'] as const).entries())
        cases.push({ tag: `[case-${cases.length}]`, protocol: PROTOCOLS[(index + shift) % 3] as Protocol, encoding, how });
    for (const [index, protocol] of PROTOCOLS.entries())
      cases.push({ tag: `[case-${cases.length}]`, protocol, encoding: KEY_ENCODINGS[index] as KeyEncoding, how: 'retried' });
    for (const c of cases) {
      if (c.how === 'reply') emulator.fault({ match: c.tag, echoKey: c.encoding });
      else emulator.fault({ match: c.tag, echoKey: c.encoding, status: c.how === 'error' ? 400 : 503, times: 1 });
    }

    // Retries come back quickly (the shortest backoff a preset takes).
    const preset = await json(
      await gw.api('/api/v1/presets', {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({ name: 'quick retries', retry_policy: { initial_backoff_ms: 100, max_backoff_ms: 100 } }),
      }),
    );
    expect(preset.status, preset.text).toBe(201);

    const correlation = encodeURIComponent(JSON.stringify({ run }));
    const events = await openEvents(`${gw.url}/api/v1/events?correlation=${correlation}`, admin.token);
    await events.until((text) => text.includes('event: ready'), 'ready event');
    const created = await Promise.all(
      cases.map(async (c) => {
        const answer = await json(
          await gw.api('/api/v1/tasks', {
            method: 'POST',
            headers: auth(),
            body: JSON.stringify({
              model_id: providers[c.protocol].model,
              preset_id: preset.body.id,
              messages: [{ role: 'user', content: `please answer ${c.tag}` }],
              correlation: { run, tag: c.tag },
            }),
          }),
        );
        expect(answer.status, answer.text).toBe(201);
        return { ...c, id: answer.body.tasks[0].id as string };
      }),
    );
    const ended = (text: string) => (text.match(/^event: runner\.task\.(succeeded|failed)$/gm) ?? []).length;
    await events.until((text) => ended(text) === cases.length, `${cases.length} ended tasks`);
    events.close();

    // What the API answers: each task with its attempts, and the list.
    const answers: string[] = [];
    for (const task of created) {
      const read = await json(await gw.api(`/api/v1/tasks/${task.id}`, { headers: auth() }));
      expect(read.status).toBe(200);
      answers.push(read.text);
      const body = read.body;
      const what = `${task.protocol} ${task.encoding} ${task.how}`;
      // The echo happened and was redacted, and the rest of what the provider said is kept.
      if (task.how === 'error') {
        expect(body.status, what).toBe('failed');
        expect(body.error?.message, what).toContain('[redacted]');
      } else if (task.how === 'retried') {
        expect(body.status, what).toBe('succeeded');
        expect(body.attempts[0].error.message, what).toContain('[redacted]');
      } else {
        expect(body.status, what).toBe('succeeded');
        expect(body.output_text, what).toMatch(/^You said: please answer .*\(key: .*\[redacted\].*\) $/);
      }
    }
    answers.push((await json(await gw.api(`/api/v1/tasks?limit=200`, { headers: auth() }))).text);

    const ids = created.map((task) => task.id);
    const stored = await withClient(db.adminUrl, async (client) => ({
      tasks: (await client.query('SELECT * FROM runner.tasks WHERE id = ANY($1::uuid[])', [ids])).rows,
      attempts: (await client.query('SELECT * FROM runner.attempts WHERE task_id = ANY($1::uuid[])', [ids])).rows,
      outbox: (await client.query('SELECT topic, key, payload, headers FROM bus.outbox')).rows,
    }));
    expect(stored.attempts.length).toBe(cases.length + cases.filter((c) => c.how === 'retried').length);
    expect(stored.outbox.some((row) => row.topic === 'runner.task.retrying')).toBe(true);
    expect(events.stream.text).toContain('event: delta');

    // The registry's own calls: a connection test and a model listing against a provider that echoes the key.
    const registry: string[] = [];
    for (const [index, encoding] of KEY_ENCODINGS.entries()) {
      const protocol = PROTOCOLS[index % PROTOCOLS.length] as Protocol;
      const { provider: id } = providers[protocol];
      emulator.fault({ protocol, echoKey: encoding, status: 400, times: 2 });
      const test = await json(await gw.api(`/api/v1/providers/${id}/test`, { method: 'POST', headers: auth() }));
      expect(test.body.ok, test.text).toBe(false);
      expect(test.text).toContain('[redacted]');
      const remote = await json(await gw.api(`/api/v1/providers/${id}/remote-models`, { headers: auth() }));
      expect(remote.status, remote.text).toBe(502);
      registry.push(test.text, remote.text);
    }

    const haystacks: Record<string, string> = {
      'runner.tasks': JSON.stringify(stored.tasks),
      'runner.attempts': JSON.stringify(stored.attempts),
      'bus.outbox': JSON.stringify(stored.outbox),
      'live events (SSE)': events.stream.text,
      'API answers (tasks)': answers.join('\n'),
      'API answers (registry)': registry.join('\n'),
    };
    for (const [where, text] of Object.entries(haystacks))
      expect(revealsKey(text), `the key can be read from ${where}`).toBe(false);
  });
});

describe('a key the registry cannot decrypt', () => {
  it('fails the task at once, as `credential`, saying what to do; the registry answers a clear problem', async () => {
    const { provider: id, model } = await provider('openai');
    // As after a rotation whose keyring never reached the registry: sealed with a master key it does not hold.
    const elsewhere = keyringOf([generateMasterKey()]);
    await withClient(db.adminUrl, (client) =>
      client.query('UPDATE registry.providers SET api_key_envelope = $2, api_key_previous_envelope = NULL WHERE id = $1', [
        id,
        seal(elsewhere, KEY, id),
      ]),
    );
    emulator.clearRequests();
    const created = await json(
      await gw.api('/api/v1/tasks', {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({ model_id: model, messages: [{ role: 'user', content: 'hello' }] }),
      }),
    );
    expect(created.status, created.text).toBe(201);
    const task = await json(await gw.api(`/api/v1/tasks/${created.body.tasks[0].id}?wait=20`, { headers: auth() }));
    expect(task.body.status, task.text).toBe('failed');
    expect(task.body.error).toMatchObject({ kind: 'credential', retryable: false });
    expect(task.body.error.message).toContain(elsewhere.current.id);
    expect(task.body.error.message).toMatch(/LLMOPS_MASTER_KEYS/);
    expect(task.body.error.message).toMatch(/api_key/);
    expect(task.body.attempts).toHaveLength(1);
    expect(emulator.requests).toHaveLength(0);

    // The admin's own calls that need the key say the same, as a problem, not a 500.
    const test = await json(await gw.api(`/api/v1/providers/${id}/test`, { method: 'POST', headers: auth() }));
    expect(test.status, test.text).toBe(409);
    expect(test.body).toMatchObject({ type: expect.stringMatching(/credential-unreadable$/), status: 409 });
    expect(test.body.detail).toContain(elsewhere.current.id);
    expect(revealsKey(task.text + test.text)).toBe(false);
  });
});
