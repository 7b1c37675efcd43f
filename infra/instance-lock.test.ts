import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@llmops/kit/config';
import { claimDataDir, lockPath } from './instance-lock.ts';

const scratch = mkdtempSync(join(tmpdir(), 'llmops-lock-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A process whose command line looks like a running supervisor's. */
function fakeSupervisor() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', 'infra/supervisor.ts'], { stdio: 'ignore' });
  const gone = new Promise((resolve) => child.once('exit', resolve));
  return { pid: child.pid as number, stop: () => (child.kill(), gone) };
}

/** The pid of a process that has ended. */
async function endedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('one npm start per data folder', () => {
  it('refuses a start while a backup holds the folder, saying so', async () => {
    const dataDir = mkdtempSync(join(scratch, 'backup-'));
    // A process whose command line looks like the operator CLI's, as `npm run llmops -- backup` runs.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', 'infra/cli.ts', 'backup'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => child.once('exit', resolve));
    try {
      const lock = { pid: child.pid, started_at: '2026-01-01T00:00:00.000Z', holder: 'backup' };
      writeFileSync(lockPath(dataDir), JSON.stringify(lock));
      expect(() => claimDataDir(dataDir)).toThrow(
        `A backup of ${dataDir} is running (pid ${child.pid} since 2026-01-01T00:00:00.000Z); start again once it has finished.`,
      );
      expect(readFileSync(lockPath(dataDir), 'utf8')).toBe(JSON.stringify(lock));
    } finally {
      child.kill();
      await gone;
    }
  });

  it('refuses a second start while a supervisor holds the folder, naming its pid and how to stop it', async () => {
    const dataDir = mkdtempSync(join(scratch, 'held-'));
    const running = fakeSupervisor();
    try {
      writeFileSync(lockPath(dataDir), JSON.stringify({ pid: running.pid, started_at: '2026-01-01T00:00:00.000Z' }));
      writeFileSync(join(dataDir, 'runtime.json'), JSON.stringify({ urls: { web: 'http://127.0.0.1:7400' } }));
      const error = (() => {
        try {
          claimDataDir(dataDir);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `LLM Ops is already running from ${dataDir} (supervisor pid ${running.pid} since 2026-01-01T00:00:00.000Z, ` +
          `dashboard http://127.0.0.1:7400). Stop it with Ctrl-C in its terminal or \`kill ${running.pid}\`, ` +
          'or start this one with another LLMOPS_DATA_DIR and LLMOPS_PORT_BASE.',
      );
    } finally {
      await running.stop();
    }
  });

  it('takes over a lock left by a supervisor that is gone, and releases it', async () => {
    const dataDir = mkdtempSync(join(scratch, 'stale-'));
    writeFileSync(lockPath(dataDir), JSON.stringify({ pid: await endedPid(), started_at: '2026-01-01T00:00:00.000Z' }));
    const release = claimDataDir(dataDir);
    expect(existsSync(lockPath(dataDir))).toBe(true);
    release();
    expect(existsSync(lockPath(dataDir))).toBe(false);
  });
});
