// One instance of a consumer group in a process of its own, as a service instance runs in production.
// The parent (consumers.ts) sends `go` once every instance is connected, and `stop` at the end; this
// process reports each batch it handled.
import { createBus, type EventContract } from '@llmops/kit/bus/index';
import { createPool } from '@llmops/kit/db';
import { benchLogger, countQueries, drainEvent, produceEvent, SERVICE } from './lib.ts';

export interface ConsumerSpec {
  url: string;
  group: string;
  topic: 'drain' | 'produce';
  startFrom: 'beginning' | 'now';
  instance: number;
}

export type ToConsumer = { type: 'go' } | { type: 'stop' };
export type FromConsumer =
  | { type: 'ready' }
  /** `cpuMs`: this process's CPU time so far (user and system), milliseconds. */
  | { type: 'batch'; size: number; queries: number; cpuMs: number }
  | { type: 'stopped' };

const CONTRACTS: Record<ConsumerSpec['topic'], EventContract> = { drain: drainEvent, produce: produceEvent };

function send(message: FromConsumer): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ConsumerSpec;
  const pool = createPool({ connectionString: spec.url, applicationName: `bench-consumer-${spec.instance}` });
  const bus = createBus({ pool, listenUrl: spec.url, log: benchLogger(`bench-consumer-${spec.instance}`), service: SERVICE });
  await bus.start();
  await pool.query('SELECT 1'); // one warm connection, as in a service that has been running
  const queries = countQueries(pool);
  process.on('message', (message: ToConsumer) => {
    if (message.type === 'go') {
      bus.consume({
        group: spec.group,
        events: [CONTRACTS[spec.topic]],
        startFrom: spec.startFrom,
        batchHandler: (events) => {
          const cpu = process.cpuUsage();
          send({ type: 'batch', size: events.length, queries: queries.count, cpuMs: (cpu.user + cpu.system) / 1_000 });
        },
      });
    } else if (message.type === 'stop') {
      void bus
        .stop()
        .then(() => pool.end())
        .then(() => {
          send({ type: 'stopped' });
          process.disconnect();
        });
    }
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  console.error('a bench consumer process failed:', error);
  process.exit(1);
});
