import { describe, expect, it } from 'vitest';
import { ConfigError } from '@llmops/kit/config';
import { runnerConfig } from './config.ts';

describe("the runner's pool size", () => {
  it('defaults to the smaller of the concurrency and 16', () => {
    expect(runnerConfig({}).poolMax).toBe(16);
    expect(runnerConfig({ RUNNER_CONCURRENCY: '4' }).poolMax).toBe(4);
    expect(runnerConfig({ RUNNER_CONCURRENCY: '1000' }).poolMax).toBe(16);
    expect(runnerConfig({ RUNNER_DB_POOL_MAX: '24' }).poolMax).toBe(24);
  });

  it('refuses a pool that does not fit the connection budget with its LISTEN connection, saying what to set', () => {
    expect(runnerConfig({ RUNNER_DB_POOL_MAX: '31' }).poolMax).toBe(31);
    expect(() => runnerConfig({ RUNNER_DB_POOL_MAX: '32' })).toThrow(ConfigError);
    expect(() => runnerConfig({ RUNNER_DB_POOL_MAX: '32' })).toThrow(/RUNNER_DB_POOL_MAX to at most 31/);
    expect(() => runnerConfig({ RUNNER_DB_CONNECTION_BUDGET: '8' })).toThrow(
      /default, min\(RUNNER_CONCURRENCY, 16\) = 16 connections .* RUNNER_DB_CONNECTION_BUDGET \(8\)/,
    );
    expect(runnerConfig({ RUNNER_DB_CONNECTION_BUDGET: '8', RUNNER_CONCURRENCY: '7' }).poolMax).toBe(7);
    expect(() => runnerConfig({ RUNNER_DB_POOL_MAX: '0' })).toThrow(/RUNNER_DB_POOL_MAX/);
  });
});

describe('attempt payload retention', () => {
  it('is off unless set, in whole days of at least one, and says what to set otherwise', () => {
    expect(runnerConfig({}).payloadRetentionMs).toBeUndefined();
    expect(runnerConfig({ RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS: '90' }).payloadRetentionMs).toBe(90 * 86_400_000);
    expect(() => runnerConfig({ RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS: '0' })).toThrow(/RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS/);
    expect(() => runnerConfig({ RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS: 'forever' })).toThrow(/number of days/);
  });
});
