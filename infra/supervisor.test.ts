/**
 * `npm start` refuses what cannot work before it starts or changes anything, with what is wrong and
 * what to do as its last line (exit 78). Each case is a supervisor process that ends within a second.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SUPERVISOR = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'llmops-refusals-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(env: Record<string, string>): Promise<Outcome> {
  const base = { ...process.env };
  for (const name of Object.keys(base)) if (/^(DATABASE_URL|LLMOPS_|GATEWAY_|RUNNER_)/.test(name)) delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SUPERVISOR],
      { env: { ...base, LLMOPS_PORT_BASE: '29000', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
    );
  });
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1) ?? '';

describe.concurrent('npm start refuses before it starts anything', () => {
  it('a data folder that is a file', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    const outcome = await start({ LLMOPS_DATA_DIR: file });
    expect(outcome.code).toBe(78);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trimEnd()).toBe(
      `LLMOPS_DATA_DIR: cannot use ${file} as the data folder: it is a file, not a folder (EEXIST). ` +
        'Make it a folder this user can write, or set LLMOPS_DATA_DIR to one.',
    );
  });

  it('a port base whose plan runs past port 65535', async () => {
    const outcome = await start({ LLMOPS_DATA_DIR: join(scratch, 'base'), LLMOPS_PORT_BASE: '65533' });
    expect(outcome.code).toBe(78);
    expect(lastLine(outcome.stderr)).toMatch(/^ {2}LLMOPS_PORT_BASE: expected a port from 1 to 65529: .* \(found "65533"\)$/);
    expect(outcome.stderr).not.toContain('Invalid URL');
  });

  it('a wrong setting of one service: named on the last line, and nothing started', async () => {
    const dataDir = join(scratch, 'ttl');
    const outcome = await start({ LLMOPS_DATA_DIR: dataDir, GATEWAY_SESSION_TTL_HOURS: '-1' });
    expect(outcome.code).toBe(78);
    expect(outcome.stdout).toBe('');
    expect(lastLine(outcome.stderr)).toMatch(/^ {2}GATEWAY_SESSION_TTL_HOURS: .*\(found "-1"\)$/);
    expect(readdirSync(dataDir)).not.toContain('postgres');
    expect(existsSync(join(dataDir, 'supervisor.lock'))).toBe(false);
  });

  it('DATABASE_URL without LLMOPS_MASTER_KEYS, before connecting to the database', async () => {
    // Nothing listens on port 1: a start that touched the database would fail on the connection instead.
    const outcome = await start({ LLMOPS_DATA_DIR: join(scratch, 'keys'), DATABASE_URL: 'postgres://admin@127.0.0.1:1/llmops' });
    expect(outcome.code).toBe(78);
    expect(outcome.stdout).toBe('');
    expect(lastLine(outcome.stderr)).toMatch(/^ {2}LLMOPS_MASTER_KEYS: the registry needs the master keyring/);
    expect(outcome.stderr).not.toContain('ECONNREFUSED');
  });
});
