/**
 * What the runner asks of the other services, seen by relays that stand between them. Its copy of the
 * registry (ADR 0018) when it lacks what a task names: one call to the registry's snapshots route brings
 * the preset, its models and their provider, and the next task needs none; that route answers the
 * runner alone. A render for a task counts against whoever asked for the task (X-LLMOps-On-Behalf-Of).
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { ON_BEHALF_OF_HEADER, type Identity } from '@llmops/kit/http/identity';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { editor, FAST_RUNNER_ENV, type Json } from './runner-support.ts';

const db = await useTestDatabase();

interface Relay {
  server: Server;
  url: string;
  /** Where it passes calls on, once the service has started. */
  target: string;
  /** `METHOD /path` and the headers of every call that came through. */
  calls: { line: string; headers: IncomingHttpHeaders }[];
}

async function startRelay(): Promise<Relay> {
  const relay: Relay = { server: createServer(), url: '', target: '', calls: [] };
  relay.server.on('request', (incoming, outgoing) => {
    relay.calls.push({ line: `${incoming.method} ${incoming.url}`, headers: incoming.headers });
    const forwarded = request(
      new URL(incoming.url ?? '/', relay.target),
      { method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(relay.server.address() as AddressInfo).port}`;
  return relay;
}

const registry = await startRelay();
const prompt = await startRelay();
const stack = await startStack({
  db,
  services: ['registry', 'prompt', 'runner'],
  env: { ...FAST_RUNNER_ENV, REGISTRY_URL: registry.url, PROMPT_URL: prompt.url },
});
registry.target = stack.urls.registry as string;
prompt.target = stack.urls.prompt as string;
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 2 });
afterAll(async () => {
  await stack.stop();
  await admin.end();
  for (const relay of [registry, prompt]) {
    relay.server.closeAllConnections();
    await new Promise((resolve) => relay.server.close(resolve));
  }
});

async function call(service: 'registry' | 'runner', path: string, body?: unknown, identity?: Identity) {
  const response = await stack.call(
    service,
    path,
    { method: body === undefined ? 'GET' : 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    identity,
  );
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Json };
}

async function created(path: string, body: unknown): Promise<string> {
  const answer = await call('registry', path, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.id as string;
}

let n = 0;
/** A provider, two models and a preset with the second as its fallback, in the registry. */
async function registryPreset() {
  const provider = await created('/api/v1/providers', {
    name: `cold copy ${++n}`,
    kind: 'openai',
    base_url: 'http://127.0.0.1:9/v1',
  });
  const model = await created('/api/v1/models', { provider_id: provider, provider_model_id: 'gpt-cold' });
  const fallback = await created('/api/v1/models', { provider_id: provider, provider_model_id: 'gpt-cold-fallback' });
  const preset = await created('/api/v1/presets', { name: `cold ${n}`, model_id: model, fallback_model_ids: [fallback] });
  return { provider, model, fallback, preset };
}

/** Empties the runner's copy of them once their events have filled it, so it is cold again. */
async function forget({ provider, model, fallback, preset }: Awaited<ReturnType<typeof registryPreset>>): Promise<void> {
  for (let i = 0; ; i++) {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM runner.providers WHERE id = $1) + (SELECT count(*) FROM runner.models WHERE id = ANY($2::uuid[]))
            + (SELECT count(*) FROM runner.presets WHERE id = $3) AS n`,
      [provider, [model, fallback], preset],
    );
    if (Number(rows[0]?.n) === 4) break;
    if (i > 400) throw new Error('the runner never copied the registry’s events');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await admin.query('DELETE FROM runner.presets WHERE id = $1', [preset]);
  await admin.query('DELETE FROM runner.models WHERE id = ANY($1::uuid[])', [[model, fallback]]);
  await admin.query('DELETE FROM runner.providers WHERE id = $1', [provider]);
}

/** The runner's calls to the registry but the key fetches of its worker, which runs the task at once. */
const copyCalls = () => registry.calls.map((call) => call.line).filter((line) => !line.endsWith('/credential'));

describe("the runner's copy of the registry", () => {
  it('is filled in one call when cold: the preset, its models and their provider; then needs none', async () => {
    const names = await registryPreset();
    await forget(names);
    const task = () =>
      call('runner', '/api/v1/tasks', { preset_id: names.preset, messages: [{ role: 'user', content: 'Hi' }] }, editor);
    registry.calls.length = 0;
    const first = await task();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(copyCalls()).toEqual(['POST /internal/snapshots']);
    const { rows } = await admin.query('SELECT snapshot FROM runner.tasks WHERE id = $1', [first.body.tasks[0].id]);
    expect(rows[0].snapshot.chain.map((model: Json) => model.model_id)).toEqual([names.model, names.fallback]);

    registry.calls.length = 0;
    expect((await task()).status).toBe(201);
    expect(copyCalls()).toEqual([]);
  });

  it('answers the runner alone, in the shapes of the registry events, unknown ids left out', async () => {
    const { provider, model, fallback, preset } = await registryPreset();
    const unknown = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';
    const want = { preset_ids: [preset, unknown], model_ids: [unknown] };
    const runner: Identity = { kind: 'service', subject: 'runner' };
    const answer = await call('registry', '/internal/snapshots', want, runner);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.presets).toEqual([
      expect.objectContaining({ id: preset, model_id: model, fallback_model_ids: [fallback] }),
    ]);
    expect(answer.body.models.map((m: Json) => m.id).sort()).toEqual([model, fallback].sort());
    expect(answer.body.models[0]).toMatchObject({ provider_id: provider, supports_json: expect.any(Boolean), prices: [] });
    expect(answer.body.providers).toEqual([
      expect.objectContaining({ id: provider, credential_changed: false, has_api_key: false }),
    ]);

    expect((await call('registry', '/internal/snapshots', want)).status).toBe(403);
    expect((await call('registry', '/internal/snapshots', want, { kind: 'service', subject: 'prompt' })).status).toBe(403);
  });

  it('renders for a task on behalf of whoever asked for it', async () => {
    const { model } = await registryPreset();
    prompt.calls.length = 0;
    const task = await call(
      'runner',
      '/api/v1/tasks',
      { model_id: model, render: true, messages: [{ role: 'user', content: 'Hello {{ name }}' }], inputs: { name: 'Ada' } },
      editor,
    );
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    expect(prompt.calls.map((call) => [call.line, call.headers[ON_BEHALF_OF_HEADER]])).toEqual([
      ['POST /api/v1/assemble', `account:${editor.subject}`],
    ]);
  });

  it("renders a template's latest published version in one call to the prompt service", async () => {
    const { model } = await registryPreset();
    const post = (path: string, body: unknown) =>
      stack.call('prompt', path, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as Json,
      }));
    const template = await post('/api/v1/templates', {
      name: `latest ${++n}`,
      variables: [{ name: 'name', type: 'string' }],
      messages: [{ role: 'user', entries: [{ type: 'text', text: 'Hello {{ name }}' }] }],
    });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    expect((await post(`/api/v1/templates/${template.body.id}/publish`, {})).status).toBe(201);
    prompt.calls.length = 0;
    const task = await call(
      'runner',
      '/api/v1/tasks',
      { template_id: template.body.id, model_id: model, inputs: { name: 'Ada' } },
      editor,
    );
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    expect(task.body.tasks[0].template).toEqual({ id: template.body.id, version: 1, label: null });
    expect(prompt.calls.map((call) => call.line)).toEqual(['POST /internal/render']);
  });
});
