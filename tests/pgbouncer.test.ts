/**
 * PgBouncer in transaction mode (issue 19): with DATABASE_NAMED_STATEMENTS=off every service's pool goes
 * through the pooler while the bus's LISTEN connection goes to DATABASE_DIRECT_URL, and a task runs end to
 * end (the bus's publish, consumer groups and doorbell included). A named statement through the same
 * pooler breaks, which is why the switch exists. Without pgbouncer the file skips, saying so, except
 * under CI=true, where it fails: .ci/run installs it.
 */
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, isPgError, withClient } from '@llmops/kit/db';
import { createLogger } from '@llmops/kit/logger';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { pgbouncerBinary, startPgBouncer, type PgBouncer } from './pgbouncer-support.ts';
import { startRunnerHarness, type RunnerHarness } from './runner-support.ts';

const binary = pgbouncerBinary();
const MISSING = 'pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER to its path; .ci/run installs it)';
const skip = !binary && process.env.CI !== 'true';
if (skip) console.warn(`tests/pgbouncer.test.ts skipped: ${MISSING}`);

const db = skip ? undefined : await useTestDatabase();

/** What the services logged at warn and above: a statement the pooler broke shows here, whatever retried it. */
const logged: string[] = [];
const warnings = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logged.push(chunk.toString());
    done();
  },
});

describe.skipIf(skip)(`PgBouncer in transaction mode${skip ? ` (skipped: ${MISSING})` : ''}`, () => {
  let bouncer: PgBouncer;
  let emulator: Emulator;
  let h: RunnerHarness;

  beforeAll(async () => {
    if (!binary || !db) throw new Error(`${MISSING}; under CI=true this test fails rather than skips`);
    // Two server connections for every pool of three services: statements of different clients share them.
    bouncer = await startPgBouncer(binary, db, { poolSize: 2 });
    emulator = await startEmulator();
    h = await startRunnerHarness({ adminUrl: db.adminUrl, urlFor: bouncer.urlFor, directUrlFor: db.urlFor }, emulator, {
      env: { DATABASE_NAMED_STATEMENTS: 'off' },
      log: createLogger({ service: 'test', level: 'warn', destination: warnings }),
    });
  });
  afterAll(async () => {
    await h?.stop();
    await emulator?.stop();
    await bouncer?.stop();
  });

  // The workflow's role: no service of the harness uses its server connections.
  it('breaks a named statement, prepared on a server connection another client then gets', async () => {
    const named = { name: 'llmops.probe', text: 'SELECT $1::int AS n', values: [1] };
    const clients = [1, 2].map(() => new pg.Client({ connectionString: bouncer.urlFor('workflow') }));
    try {
      for (const client of clients) await client.connect();
      // One after the other, both get the one idle server connection: the first prepared the name there.
      expect((await (clients[0] as pg.Client).query<{ n: number }>(named)).rows).toEqual([{ n: 1 }]);
      const error: unknown = await (clients[1] as pg.Client).query(named).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isPgError(error, '42P05'), String(error)).toBe(true); // prepared statement "llmops.probe" already exists
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    const unnamed = createPool({
      connectionString: bouncer.urlFor('workflow'),
      applicationName: 'test-unnamed',
      max: 4,
      namedStatements: false,
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          unnamed.query<{ n: number }>({ name: 'llmops.probe', text: 'SELECT $1::int AS n', values: [1] }),
        ),
      );
      expect(results.map((r) => r.rows[0]?.n)).toEqual(Array(8).fill(1));
    } finally {
      await unnamed.end();
    }
  });

  it('runs a task end to end through the pooler, the LISTEN connections direct', async () => {
    const { provider, model } = await h.provider();
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'Say hello' }] });
    const task = created.tasks[0];
    const done = await h.waitFor(task.id as string);
    expect(done.status).toBe('succeeded');
    expect(done.provider_id).toBe(provider);
    const { rows: events } = await h.admin.query<{ topic: string }>(
      `SELECT topic FROM bus.outbox WHERE payload->>'task_id' = $1 ORDER BY id`,
      [task.id],
    );
    expect(events.map((e) => e.topic)).toEqual(expect.arrayContaining(['runner.task.queued', 'runner.task.succeeded']));
    expect(logged.filter((line) => /prepared statement/.test(line))).toEqual([]);

    // Each service's LISTEN session is its own, straight to PostgreSQL; every other session is PgBouncer's
    // (read after the sessions: PgBouncer keeps an idle server connection for minutes, so none is gone by then).
    const { rows: sessions } = await withClient((db as NonNullable<typeof db>).adminUrl, (client) =>
      client.query<{ application_name: string; client_port: number }>(
        `SELECT application_name, client_port FROM pg_stat_activity
         WHERE datname = current_database() AND usename LIKE 'llmops\\_%\\_test'`,
      ),
    );
    const servers = new Set(await bouncer.serverPorts());
    const direct = sessions.filter((s) => !servers.has(s.client_port));
    expect(direct.map((s) => s.application_name).sort()).toEqual([
      'llmops-prompt-bus',
      'llmops-registry-bus',
      'llmops-runner-bus',
    ]);
    expect(sessions.length).toBeGreaterThan(direct.length);
  });
});
