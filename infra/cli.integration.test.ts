import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isPgError, PgCode, withClient } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';

const db = await useTestDatabase();
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const cli = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, [CLI, ...args], {
    env: { ...process.env, LLMOPS_DATA_DIR: '/nonexistent', ...env },
  });

/** Runs the CLI and gives its exit code with what it printed, whatever the code. */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, LLMOPS_DATA_DIR: '/nonexistent', DATABASE_URL: '' };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

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

  it("prints one command's help for `<command> --help` and `help <command>`, and every command for `help`", async () => {
    const [flag, word, all, unknown] = await Promise.all([
      run(['token', '--help']),
      run(['help', 'token']),
      run(['help']),
      run(['help', 'nope']),
    ]);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toContain('npm run llmops -- token create --role R --name NAME');
    expect(flag.stdout).toContain('npm run llmops -- token revoke ID');
    expect(flag.stdout).not.toContain('db status');
    expect(word).toEqual(flag);
    for (const command of ['status', 'db status', 'account create', 'token create', 'key rotate', 'help [COMMAND]'])
      expect(all.stdout).toContain(`  ${command}`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown command "nope"; the commands are status, db, account, token, key, help\./);
  });

  it('says what --expires-days takes instead of a stack trace (usage: exit 2)', async () => {
    const outcome = await run(['token', 'create', '--role', 'admin', '--name', 'x', '--expires-days', '-1']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.split('\n')[0]).toBe('--expires-days takes a whole number of days from 1 to 36500 (got "-1").');
    expect(outcome.stderr).not.toMatch(/^\s+at /m);
  });

  it('says where `status` looked for a running install and how to point it at another', async () => {
    const outcome = await run(['status']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('LLM Ops is not running from /nonexistent (no runtime.json there).');
    expect(outcome.stderr).toContain('LLMOPS_DATA_DIR=/that/folder npm run llmops -- <command>');
  });
});
