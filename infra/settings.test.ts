import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@llmops/kit/config';
import { SERVICES } from '@llmops/kit/services';
import { assertSettings } from './settings.ts';

const common = {
  DATABASE_URL: 'postgres://llmops_x_app:pw@127.0.0.1:7406/llmops',
  LLMOPS_INTERNAL_SECRET: 'x'.repeat(48),
  LLMOPS_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
};
const envs = (extra: Record<string, string>) => SERVICES.map((service) => [service, { ...common, ...extra }] as const);

function problems(extra: Record<string, string>): readonly string[] {
  try {
    assertSettings(envs(extra));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("every service's settings, before anything starts", () => {
  it('pass as the supervisor hands them on', () => {
    expect(problems({})).toEqual([]);
  });

  it('name every wrong one of every service at once, a setting all services read only once', () => {
    const found = problems({
      GATEWAY_SESSION_TTL_HOURS: '-1',
      RUNNER_CONCURRENCY: '0',
      LLMOPS_BUS_SWEEP_MS: 'soon',
      PROMPT_RENDER_WORKERS: 'many',
    });
    expect(found.map((line) => line.split(':')[0])).toEqual([
      'LLMOPS_BUS_SWEEP_MS',
      'GATEWAY_SESSION_TTL_HOURS',
      'PROMPT_RENDER_WORKERS',
      'RUNNER_CONCURRENCY',
    ]);
    expect(found[1]).toContain('(found "-1")');
  });

  it('check each service pool size and the pooler settings, a pool size the runner checks too said once', () => {
    const found = problems({
      DATABASE_DIRECT_URL: 'mysql://db/llmops',
      DATABASE_NAMED_STATEMENTS: 'no',
      GATEWAY_DB_POOL_MAX: '0',
      RUNNER_DB_POOL_MAX: 'plenty',
    });
    expect(found.map((line) => line.split(':')[0])).toEqual([
      'DATABASE_DIRECT_URL',
      'DATABASE_NAMED_STATEMENTS',
      'RUNNER_DB_POOL_MAX',
      'GATEWAY_DB_POOL_MAX',
    ]);
    expect(problems({ GATEWAY_DB_POOL_MAX: '4', DATABASE_NAMED_STATEMENTS: 'off' })).toEqual([]);
  });

  it("name the registry's missing keyring", () => {
    const { LLMOPS_MASTER_KEYS: _keys, ...withoutKeys } = common;
    const error = (() => {
      try {
        assertSettings([['registry', withoutKeys]]);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.problems).toEqual([expect.stringMatching(/^LLMOPS_MASTER_KEYS: the registry needs the master keyring/)]);
  });
});
