import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isPgError, PgCode, withClient } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';

const db = await useTestDatabase();
const cli = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, [fileURLToPath(new URL('./cli.ts', import.meta.url)), ...args], {
    env: { ...process.env, LLMOPS_DATA_DIR: '/nonexistent', ...env },
  });

describe('the operator CLI', () => {
  it('reports the schema as current', async () => {
    const { stdout } = await cli(['db', 'status'], { DATABASE_URL: db.adminUrl });
    expect(stdout).toMatch(/(\d+) SQL files in sql\/; \1 applied/);
  });

  it('creates login roles for a deployment and prints a working DATABASE_URL per service, once', async () => {
    const { stdout } = await cli(['db', 'roles', '--deployment', 'clitest'], { DATABASE_URL: db.adminUrl });
    const urls = Object.fromEntries([...stdout.matchAll(/^ {2}(\w+)\s+(postgres\S+)$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(urls).sort()).toEqual(['gateway', 'prompt', 'registry', 'runner', 'workflow']);
    await withClient(urls.runner as string, async (client) => {
      expect((await client.query('SELECT current_user AS who')).rows[0]).toEqual({ who: 'llmops_runner_clitest' });
      const error = await client.query('CREATE TABLE registry.nope (id int)').catch((e: unknown) => e);
      expect(isPgError(error, PgCode.insufficientPrivilege)).toBe(true);
    });
  });

  it('says what to do when there is no database to talk to', async () => {
    const error = (await cli(['db', 'status'], { DATABASE_URL: '' }).catch((e: unknown) => e)) as { stderr: string };
    expect(error.stderr).toContain('set DATABASE_URL');
  });
});
