/**
 * A PgBouncer in transaction mode in front of a test database, started by the test that needs it: a
 * generated ini and auth file (the test login roles) in a folder of its own, a free port, no Unix socket.
 * Debian's binary is /usr/sbin/pgbouncer (`apt-get install pgbouncer`; .ci/run installs it).
 */
import { spawn } from 'node:child_process';
import { existsSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, TEST_PASSWORDS, type TestDatabase } from '@llmops/kit/testing/database';
import { loginRole } from '@llmops/kit/roles';
import { SERVICES, type ServiceName } from '@llmops/kit/services';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** The pgbouncer binary (PGBOUNCER, else Debian's place or the usual others), or undefined. */
export function pgbouncerBinary(): string | undefined {
  return [process.env.PGBOUNCER, ...CANDIDATES].find((path): path is string => !!path && existsSync(path));
}

export interface PgBouncer {
  /** A service's connection through PgBouncer (its test login role, the test database). */
  urlFor(service: ServiceName): string;
  /** The local ports of PgBouncer's connections to PostgreSQL (its admin console's SHOW SERVERS). */
  serverPorts(): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startPgBouncer(
  binary: string,
  db: Pick<TestDatabase, 'adminUrl' | 'name' | 'urlFor'>,
  { poolSize }: { poolSize: number },
): Promise<PgBouncer> {
  const server = new URL(db.adminUrl);
  const dir = mkdtempSync(join(tmpdir(), 'llmops-pgbouncer-'));
  chmodSync(dir, 0o755); // run as root, pgbouncer drops to `nobody`, which must read its files
  const port = await freePort();
  const roles = SERVICES.map((service) => [loginRole(service, 'test'), TEST_PASSWORDS[service]] as const);
  const admin = roles[0]?.[0] as string;
  writeFileSync(join(dir, 'users.txt'), roles.map(([role, password]) => `"${role}" "${password}"`).join('\n') + '\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${db.name} = host=${server.hostname} port=${server.port} dbname=${db.name}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      // Few server connections for many clients: what a pooler is for, and what breaks named statements.
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      `admin_users = ${admin}`,
      '',
    ].join('\n'),
  );
  for (const file of ['users.txt', 'pgbouncer.ini']) chmodSync(join(dir, file), 0o644);
  const args = [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('pgbouncer did not start within 10 s')), 10_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}:\n${output.join('')}`));
    };
    const seen = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (/process up/.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => fail(new Error(`pgbouncer exited during start-up (code ${code})`)));
  });
  const urlFor = (service: ServiceName) => {
    const url = new URL(db.urlFor(service));
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return url.toString();
  };
  return {
    urlFor,
    async serverPorts() {
      const console = new URL(urlFor(SERVICES[0]));
      console.pathname = '/pgbouncer';
      const client = new pg.Client({ connectionString: console.toString() });
      await client.connect();
      try {
        const { rows } = await client.query<{ local_port: number | string }>('SHOW SERVERS');
        return rows.map((row) => Number(row.local_port));
      } finally {
        await client.end();
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
