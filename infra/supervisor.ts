/**
 * `npm start`: the local supervisor. First it refuses, changing nothing, what cannot work: a data
 * folder it cannot use or that another supervisor holds, a wrong setting of any service, a busy port.
 * Then it starts embedded PostgreSQL in a child of its own (unless DATABASE_URL is set), applies sql/,
 * starts every service and the dashboard as processes on their ports (ADR 0008), restarts a crashed
 * one with backoff, forwards their logs with a prefix, writes .data/runtime.json, and on Ctrl-C stops
 * the dashboard and services first and PostgreSQL last.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { embeddedAdminUrl, startEmbeddedPostgresChild } from '@llmops/kit/embedded-child';
import { ConfigError, configOrExit, loadConfig, logLevel, portBase, postgresUrl, secret } from '@llmops/kit/config';
import { assertServerVersion, withClient, withDatabase } from '@llmops/kit/db';
import { SERVER_KEEP_ALIVE_MS } from '@llmops/kit/http/upstream';
import { createLogger, redactUrlPasswords } from '@llmops/kit/logger';
import { provisionLogins, serviceDatabaseUrl } from '@llmops/kit/roles';
import { resolveUrls, type Urls } from '@llmops/kit/runtime';
import { applySchema } from '@llmops/kit/schema';
import { DEFAULT_HOST, DEFAULT_PORT_BASE, PORT_OFFSETS } from '@llmops/kit/services';
import { anyAccount, setupLink } from '@llmops/gateway/operator';
import { lineFormatter, Reminder } from './console.ts';
import { partEntry } from './deploy/commands.ts';
import { inDataDir, useDataDir } from './data-dir.ts';
import { claimDataDir } from './instance-lock.ts';
import { loadOrCreateMasterKeys, loadOrCreateSecrets } from './secrets.ts';
import { assertSettings } from './settings.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const SupervisorEnvSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  /** With DATABASE_URL through a transaction-mode pooler: the same server directly, for sessions (docs/operations.md). */
  DATABASE_DIRECT_URL: postgresUrl.optional(),
  LLMOPS_DATA_DIR: z.string().min(1).default(join(ROOT, '.data')),
  LLMOPS_HOST: z.string().min(1).default(DEFAULT_HOST),
  LLMOPS_PORT_BASE: portBase.default(DEFAULT_PORT_BASE),
  LLMOPS_INTERNAL_SECRET: z.string().min(32, 'expected a secret of at least 32 characters').optional(),
  /** The dashboard server's proof to the gateway that its X-Forwarded-* are true; generated into .data/secrets.json. */
  LLMOPS_WEB_PROXY_SECRET: secret.optional(),
  /** The bearer token of every service's /metrics; generated into .data/secrets.json. */
  LLMOPS_METRICS_TOKEN: secret.optional(),
  /** The registry's master keyring; the embedded default makes one in .data/master-keys (ADR 0007). */
  LLMOPS_MASTER_KEYS: z.string().min(1).optional(),
  LOG_LEVEL: logLevel,
  /** Suffix of the services' login roles (llmops_<service>_<deployment>); one per install on a shared server. */
  LLMOPS_DEPLOYMENT: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,20}$/, 'expected lowercase letters, digits and underscores')
    .default('app'),
});

/** Start order: the services others call first, the gateway, then the dashboard. Stop order is the reverse. */
const START_ORDER = ['registry', 'prompt', 'runner', 'workflow', 'gateway', 'web'] as const;
type Part = (typeof START_ORDER)[number];
const SERVICE_ORDER = START_ORDER.filter((part) => part !== 'web');
/** The database of the embedded default. */
const DATABASE = 'llmops';

const env = configOrExit(() => loadConfig(SupervisorEnvSchema));
const tty = process.stdout.isTTY === true;
const format = lineFormatter({ tty });
/** At a terminal: keeps the URLs and the setup link below the logs (set once everything runs). */
let reminder: Reminder | undefined;
/** Prints a part's output line (and the supervisor's own): readable at a terminal, JSON unchanged elsewhere. */
function print(part: string, line: string): void {
  process.stdout.write(`${format(part, line)}\n`);
  reminder?.printed();
}
const log = createLogger({
  service: 'supervisor',
  level: env.LOG_LEVEL,
  ...(tty
    ? {
        destination: {
          write(chunk: string): boolean {
            for (const line of chunk.split('\n')) if (line) print('supervisor', line);
            return true;
          },
        } as unknown as NodeJS.WritableStream,
      }
    : {}),
});
const dataDir = resolve(env.LLMOPS_DATA_DIR);
const urls = resolveUrls({ ...process.env, ...env });
const embedded = env.DATABASE_URL === undefined;
/** A direct connection beside a pooler's DATABASE_URL (the embedded default has no pooler). */
const direct = embedded ? undefined : env.DATABASE_DIRECT_URL;
const pgPort = env.LLMOPS_PORT_BASE + PORT_OFFSETS.postgres;

interface Child {
  part: Part;
  process?: ChildProcess;
  restarts: number;
  startedAt: number;
  stopping: boolean;
}

const children = new Map<Part, Child>();
let postgres: ChildProcess | undefined;
let shuttingDown = false;
let runtimeAdminUrl: string | undefined;
let runtimeWritten = false;
let releaseDataDir: (() => void) | undefined;

await main().catch(async (error: unknown) => {
  if (error instanceof ConfigError) {
    // Refused before anything started: nothing to stop, only what is wrong and what to do.
    releaseDataDir?.();
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  const reason = error instanceof Error ? redactUrlPasswords(error.message) : 'start-up failed';
  log.fatal({ err: error }, reason);
  await shutdown(reason, 1);
});

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  // Everything that can refuse comes first, so a refusal leaves no process running and no database changed.
  useDataDir(dataDir);
  releaseDataDir = claimDataDir(dataDir);
  const secrets = inDataDir(dataDir, () => loadOrCreateSecrets(dataDir));
  const internalSecret = env.LLMOPS_INTERNAL_SECRET ?? secrets.internalSecret;
  const webProxySecret = env.LLMOPS_WEB_PROXY_SECRET ?? secrets.webProxySecret;
  const metricsToken = env.LLMOPS_METRICS_TOKEN ?? secrets.metricsToken;
  // Only the embedded default generates a keyring; with DATABASE_URL the registry refuses to start without one.
  const masterKeys = env.LLMOPS_MASTER_KEYS ?? (embedded ? inDataDir(dataDir, () => loadOrCreateMasterKeys(dataDir)) : undefined);

  /** The environment a part is started with; every service's settings are checked in it before anything starts. */
  const envOf = (part: Part, adminUrl: string): NodeJS.ProcessEnv => {
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      LLMOPS_HOST: env.LLMOPS_HOST,
      LLMOPS_PORT_BASE: String(env.LLMOPS_PORT_BASE),
      LLMOPS_INTERNAL_SECRET: internalSecret,
      LLMOPS_METRICS_TOKEN: metricsToken,
      LOG_LEVEL: env.LOG_LEVEL,
      ...Object.fromEntries(Object.entries(urls).map(([name, url]) => [`${name.toUpperCase()}_URL`, url])),
    };
    if (part === 'web') {
      const web = new URL(urls.web);
      // The gateway enforces the 1 MiB body limit with a proper problem; the dashboard must not cut earlier.
      Object.assign(childEnv, {
        HOST: web.hostname,
        PORT: web.port,
        ORIGIN: urls.web,
        BODY_SIZE_LIMIT: '2M',
        // Idle connections kept as long as every service keeps them (seconds), so a proxy in front with
        // a shorter idle time never sends on a connection the dashboard has just closed.
        KEEP_ALIVE_TIMEOUT: String(SERVER_KEEP_ALIVE_MS / 1000),
      });
      delete childEnv.DATABASE_URL;
      delete childEnv.DATABASE_DIRECT_URL;
      delete childEnv.LLMOPS_METRICS_TOKEN;
      // The web proves itself to the gateway with a secret of its own; it can never sign service identities.
      delete childEnv.LLMOPS_INTERNAL_SECRET;
    } else {
      childEnv.DATABASE_URL = serviceDatabaseUrl(adminUrl, part, env.LLMOPS_DEPLOYMENT, secrets.servicePasswords);
      delete childEnv.DATABASE_DIRECT_URL;
      if (direct)
        childEnv.DATABASE_DIRECT_URL = serviceDatabaseUrl(direct, part, env.LLMOPS_DEPLOYMENT, secrets.servicePasswords);
    }
    delete childEnv.LLMOPS_WEB_PROXY_SECRET;
    if (part === 'web' || part === 'gateway') childEnv.LLMOPS_WEB_PROXY_SECRET = webProxySecret;
    // The master keyring goes to the registry only (ADR 0007).
    delete childEnv.LLMOPS_MASTER_KEYS;
    if (part === 'registry' && masterKeys) childEnv.LLMOPS_MASTER_KEYS = masterKeys;
    return childEnv;
  };
  const plannedAdminUrl = embedded
    ? withDatabase(embeddedAdminUrl(pgPort, secrets.postgresPassword), DATABASE)
    : (env.DATABASE_URL as string);
  assertSettings(SERVICE_ORDER.map((service) => [service, envOf(service, plannedAdminUrl)] as const));
  await assertPortsFree(urls);

  let adminUrl: string;
  if (embedded) {
    const pgData = join(dataDir, 'postgres');
    adminUrl = await startPostgres(pgData, secrets.postgresPassword);
    adminUrl = await ensureDatabase(adminUrl, DATABASE);
  } else {
    adminUrl = env.DATABASE_URL as string;
  }
  const version = await withClient(adminUrl, (client) => assertServerVersion(client));
  // The schema runner and the roles hold session advisory locks: never through a transaction-mode pooler.
  const { applied } = await applySchema(direct ?? adminUrl, { log });
  log.info({ postgres: version, applied: applied.length }, applied.length ? 'schema updated' : 'schema is current');
  await provisionLogins(direct ?? adminUrl, env.LLMOPS_DEPLOYMENT, secrets.servicePasswords);

  for (const part of START_ORDER) {
    const child: Child = { part, restarts: 0, startedAt: 0, stopping: false };
    children.set(part, child);
    spawnPart(child, envOf(part, adminUrl));
    await waitHealthy(part, part === 'web' ? `${urls.web}/healthz` : `${urls[part]}/healthz`);
  }

  writeRuntime(adminUrl);
  // First run: no account yet, so a one-time link (a new code each start, stored hashed) creates the first admin.
  const setup = await setupLink(adminUrl, urls.web);
  const bar = '─'.repeat(64);
  process.stdout.write(
    [
      '',
      bar,
      '  LLM Ops is running',
      `  Dashboard        ${urls.web}`,
      `  Gateway (API)    ${urls.gateway}/api/v1`,
      `  OpenAPI          ${urls.gateway}/api/v1/openapi.json`,
      `  API reference    ${urls.gateway}/api/v1/docs`,
      `  Data             ${embedded ? `${join(dataDir, 'postgres')} (embedded PostgreSQL ${version} on port ${pgPort})` : `${redactUrlPasswords(adminUrl)} (PostgreSQL ${version})`}`,
      `  Runtime file     ${join(dataDir, 'runtime.json')}`,
      ...(setup
        ? [
            '',
            '  First run: create the first admin with this one-time link',
            `  (single use, until ${setup.expiresAt.toISOString()}):`,
            `  ${setup.url}`,
            '',
          ]
        : []),
      '  Press Ctrl-C to stop.',
      bar,
      '',
    ].join('\n'),
  );
  if (tty) {
    let setupDone = setup === undefined;
    reminder = new Reminder(
      (text) => process.stdout.write(text),
      async () => {
        if (!setupDone) setupDone = await anyAccount(adminUrl);
        return [
          `LLM Ops is running · dashboard ${urls.web} · API ${urls.gateway}/api/v1 · Ctrl-C to stop`,
          ...(setup && !setupDone ? [`First run: create the first admin with ${setup.url}`] : []),
        ];
      },
    );
  }
}

async function startPostgres(pgData: string, password: string): Promise<string> {
  const server = await startEmbeddedPostgresChild({
    dataDir: pgData,
    port: pgPort,
    password,
    persistent: true,
    logLevel: env.LOG_LEVEL,
    detached: true, // its own process group: a terminal Ctrl-C reaches it only through us, last
    onOutput: (child) => forwardLines(child, 'postgres'),
    onUnexpectedExit: (code) => {
      if (shuttingDown) return;
      log.error({ code }, 'embedded PostgreSQL exited');
      void shutdown('PostgreSQL exited', 1);
    },
  });
  postgres = server.process;
  return server.url;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  });
  return withDatabase(adminUrl, name);
}

function spawnPart(child: Child, childEnv: NodeJS.ProcessEnv): void {
  const code = join(ROOT, partEntry(child.part));
  if (!existsSync(code)) throw new Error(`${code} is missing; run \`npm run build\` (npm start does it first)`);
  const entry = child.part === 'web' ? join(ROOT, 'infra/web-child.ts') : code;
  const proc = fork(entry, [], { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.process = proc;
  child.startedAt = Date.now();
  forwardLines(proc, child.part);
  proc.once('exit', (code, signal) => {
    if (shuttingDown || child.stopping) return;
    // A crash: restart with backoff (1 s, 2 s, 4 s ... 30 s); a run of a minute resets it.
    if (Date.now() - child.startedAt > 60_000) child.restarts = 0;
    const delay = Math.min(30_000, 1_000 * 2 ** child.restarts);
    child.restarts += 1;
    log.error({ part: child.part, code, signal, restartInMs: delay }, `${child.part} exited unexpectedly; restarting`);
    setTimeout(() => {
      if (!shuttingDown) {
        spawnPart(child, childEnv);
        writeRuntime();
      }
    }, delay).unref();
  });
}

/** Forwards a child's output line by line (console.ts). */
function forwardLines(proc: ChildProcess, name: string): void {
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => print(name, line));
  }
}

async function waitHealthy(part: Part, url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (shuttingDown) throw new Error('shutting down');
    const proc = children.get(part)?.process;
    if (proc?.exitCode !== null && proc?.exitCode !== undefined)
      throw new Error(`${part} exited during start-up (code ${proc.exitCode}); see its log above`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${part} did not become healthy at ${url} within 60 s`);
}

/** Every port must be free before anything starts: a busy port is named, with the way out. */
async function assertPortsFree(all: Urls): Promise<void> {
  const wanted: { name: string; host: string; port: number }[] = Object.entries(all).map(([name, url]) => {
    const parsed = new URL(url);
    return { name, host: parsed.hostname, port: Number(parsed.port) };
  });
  if (embedded) wanted.push({ name: 'embedded PostgreSQL', host: '127.0.0.1', port: pgPort });
  const busy: string[] = [];
  for (const { name, host, port: p } of wanted) {
    if (!(await portFree(host, p))) busy.push(`${p} (${name})`);
  }
  if (busy.length > 0) {
    throw new ConfigError(
      `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use on ${env.LLMOPS_HOST}. ` +
        `Is LLM Ops already running? Otherwise set LLMOPS_PORT_BASE to another base (now ${env.LLMOPS_PORT_BASE}; it uses base to base+6).`,
    );
  }
}

function portFree(host: string, p: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(p, host, () => server.close(() => resolvePromise(true)));
  });
}

function writeRuntime(adminUrl?: string): void {
  runtimeAdminUrl = adminUrl ?? runtimeAdminUrl;
  const runtime = {
    started_at: new Date().toISOString(),
    supervisor_pid: process.pid,
    data_dir: dataDir,
    database: { embedded, url: runtimeAdminUrl, ...(direct ? { direct_url: direct } : {}), deployment: env.LLMOPS_DEPLOYMENT },
    urls,
    pids: {
      ...Object.fromEntries([...children].map(([part, child]) => [part, child.process?.pid ?? null])),
      ...(postgres ? { postgres: postgres.pid ?? null } : {}),
    },
  };
  writeFileSync(join(dataDir, 'runtime.json'), `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o600 });
  runtimeWritten = true;
}

function stopProcess(proc: ChildProcess | undefined, name: string, how: () => void): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      log.warn({ part: name }, `${name} did not stop within 15 s; killing it`);
      proc.kill('SIGKILL');
    }, 15_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    how();
  });
}

async function shutdown(reason: string, code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  reminder?.stop();
  log.info({ reason }, 'stopping LLM Ops: dashboard and services first, PostgreSQL last');
  for (const part of [...START_ORDER].reverse()) {
    const child = children.get(part);
    if (!child) continue;
    child.stopping = true;
    await stopProcess(child.process, part, () => child.process?.kill('SIGTERM'));
  }
  await stopProcess(postgres, 'postgres', () => postgres?.send('stop'));
  if (runtimeWritten) rmSync(join(dataDir, 'runtime.json'), { force: true });
  releaseDataDir?.();
  log.info('LLM Ops stopped');
  // A failure ends with its reason, not under the lines of the shutdown it caused.
  if (code !== 0) process.stderr.write(`LLM Ops stopped: ${reason}\n`);
  process.exit(code);
}
