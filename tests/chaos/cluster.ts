import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '@llmops/kit/embedded';
import type { Logger } from '@llmops/kit/logger';
import { freePort } from '@llmops/kit/testing/database';
import { startStack, testKeyring, testSecret, type Stack, type StackOptions } from '@llmops/kit/testing/stack';
import type { ServiceName } from '@llmops/kit/services';

/** The stopped data directory the chaos run's global setup built (tests/chaos/global-setup.ts). */
export interface ChaosTemplate {
  dataDir: string;
  password: string;
}

declare module 'vitest' {
  interface ProvidedContext {
    chaosTemplate: ChaosTemplate;
  }
}

/** A PostgreSQL server of a chaos test's own, which the test may stop and start again. */
export interface OwnCluster {
  /** The server's `postgres` database; `llmops` (built from sql/, with every service's login) is beside it. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A server of this file's own on a copy of the run's template data directory: database `llmops` with the
 * schema and the logins already there. `cp -a`, not fs.cp: the files must stay the `postgres` system
 * user's (and the directory 0700), or the server refuses to start.
 */
export async function startOwnCluster(): Promise<OwnCluster> {
  const template = inject('chaosTemplate');
  if (!template) throw new Error('no chaos template: run chaos tests with --config tests/chaos/vitest.config.ts');
  const parent = mkdtempSync(join(tmpdir(), 'llmops-chaos-'));
  chmodSync(parent, 0o755);
  const options = { dataDir: join(parent, 'data'), port: await freePort(), password: template.password, persistent: true };
  let server: EmbeddedServer | undefined;
  try {
    await promisify(execFile)('cp', ['-a', template.dataDir, options.dataDir]);
    server = await startEmbeddedPostgres(options);
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl: server.url,
    port: options.port,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    start: async () => {
      server = await startEmbeddedPostgres(options);
    },
    destroy: async () => {
      await server?.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/** A base port with base..base+6 all free, for a whole install (ADR 0008). */
export async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((offset) => isFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free range of 7 ports found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Polls `check` until it returns true or `ms` pass; bounded, never a bare sleep. The deadline is on the
 * monotonic clock: a step of the wall clock (a VM's clock corrected under load) must not end the wait early.
 */
export async function until(check: () => Promise<boolean>, ms: number, what: string | (() => string)): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
}

/**
 * `count` instances of each of `services` against one database, started side by side: a scaled-out
 * install. They share the internal secret and the master keyring, as the processes of one deployment
 * do; each instance's services call each other. `log(n)`, when given, is instance n's logger (in-process
 * mode), so a test can tell which instance did what.
 */
export async function startInstances(
  db: StackOptions['db'],
  services: readonly ServiceName[],
  count: number,
  {
    log,
    ...options
  }: { mode: NonNullable<StackOptions['mode']>; env: Record<string, string>; log?: (instance: number) => Logger },
): Promise<Stack[]> {
  const shared = { secret: testSecret(), keyring: testKeyring() };
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, n) => startStack({ db, services, ...options, ...shared, ...(log ? { log: log(n) } : {}) })),
  );
  const stacks = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(stacks.map((stack) => stack.stop()));
    throw failed.reason;
  }
  return stacks;
}
