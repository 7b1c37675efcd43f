/**
 * Backup and restore of the embedded default, one round trip: an install with an account is backed up
 * while stopped, changed (an account added), restored, and `npm start` runs on the restored data: the
 * account of the backup signs in, the later one does not. While it runs, backup and restore refuse.
 * Needs the built dashboard (`npm run build -w web`; npm test builds it first), as `npm start` does.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { withClient, withDatabase } from '@llmops/kit/db';
import { startEmbeddedPostgres } from '@llmops/kit/embedded';
import { applySchema } from '@llmops/kit/schema';
import { freePort } from '@llmops/kit/testing/database';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { freePortBase, until } from '../tests/chaos/cluster.ts';
import { loadOrCreateMasterKeys, loadOrCreateSecrets } from './secrets.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'llmops-backup-test-'));
chmodSync(scratch, 0o755);
const dataDir = join(scratch, 'data');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PASSWORD = 'a long enough password';
/** This environment without DATABASE_URL: the embedded default. */
const embeddedEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL'));

/** The CLI against the data folder, as an operator runs it: exit code and what it printed. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'infra/cli.ts'), ...args],
      { env: { ...embeddedEnv, LLMOPS_DATA_DIR: dataDir, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** The embedded server of the data folder, as `npm start` runs it, for `use`; stopped after. */
async function withInstall(use: (url: string) => Promise<void>): Promise<void> {
  const secrets = loadOrCreateSecrets(dataDir);
  loadOrCreateMasterKeys(dataDir);
  const server = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'postgres'),
    port: await freePort(),
    password: secrets.postgresPassword,
    persistent: true,
  });
  try {
    await withClient(server.url, async (client) => {
      const found = await client.query("SELECT 1 FROM pg_database WHERE datname = 'llmops'");
      if (found.rowCount === 0) await client.query('CREATE DATABASE llmops');
    });
    const url = withDatabase(server.url, 'llmops');
    await applySchema(url);
    await use(url);
  } finally {
    await server.stop();
  }
}

const account = (email: string) => ({ email, name: email.split('@')[0] as string, role: 'admin' as const, password: PASSWORD });

describe('backup and restore of the embedded default', () => {
  it('round trip: back up, change, restore, and npm start runs on the data of the backup', async () => {
    const file = join(scratch, 'llmops.tar.gz');
    // With DATABASE_URL the server's own tools are named instead, and nothing is written.
    const [withServer] = await Promise.all([
      cli(['backup', file], { DATABASE_URL: 'postgres://admin@127.0.0.1:1/llmops' }),
      withInstall((url) => createAccountAsOperator(url, account('kept@llmops.test')).then(() => undefined)),
    ]);
    expect(withServer.code).toBe(1);
    expect(withServer.stderr).toContain('pg_dump / pg_restore');
    expect(existsSync(file)).toBe(false);

    const made = await cli(['backup', file]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain(`to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const keys = readFileSync(join(dataDir, 'master-keys'), 'utf8');
    const [again] = await Promise.all([
      cli(['backup', file]),
      withInstall((url) => createAccountAsOperator(url, account('after@llmops.test')).then(() => undefined)),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${file} exists already`);

    const restored = await cli(['restore', file]);
    expect(restored.code, restored.stderr).toBe(0);
    const aside = readdirSync(dataDir).filter((name) => name.startsWith('before-restore-'));
    expect(aside).toHaveLength(1);
    expect(restored.stdout).toContain(join(dataDir, aside[0] as string));
    expect(readdirSync(join(dataDir, aside[0] as string)).sort()).toEqual(['master-keys', 'postgres', 'secrets.json']);
    expect(readFileSync(join(dataDir, 'master-keys'), 'utf8')).toBe(keys);

    const base = await freePortBase();
    const supervisor = spawn(process.execPath, [join(ROOT, 'infra/supervisor.ts')], {
      cwd: ROOT,
      env: { ...embeddedEnv, LLMOPS_DATA_DIR: dataDir, LLMOPS_PORT_BASE: String(base), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [supervisor.stdout, supervisor.stderr])
      stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => supervisor.once('exit', resolve));
    // Its exit code is checked after the flow, so a flow that failed (a start that never finished, say)
    // reports its own failure, with the supervisor's output, rather than the exit code of the stop it caused.
    let code: number | null;
    try {
      await until(
        async () => output.includes('LLM Ops is running'),
        90_000,
        () => `npm start on the restored data:\n${output}`,
      );
      const signIn = (email: string) =>
        fetch(`http://127.0.0.1:${base + 1}/api/v1/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: PASSWORD }),
        }).then((response) => response.status);
      // Both at once: each is a password check, seconds apart one after the other on a loaded machine.
      expect(await Promise.all([signIn('kept@llmops.test'), signIn('after@llmops.test')])).toEqual([200, 401]);

      // While it runs, both refuse, naming the supervisor and how to stop it; nothing is written.
      const [backupWhileUp, restoreWhileUp] = await Promise.all([
        cli(['backup', join(scratch, 'while-up.tar.gz')]),
        cli(['restore', file]),
      ]);
      for (const refused of [backupWhileUp, restoreWhileUp]) {
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`LLM Ops is running from it (supervisor pid ${supervisor.pid})`);
      }
      expect(existsSync(join(scratch, 'while-up.tar.gz'))).toBe(false);
    } finally {
      supervisor.kill('SIGINT');
      code = await exited;
    }
    expect(code, `npm start on the restored data, stopped:\n${output}`).toBe(0);
  }, 120_000);
});
