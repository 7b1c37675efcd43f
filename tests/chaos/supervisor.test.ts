import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { withClient, withDatabase } from '@llmops/kit/db';
import { freePortBase, until } from './cluster.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'llmops-supervisor-'));
const otherDataDir = mkdtempSync(join(tmpdir(), 'llmops-supervisor-other-'));
for (const dir of [dataDir, otherDataDir]) chmodSync(dir, 0o755);
const started: Supervisor[] = [];
afterAll(async () => {
  // A failed assertion must not leave an install running: stop what is still up, then remove its data.
  for (const s of started.filter((s) => s.child.exitCode === null && s.child.signalCode === null)) {
    s.child.kill('SIGINT');
    await s.exited;
  }
  for (const dir of [dataDir, otherDataDir]) rmSync(dir, { recursive: true, force: true });
});

interface Supervisor {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function startSupervisor(env: Record<string, string>): Supervisor {
  const child = spawn(process.execPath, [join(ROOT, 'infra/supervisor.ts')], {
    cwd: ROOT,
    env: { ...process.env, LLMOPS_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n')));
  child.stderr?.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  started.push({ child, output, exited });
  return { child, output, exited };
}

const text = (s: Supervisor) => s.output.join('\n');

/** Waits (bounded) for the supervisor to report ready; fails at once, not after the bound, if it exits first. */
async function untilRunning(s: Supervisor, what: () => string): Promise<void> {
  const gone = s.exited.then((code) => Promise.reject(new Error(`the supervisor exited (code ${code}) before ${what()}`)));
  await Promise.race([until(async () => text(s).includes('LLM Ops is running'), 90_000, what), gone]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Runtime {
  urls: Record<string, string>;
  pids: Record<string, number>;
  database: { embedded: boolean };
}
const runtime = () => JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as Runtime;

describe('npm start (the supervisor)', () => {
  it('brings everything up, restarts a crashed service, refuses busy ports, and stops in order on Ctrl-C', async () => {
    const base = await freePortBase();
    const first = startSupervisor({ LLMOPS_PORT_BASE: String(base) });
    await untilRunning(first, () => `the supervisor to report ready:\n${text(first)}`);
    const printed = text(first);
    expect(printed).toContain(`Dashboard        http://127.0.0.1:${base}`);
    expect(printed).toContain(`OpenAPI          http://127.0.0.1:${base + 1}/api/v1/openapi.json`);
    expect(printed).toContain(`API reference    http://127.0.0.1:${base + 1}/api/v1/docs`);
    expect(printed).toContain(join(dataDir, 'postgres'));

    const { urls, pids } = runtime();
    for (const [name, url] of Object.entries(urls)) expect((await fetch(`${url}/healthz`)).status, name).toBe(200);

    // The embedded default made the master keyring (0600) and gave it to the registry process only.
    expect(statSync(join(dataDir, 'master-keys')).mode & 0o777).toBe(0o600);
    for (const [name, pid] of Object.entries(pids)) {
      if (!pid || name === 'postgres') continue;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ.includes('LLMOPS_MASTER_KEYS='), `${name} holds the keyring`).toBe(name === 'registry');
    }
    expect((await fetch(`${urls.web}/api/v1/openapi.json`)).status).toBe(200);

    // A crashed service comes back by itself.
    process.kill(pids.registry as number, 'SIGKILL');
    await until(async () => runtime().pids.registry !== pids.registry, 20_000, 'registry to be restarted');
    await until(async () => (await fetch(`${urls.registry}/healthz`)).ok, 20_000, 'registry healthy again');

    // A second start on the same data folder, even on other ports, names the running one and how to stop it.
    const second = startSupervisor({ LLMOPS_PORT_BASE: String(await freePortBase()) });
    expect(await second.exited).toBe(78);
    expect(text(second).trim()).toMatch(
      new RegExp(
        `^LLM Ops is already running from ${dataDir} \\(supervisor pid ${first.child.pid} since [^,]+, dashboard ${urls.web}\\)\\. ` +
          `Stop it with Ctrl-C in its terminal or \`kill ${first.child.pid}\`, or start this one with another LLMOPS_DATA_DIR and LLMOPS_PORT_BASE\\.$`,
      ),
    );
    // Another data folder on the same ports: the busy port is named, with the way out.
    const third = startSupervisor({ LLMOPS_PORT_BASE: String(base), LLMOPS_DATA_DIR: otherDataDir });
    expect(await third.exited).toBe(78);
    expect(text(third).trim()).toMatch(new RegExp(`^ports? ${base} \\(web\\).*already in use.*LLMOPS_PORT_BASE`));

    // Ctrl-C: everything stops, PostgreSQL last, nothing left behind.
    const all = Object.values(runtime().pids);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    for (const pid of all) await until(async () => !alive(pid), 10_000, `pid ${pid} to be gone`);
    const lines = first.output;
    const lastServiceStop = Math.max(
      ...['registry', 'prompt', 'runner', 'workflow', 'gateway'].map((s) =>
        // Not at a terminal, the services' JSON lines pass through unchanged (infra/console.ts).
        lines.findLastIndex((l) => l.includes(`"service":"${s}"`) && l.includes('"msg":"stopped"')),
      ),
    );
    const postgresStop = lines.findIndex((l) => l.includes('stopping PostgreSQL'));
    expect(lastServiceStop).toBeGreaterThan(0);
    expect(postgresStop).toBeGreaterThan(lastServiceStop);
    // Each part stopped by itself on its signal; none had to be killed after waiting for it.
    expect(text(first)).not.toContain('did not stop within');
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);

    // A second start reuses the data: nothing to apply.
    const again = startSupervisor({ LLMOPS_PORT_BASE: String(base) });
    await untilRunning(again, () => `the second start:\n${text(again)}`);
    expect(text(again)).toContain('schema is current');
    expect(text(again)).not.toContain('initialising a new PostgreSQL cluster');

    // The supervisor killed outright: everything it started, the dashboard too, stops by itself.
    const left = Object.values(runtime().pids);
    again.child.kill('SIGKILL');
    await again.exited;
    for (const pid of left) await until(async () => !alive(pid), 30_000, `pid ${pid} to stop after the supervisor was killed`);
  });

  it('exits at once naming an invalid variable', async () => {
    const bad = startSupervisor({ LLMOPS_PORT_BASE: 'seventy-four hundred' });
    expect(await bad.exited).toBe(78);
    expect(text(bad)).toContain('LLMOPS_PORT_BASE');
  });
});

const pg15 = process.env.LLMOPS_COMPAT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pg15Reachable = await withClient(pg15, async () => true).catch(() => false);
if (!pg15Reachable) console.warn(`skipping the DATABASE_URL start: no PostgreSQL answers at ${pg15}`);

describe.runIf(pg15Reachable)('npm start with DATABASE_URL', () => {
  it('runs against an existing server instead of the embedded one', async () => {
    const name = `llmops_supervisor_${Date.now().toString(36)}`;
    await withClient(pg15, (client) => client.query(`CREATE DATABASE ${name}`));
    try {
      const base = await freePortBase();
      // With DATABASE_URL nothing generates a keyring: the registry refuses to start and says how to make one.
      const keylessDeployment = `keyless_${Date.now().toString(36)}`;
      const keyless = startSupervisor({
        LLMOPS_PORT_BASE: String(base),
        DATABASE_URL: withDatabase(pg15, name),
        LLMOPS_DEPLOYMENT: keylessDeployment,
      });
      expect(await keyless.exited).toBe(78);
      expect(text(keyless)).toContain('LLMOPS_MASTER_KEYS');
      // Refused first: the database is untouched, no schema applied and no login role made.
      await withClient(withDatabase(pg15, name), async (client) => {
        const ledger = await client.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('bus', 'registry', 'gateway')");
        expect(ledger.rows).toEqual([]);
        const roles = await client.query('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`%\\_${keylessDeployment}`]);
        expect(roles.rows).toEqual([]);
      });
      const s = startSupervisor({
        LLMOPS_PORT_BASE: String(base),
        DATABASE_URL: withDatabase(pg15, name),
        LLMOPS_DEPLOYMENT: 'supervisortest',
        LLMOPS_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      });
      await untilRunning(s, () => `start against ${pg15}:\n${text(s)}`);
      expect(runtime().database.embedded).toBe(false);
      expect((await fetch(`${runtime().urls.gateway}/readyz`)).status).toBe(200);
      s.child.kill('SIGINT');
      expect(await s.exited).toBe(0);
      expect(text(s)).not.toContain('stopping PostgreSQL');
    } finally {
      await withClient(pg15, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  });
});
