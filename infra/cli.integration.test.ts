import { execFile, spawn } from 'node:child_process';
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

  it('applies sql/ and sets roles over DATABASE_DIRECT_URL, beside a DATABASE_URL through a pooler', async () => {
    // A DATABASE_URL nothing answers on: only the direct URL can have done the work (its session locks).
    const pooler = db.adminUrl.replace(/:\d+\//, ':1/');
    const env = { DATABASE_URL: pooler, DATABASE_DIRECT_URL: db.adminUrl };
    expect((await cli(['db', 'apply'], env)).stdout).toMatch(/^applied 0 file\(s\)/);
    const { stdout } = await cli(['db', 'roles', '--deployment', 'clidirect'], env);
    const lines = [...stdout.matchAll(/^ {2}(\w*)\s+(postgres\S+)( \(direct\))?$/gm)];
    const at = lines.findIndex((m) => m[1] === 'runner');
    const [pooled, direct] = [lines[at], lines[at + 1]];
    expect(new URL(pooled?.[2] as string).port).toBe('1');
    expect(direct?.[3]).toBe(' (direct)');
    await withClient(direct?.[2] as string, async (client) => {
      expect((await client.query('SELECT current_user AS who')).rows[0]).toEqual({ who: 'llmops_runner_clidirect' });
    });
  });

  it('applies sql/ as the schema runner of a deployment, and sets the login roles with the passwords the env gives', async () => {
    const applied = await cli(['db', 'apply'], { DATABASE_URL: db.adminUrl });
    expect(applied.stdout).toMatch(/^applied 0 file\(s\)\n\d+ already applied\n$/);
    const passwords = Object.fromEntries(
      ['GATEWAY', 'REGISTRY', 'PROMPT', 'RUNNER', 'WORKFLOW'].map((s) => [
        `LLMOPS_DB_PASSWORD_${s}`,
        `pw-${s.toLowerCase()}-${Date.now()}`,
      ]),
    );
    const missing = await cli(['db', 'roles', '--deployment', 'envtest', '--passwords-from-env'], {
      DATABASE_URL: db.adminUrl,
      LLMOPS_DB_PASSWORD_GATEWAY: 'only-this-one',
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(missing.stderr.trim()).toBe(
      "--passwords-from-env: set LLMOPS_DB_PASSWORD_REGISTRY, LLMOPS_DB_PASSWORD_PROMPT, LLMOPS_DB_PASSWORD_RUNNER, LLMOPS_DB_PASSWORD_WORKFLOW (a password for each service's login role).",
    );
    const set = await cli(['db', 'roles', '--deployment', 'envtest', '--passwords-from-env'], {
      DATABASE_URL: db.adminUrl,
      ...passwords,
    });
    expect(set.stdout).toContain('llmops_runner_envtest');
    expect(set.stdout).not.toContain(passwords.LLMOPS_DB_PASSWORD_RUNNER);
    const runnerUrl = new URL(db.adminUrl);
    runnerUrl.username = 'llmops_runner_envtest';
    runnerUrl.password = passwords.LLMOPS_DB_PASSWORD_RUNNER as string;
    await withClient(runnerUrl.href, async (client) => {
      expect((await client.query('SELECT current_user AS who')).rows[0]).toEqual({ who: 'llmops_runner_envtest' });
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
    for (const command of [
      'status',
      'db status',
      'account create',
      'token create',
      'key rotate',
      'import legacy',
      'help [COMMAND]',
    ])
      expect(all.stdout).toContain(`  ${command}`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /^Unknown command "nope"; the commands are status, db, account, token, key, emulator, import, backup, restore, help\./,
    );
  });

  it('says which legacy database or dump file to import from (usage: exit 2)', async () => {
    const outcome = await run(['import', 'legacy', '--from', 'no-such-blog.sql']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.split('\n')[0]).toMatch(
      /^No file \/.*\/no-such-blog\.sql: give a plain-SQL pg_dump file, or a postgres:\/\/ URL of the legacy database\.$/,
    );
    const none = await run(['import', 'legacy']);
    expect(none.code).toBe(2);
    expect(none.stderr.split('\n')[0]).toBe(
      'Say which legacy database: --from postgres://user@host/blog, or --from ./blog_backup.sql (a pg_dump file).',
    );
  });

  it('says what --expires-days takes instead of a stack trace (usage: exit 2)', async () => {
    const outcome = await run(['token', 'create', '--role', 'admin', '--name', 'x', '--expires-days', '-1']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.split('\n')[0]).toBe('--expires-days takes a whole number of days from 1 to 36500 (got "-1").');
    expect(outcome.stderr).not.toMatch(/^\s+at /m);
  });

  it('runs the provider emulator as a local stand-in until Ctrl-C, registering nothing', async () => {
    const child = spawn(process.execPath, [CLI, 'emulator', '--port', '0'], {
      env: { ...process.env, LLMOPS_DATA_DIR: '/nonexistent', DATABASE_URL: '' },
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (found && out.includes('Ctrl-C')) resolve(found[1] as string);
        });
        child.once('exit', () => reject(new Error(`the emulator command ended: ${out}`)));
      });
      expect(out).toContain('a local stand-in, not a real provider');
      expect(out).toContain('It is not registered by itself');
      expect(out).toContain(`kind anthropic   base URL ${url}/anthropic`);
      const models = await fetch(`${url}/anthropic/v1/models`, {
        headers: { 'x-api-key': 'any', 'anthropic-version': '2023-06-01' },
      });
      const listed = (await models.json()) as { data: { display_name: string }[] };
      expect(listed.data.map((m) => m.display_name)).toContain('emu-claude-fast (local emulator stand-in)');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('says what --port takes (usage: exit 2)', async () => {
    const outcome = await run(['emulator', '--port', 'high']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('--port takes a port number (0 to 65535), not "high".');
  });

  it('says where `status` looked for a running install and how to point it at another', async () => {
    const outcome = await run(['status']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('LLM Ops is not running from /nonexistent (no runtime.json there).');
    expect(outcome.stderr).toContain('LLMOPS_DATA_DIR=/that/folder npm run llmops -- <command>');
  });
});
