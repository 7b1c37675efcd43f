// The parent side of consumer-process.ts: N instances of one consumer group, each its own process.
import { fork, type ChildProcess } from 'node:child_process';
import type { ConsumerSpec, FromConsumer, ToConsumer } from './consumer-process.ts';
import { within } from './lib.ts';

const SCRIPT = new URL('./consumer-process.ts', import.meta.url);

export interface ConsumerProcesses {
  /** Events handled so far, over every instance. */
  readonly handled: number;
  /** Sizes of every batch handled, over every instance. */
  readonly batches: number[];
  /** Queries the instances' bus pools sent, as of their latest batch. */
  readonly queries: number;
  /** The instances' CPU time (user and system), milliseconds, as of their latest batch. */
  readonly cpuMs: number;
  /** Starts consuming in every instance at once. */
  go(): void;
  /** Resolves when `count` events were handled (bounded by `timeoutMs`). */
  waitFor(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Forks the instances and resolves once each has its bus started (LISTEN connected, a warm pool). */
export async function startConsumers(spec: Omit<ConsumerSpec, 'instance'>, instances: number): Promise<ConsumerProcesses> {
  const children: ChildProcess[] = [];
  const batches: number[] = [];
  let handled = 0;
  const queries: number[] = [];
  const cpuMs: number[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  const ready: Array<Promise<void>> = [];
  for (let instance = 0; instance < instances; instance++) {
    const child = fork(SCRIPT, [JSON.stringify({ ...spec, instance } satisfies ConsumerSpec)], {
      execPath: process.execPath,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`bench consumer ${instance} exited with ${code} before it was ready`)));
        child.on('message', (message: FromConsumer) => {
          if (message.type === 'ready') resolve();
          if (message.type !== 'batch') return;
          handled += message.size;
          batches.push(message.size);
          queries[instance] = message.queries;
          cpuMs[instance] = message.cpuMs;
          if (waiter && handled >= waiter.count) waiter.resolve();
        });
      }),
    );
  }
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || !child.connected) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.send({ type: 'stop' } satisfies ToConsumer);
        await within(exited, 15_000, 'a bench consumer to stop').catch(() => child.kill('SIGKILL'));
      }),
    );
  };
  try {
    await within(Promise.all(ready), 30_000, 'the bench consumers to start');
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
  return {
    get handled() {
      return handled;
    },
    batches,
    get queries() {
      return queries.reduce((sum, n) => sum + n, 0);
    },
    get cpuMs() {
      return cpuMs.reduce((sum, n) => sum + n, 0);
    },
    go: () => children.forEach((child) => child.send({ type: 'go' } satisfies ToConsumer)),
    waitFor: (count, timeoutMs) => {
      if (handled >= count) return Promise.resolve();
      return within(
        new Promise<void>((resolve) => (waiter = { count, resolve })),
        timeoutMs,
        `${count} events to be handled`,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; ${handled} were`);
      });
    },
    stop,
  };
}
