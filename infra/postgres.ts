/**
 * Holds the embedded PostgreSQL server for the supervisor, in a process group of its own so that a
 * Ctrl-C in the terminal reaches the services first; PostgreSQL stops when the supervisor says so,
 * or when the supervisor is gone (the IPC channel closes), so it is never left behind.
 */
import { startEmbeddedPostgres } from '@llmops/kit/embedded';
import { createLogger } from '@llmops/kit/logger';

const log = createLogger({ service: 'postgres', level: process.env.LOG_LEVEL ?? 'info' });
const { LLMOPS_PG_DATA_DIR: dataDir, LLMOPS_PG_PORT: port, LLMOPS_PG_PASSWORD: password } = process.env;
if (!dataDir || !port || !password || !process.send) {
  process.stderr.write('infra/postgres.ts is started by the supervisor (npm start), not by hand.\n');
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
  server = await startEmbeddedPostgres({ dataDir, port: Number(port), password, persistent: true, log });
  log.info({ port: Number(port), dataDir }, 'PostgreSQL ready');
  process.send({ type: 'ready' });
} catch (error) {
  log.fatal({ err: error }, 'PostgreSQL did not start');
  process.send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
