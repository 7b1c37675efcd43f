/**
 * Live checks: one real call per provider kind through our adapters, when its credentials are in the
 * environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, OLLAMA_BASE_URL; optional *_MODEL to choose the model).
 * Without them each is skipped and says which variable would run it. Nothing here runs against the emulator.
 */
import { describe, expect, it } from 'vitest';
import { adapterFor, type ProviderConnection } from '@llmops/kit/adapters/index';

const env = process.env;
const messages = [
  { role: 'system' as const, content: 'Answer with one word.' },
  { role: 'user' as const, content: 'Say hello.' },
];

interface Live {
  kind: ProviderConnection['kind'];
  variable: string;
  connection: () => ProviderConnection;
  model: () => string | undefined;
}

const LIVE: Live[] = [
  {
    kind: 'openai',
    variable: 'OPENAI_API_KEY',
    connection: () => ({
      kind: 'openai',
      baseUrl: env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
      apiKey: env.OPENAI_API_KEY,
    }),
    model: () => env.OPENAI_MODEL,
  },
  {
    kind: 'anthropic',
    variable: 'ANTHROPIC_API_KEY',
    connection: () => ({
      kind: 'anthropic',
      baseUrl: env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
      apiKey: env.ANTHROPIC_API_KEY,
    }),
    model: () => env.ANTHROPIC_MODEL,
  },
  {
    kind: 'ollama',
    variable: 'OLLAMA_BASE_URL',
    connection: () => ({ kind: 'ollama', baseUrl: env.OLLAMA_BASE_URL as string }),
    model: () => env.OLLAMA_MODEL,
  },
];

const missing = LIVE.filter((live) => !env[live.variable]).map((live) => `${live.kind} (set ${live.variable})`);
if (missing.length > 0) console.info(`live provider checks skipped: ${missing.join(', ')}`);

for (const live of LIVE) {
  const enabled = Boolean(env[live.variable]);
  describe.skipIf(!enabled)(`live ${live.kind} (skipped: set ${live.variable} to run it)`, () => {
    it('lists models, then streams one short chat with usage and a finish reason', { timeout: 60_000 }, async () => {
      const adapter = adapterFor(live.kind);
      const connection = live.connection();
      const models = await adapter.listModels(connection, { firstByteTimeoutMs: 20_000 });
      expect(models.length).toBeGreaterThan(0);
      // The model to call: *_MODEL, else the first the provider lists (a chat model is assumed).
      const model = live.model() ?? (models[0]?.id as string);
      const deltas: string[] = [];
      const result = await adapter.chat(
        connection,
        { model, messages, parameters: { max_output_tokens: 16 } },
        { firstByteTimeoutMs: 30_000, idleTimeoutMs: 30_000, onDelta: (d) => deltas.push(d) },
      );
      expect(result.text.length).toBeGreaterThan(0);
      expect(deltas.join('')).toBe(result.text);
      expect(['stop', 'length']).toContain(result.finish_reason);
      expect(result.usage.input_tokens).toBeGreaterThan(0);
      expect(result.time_to_first_token_ms).not.toBeNull();
    });
  });
}
