// graphile-worker, the anchor of every throughput and latency figure: run on the same server, in a
// database of its own, as that database's admin (it creates and migrates its own schema).
import { Logger, makeWorkerUtils, run, type Runner, type TaskList, type WorkerUtils } from 'graphile-worker';

const silent = new Logger(() => () => undefined);

/** Worker utils (add_job / add_jobs) with the schema migrated. */
export async function graphileUtils(url: string): Promise<WorkerUtils> {
  const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
  await utils.migrate();
  return utils;
}

export interface GraphileOptions {
  /** concurrentJobs; graphile-worker's default is 1. */
  concurrency?: number;
  /** Extra worker options (localQueue, completeJobBatchDelay, ...). */
  worker?: GraphileConfig.WorkerOptions;
}

/** A worker pool in this process; stop it with runner.stop(). */
export function startGraphile(url: string, taskList: TaskList, { concurrency, worker }: GraphileOptions = {}): Promise<Runner> {
  return run({
    connectionString: url,
    taskList,
    logger: silent,
    noHandleSignals: true,
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(worker === undefined ? {} : { preset: { worker } }),
  });
}

/** Queues `count` jobs of `task` in transactions of `perTransaction` (one add_jobs call each). */
export async function backlogJobs(utils: WorkerUtils, task: string, count: number, perTransaction: number): Promise<void> {
  for (let start = 0; start < count; start += perTransaction) {
    const specs = [];
    for (let n = start; n < Math.min(count, start + perTransaction); n++)
      specs.push({ identifier: task, payload: { n, note: 'bench' } });
    await utils.addJobs(specs);
  }
}
