import { configOrExit } from '@llmops/kit/config';
import { createServiceClient } from '@llmops/kit/http/service-client';
import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { scheduleRetention, type RetentionJob } from '@llmops/kit/retention';
import { createApp } from './app.ts';
import { runnerConfig } from './config.ts';
import { Credentials } from './clients/provider-connections.ts';
import { consumeTaskRequests } from './consumers/task-requests.ts';
import { TaskService } from './create/service.ts';
import { consumeRegistryChanges } from './consumers/registry-copy.ts';
import { consumeWorkflowPins } from './consumers/pins.ts';
import { consumeTaskUsage } from './consumers/usage.ts';
import { removeAttemptPayloads } from './tasks/payload-retention.ts';
import { Worker } from './worker/worker.ts';
import { attemptMetrics, observeQueue, taskEndings } from './metrics.ts';

/** The runner service's composition root: what it is built from, and what starts and stops with it. */
export function buildRunner({ env, rawEnv, log, pool, bus, urls, readiness, metrics }: ServiceContext): ServiceParts {
  const config = runnerConfig(rawEnv);
  const secret = env.LLMOPS_INTERNAL_SECRET;
  const registry = createServiceClient({ caller: 'runner', service: 'registry', url: urls.registry, secret });
  const prompt = createServiceClient({ caller: 'runner', service: 'prompt', url: urls.prompt, secret });
  const credentials = new Credentials(registry, config.keyTtlMs);
  const finished = taskEndings(metrics);
  const worker = new Worker({ pool, bus, log, config, credentials, attempts: attemptMetrics(metrics, finished), finished });
  observeQueue(metrics, pool);
  const tasks = new TaskService({
    pool,
    bus,
    registry,
    prompt,
    wake: (queued) => worker.wake(queued),
    dispatch: worker,
    finished,
  });
  const app = createApp({ log, internalSecret: secret, readiness, metrics, pool, tasks });
  const consumers: { stop(): Promise<void> }[] = [];
  const retentionLog = log.child({ component: 'retention' });
  const payloadJobs: RetentionJob[] = [];
  const { payloadRetentionMs } = config;
  if (payloadRetentionMs !== undefined) {
    payloadJobs.push({
      kind: 'attempt_payloads',
      run: async () => {
        const result = await removeAttemptPayloads(pool, { maxAgeMs: payloadRetentionMs });
        if (result.held)
          retentionLog.warn('attempt payload retention waits: the runner.pins consumer has unprocessed workflow events');
        return result.removed;
      },
    });
  }
  let payloadRetention: ReturnType<typeof scheduleRetention> | undefined;
  return {
    app,
    start: async () => {
      consumers.push(
        consumeRegistryChanges(bus, pool),
        consumeTaskRequests(bus, tasks),
        consumeWorkflowPins(bus, pool),
        consumeTaskUsage(bus, pool, { gatherMs: config.usageGatherMs }),
      );
      await worker.start();
      payloadRetention = scheduleRetention({
        jobs: payloadJobs,
        intervalMs: env.LLMOPS_RETENTION_INTERVAL_MS,
        log: retentionLog,
        metrics,
      });
    },
    stop: async () => {
      await payloadRetention?.stop();
      await worker.stop();
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
  };
}

/** The runner's pool follows its concurrency (RUNNER_DB_POOL_MAX), within its connection budget. */
buildRunner.poolMax = (rawEnv: Readonly<Record<string, string | undefined>>) => runnerConfig(rawEnv).poolMax;

if (import.meta.main) {
  configOrExit(() => runnerConfig(process.env));
  await runMain('runner', buildRunner);
}
