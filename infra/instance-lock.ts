/**
 * One `npm start` per data folder. The supervisor holds `<data>/supervisor.lock` (its pid) while it
 * runs, so a second start on the same folder is refused at once, naming the running one and how to
 * stop it, before it touches anything (its PostgreSQL would otherwise fail on the cluster's own lock
 * with no clear reason). A lock left by a supervisor that is gone (kill -9, a reboot) is taken over.
 */
import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@llmops/kit/config';
import { dataDirError } from './data-dir.ts';

export const lockPath = (dataDir: string) => join(dataDir, 'supervisor.lock');

interface Lock {
  pid: number;
  started_at: string;
  /** What holds the folder when it is not a supervisor: a backup or a restore (infra/backup.ts). */
  holder?: LockHolder;
}

export type LockHolder = 'backup' | 'restore';

/** The lock at `path` (see lockPath), or undefined when there is none or it cannot be read. */
export function readLock(path: string): Lock | undefined {
  try {
    const lock = JSON.parse(readFileSync(path, 'utf8')) as Partial<Lock>;
    if (typeof lock.pid !== 'number') return undefined;
    const holder = lock.holder === 'backup' || lock.holder === 'restore' ? { holder: lock.holder } : {};
    return { pid: lock.pid, started_at: String(lock.started_at), ...holder };
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a running supervisor (or an operator CLI holding the folder for a backup or restore).
 * Where the process table is readable, a reused pid does not count.
 */
export function isSupervisorAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    return /infra\/(supervisor|cli)\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

function alreadyRunning(dataDir: string, lock: Lock): string {
  if (lock.holder)
    return `A ${lock.holder} of ${dataDir} is running (pid ${lock.pid} since ${lock.started_at}); start again once it has finished.`;
  let dashboard = '';
  try {
    const runtime = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { urls?: { web?: string } };
    if (runtime.urls?.web) dashboard = `, dashboard ${runtime.urls.web}`;
  } catch {
    dashboard = ', still starting';
  }
  return (
    `LLM Ops is already running from ${dataDir} (supervisor pid ${lock.pid} since ${lock.started_at}${dashboard}). ` +
    `Stop it with Ctrl-C in its terminal or \`kill ${lock.pid}\`, or start this one with another LLMOPS_DATA_DIR and LLMOPS_PORT_BASE.`
  );
}

/** Takes the data folder's lock for this process (a supervisor, or a backup or restore), or refuses; returns what releases it. */
export function claimDataDir(dataDir: string, holder?: LockHolder): () => void {
  const path = lockPath(dataDir);
  const mine: Lock = { pid: process.pid, started_at: new Date().toISOString(), ...(holder ? { holder } : {}) };
  const draft = `${path}.${process.pid}`;
  try {
    writeFileSync(draft, `${JSON.stringify(mine)}\n`, { mode: 0o644 });
    // Two attempts: the second follows taking over a stale lock. A link is created whole or not at all.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(draft, path);
        return () => {
          if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = readLock(path);
      if (held && isSupervisorAlive(held.pid)) throw new ConfigError(alreadyRunning(dataDir, held));
      rmSync(path, { force: true });
    }
    throw new ConfigError(
      `Another \`npm start\` is taking ${dataDir} at this moment (${path}); wait for it, or stop it and start again.`,
    );
  } catch (error) {
    throw dataDirError(dataDir, error);
  } finally {
    rmSync(draft, { force: true });
  }
}
