import { describe, expect, it, afterAll } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { SERVICES } from '@llmops/kit/services';

const db = await useTestDatabase();

describe('the whole stack in one process', async () => {
  const stack = await startStack({ db, services: SERVICES });
  afterAll(() => stack.stop());

  it('starts every service, each ready: database reachable, schema current', async () => {
    for (const service of SERVICES) {
      const response = await fetch(`${stack.urls[service]}/readyz`);
      const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(body.status, `${service}: ${JSON.stringify(body)}`).toBe('ready');
      expect(body.checks.database?.ok).toBe(true);
      expect(body.checks.schema?.ok).toBe(true);
      expect(body.checks.bus?.ok).toBe(true);
    }
  });

  it('has services refuse calls without an internal identity, and take them with one', async () => {
    for (const service of ['registry', 'prompt', 'runner', 'workflow'] as const) {
      const anonymous = await fetch(`${stack.urls[service]}/anything`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
      const signed = await stack.call(service, '/anything');
      expect(signed.status).toBe(404);
    }
  });

  it('serves the public OpenAPI 3.1 document and the interactive reference from the gateway', async () => {
    const document = (await (await fetch(`${stack.urls.gateway}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/api/v1/openapi.json']));
    const page = await fetch(`${stack.urls.gateway}/api/v1/docs`);
    const html = await page.text();
    expect(html).toContain('/api/v1/docs/assets/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const script = await fetch(`${stack.urls.gateway}/api/v1/docs/assets/swagger-ui-bundle.js`);
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});

describe('a service as its own process', () => {
  it('starts on port 0, reports where it listens, and stops cleanly on SIGTERM', async () => {
    const stack = await startStack({ db, services: ['prompt'], mode: 'process' });
    const prompt = stack.services.get('prompt');
    expect((await fetch(`${stack.urls.prompt}/healthz`)).status).toBe(200);
    await stack.stop();
    expect(prompt?.process?.exitCode).toBe(0);
  });
});
