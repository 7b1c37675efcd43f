import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { ServiceEnvSchema, busConfigFrom, resolveUrls, retentionJobs } from './runtime.ts';

describe('configuration', () => {
  it('names every missing or invalid variable and what it expects', () => {
    const error = (() => {
      try {
        loadConfig(ServiceEnvSchema, { DATABASE_URL: 'mysql://x', LLMOPS_PORT_BASE: 'abc' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_URL: expected a postgres:// or postgresql:// URL (found "mysql://x")');
    expect(message).toContain('LLMOPS_INTERNAL_SECRET');
    expect(message).toContain('it is not set');
    expect(message).toContain('LLMOPS_PORT_BASE');
  });

  it('refuses a port base whose plan (base to base+6) would run past port 65535', () => {
    const env = { DATABASE_URL: 'postgres://u:p@h/db', LLMOPS_INTERNAL_SECRET: 'x'.repeat(32) };
    expect(loadConfig(ServiceEnvSchema, { ...env, LLMOPS_PORT_BASE: '65529' }).LLMOPS_PORT_BASE).toBe(65529);
    expect(() => loadConfig(ServiceEnvSchema, { ...env, LLMOPS_PORT_BASE: '65533' })).toThrow(
      /LLMOPS_PORT_BASE: expected a port from 1 to 65529: the plan uses base to base\+6 .* \(found "65533"\)/,
    );
  });

  it('places services on the port plan and honours <SERVICE>_URL overrides', () => {
    const env = loadConfig(ServiceEnvSchema, {
      DATABASE_URL: 'postgres://u:p@h/db',
      LLMOPS_INTERNAL_SECRET: 'x'.repeat(32),
      LLMOPS_PORT_BASE: '9000',
      RUNNER_URL: 'http://runner.internal:80/',
    });
    expect(resolveUrls({ ...env })).toEqual({
      web: 'http://127.0.0.1:9000',
      gateway: 'http://127.0.0.1:9001',
      registry: 'http://127.0.0.1:9002',
      prompt: 'http://127.0.0.1:9003',
      runner: 'http://runner.internal:80',
      workflow: 'http://127.0.0.1:9005',
    });
  });

  it('runs dead letter retention in every service and key retention where a service keeps keys, each off at 0', () => {
    const base = { DATABASE_URL: 'postgres://u:p@h/db', LLMOPS_INTERNAL_SECRET: 'x'.repeat(32) };
    const kinds = (service: Parameters<typeof retentionJobs>[0], extra: Record<string, string> = {}) =>
      retentionJobs(service, loadConfig(ServiceEnvSchema, { ...base, ...extra }), undefined as never, undefined as never).map(
        (job) => job.kind,
      );
    expect(kinds('registry')).toEqual(['dead_letters', 'idempotency_keys']);
    expect(kinds('gateway')).toEqual(['dead_letters']); // it keeps no idempotency keys
    expect(kinds('runner', { LLMOPS_DEAD_LETTER_RETENTION_HOURS: '0' })).toEqual(['idempotency_keys']);
    expect(kinds('workflow', { LLMOPS_IDEMPOTENCY_RETENTION_HOURS: '0', LLMOPS_DEAD_LETTER_RETENTION_HOURS: '0' })).toEqual([]);
    expect(() => loadConfig(ServiceEnvSchema, { ...base, LLMOPS_IDEMPOTENCY_RETENTION_HOURS: '-1' })).toThrow(
      /LLMOPS_IDEMPOTENCY_RETENTION_HOURS/,
    );
  });

  it('runs retention, the outbox included, every 10 minutes unless LLMOPS_RETENTION_INTERVAL_MS says otherwise', () => {
    const base = { DATABASE_URL: 'postgres://u:p@h/db', LLMOPS_INTERNAL_SECRET: 'x'.repeat(32) };
    const env = (extra: Record<string, string> = {}) => loadConfig(ServiceEnvSchema, { ...base, ...extra });
    expect(env().LLMOPS_RETENTION_INTERVAL_MS).toBe(600_000);
    expect(busConfigFrom(env()).retention).toEqual({ maxAgeMs: 7 * 24 * 3_600_000, intervalMs: 600_000, batchSize: 5_000 });
    const hourly = env({ LLMOPS_RETENTION_INTERVAL_MS: '3600000', LLMOPS_BUS_RETENTION_HOURS: '48' });
    expect(hourly.LLMOPS_RETENTION_INTERVAL_MS).toBe(3_600_000);
    expect(busConfigFrom(hourly).retention).toEqual({ maxAgeMs: 48 * 3_600_000, intervalMs: 3_600_000, batchSize: 5_000 });
    expect(busConfigFrom(env({ LLMOPS_BUS_RETENTION_HOURS: '0' })).retention).toBe(false);
    expect(() => env({ LLMOPS_RETENTION_INTERVAL_MS: '10' })).toThrow(
      /LLMOPS_RETENTION_INTERVAL_MS: expected at least 1000 milliseconds/,
    );
    expect(() => env({ LLMOPS_RETENTION_INTERVAL_MS: 'ten minutes' })).toThrow(/LLMOPS_RETENTION_INTERVAL_MS/);
  });
});
