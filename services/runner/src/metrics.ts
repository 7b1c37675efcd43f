import { TERMINAL_STATUSES, type TaskStatus } from '@llmops/kit/contracts/runner';
import type { Queryable } from '@llmops/kit/db';
import { LATENCY_BUCKETS, type Metrics } from '@llmops/kit/metrics';
import type { ClaimedTask } from './tasks/lifecycle.ts';
import type { AttemptEnd, AttemptRecord } from './worker/outcome.ts';

/*
 * The runner's own series (docs/operations.md#metrics). The queue is read from the database at scrape
 * time; attempts are counted where the worker has recorded them, so every series agrees with the task
 * records.
 */

interface QueueState {
  queued: number;
  running: number;
  due: number;
  oldestDueS: number;
}

/**
 * The queue in one statement over the partial index of queued tasks (as many rows as the queue is deep,
 * never the history): queued tasks, those due now, how long the oldest due one has waited since it became
 * due, and running ones.
 */
async function queueState(db: Queryable): Promise<QueueState> {
  const { rows } = await db.query<QueueState>(
    `SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued,
            count(*) FILTER (WHERE status = 'running')::int AS running,
            count(*) FILTER (WHERE status = 'queued' AND run_after <= now())::int AS due,
            coalesce(extract(epoch FROM now() - min(run_after) FILTER (WHERE status = 'queued' AND run_after <= now())), 0)::float8
              AS "oldestDueS"
     FROM runner.tasks WHERE status IN ('queued', 'running')`,
  );
  return rows[0] ?? { queued: 0, running: 0, due: 0, oldestDueS: 0 };
}

/** Tasks by live state, queue depth and the age of the oldest due task: one query per scrape, shared by the three series. */
export function observeQueue(metrics: Metrics, db: Queryable): void {
  let read: { at: number; state: Promise<QueueState> } | undefined;
  const state = () => {
    if (!read || performance.now() - read.at > 1_000) read = { at: performance.now(), state: queueState(db) };
    return read.state;
  };
  metrics.collected(
    {
      name: 'llmops_runner_tasks',
      help: 'Tasks by live state (ended ones: llmops_runner_tasks_finished_total)',
      labelNames: ['state'] as const,
    },
    async () => {
      const { queued, running } = await state();
      return [
        { labels: { state: 'queued' }, value: queued },
        { labels: { state: 'running' }, value: running },
      ];
    },
  );
  metrics.collected(
    { name: 'llmops_runner_queue_depth', help: 'Queued tasks that are due now (not waiting out a retry backoff)' },
    async () => [{ value: (await state()).due }],
  );
  metrics.collected(
    {
      name: 'llmops_runner_queue_oldest_age_seconds',
      help: 'How long the oldest due queued task has waited since it became due (0: none waits)',
    },
    async () => [{ value: (await state()).oldestDueS }],
  );
}

/**
 * Counts tasks as they end, whichever part of this process ended them: a worker recording an attempt,
 * a claim that found every model of a task over its spend cap, the reaper of expired leases, a cancel of
 * a queued task, a bus request rejected. Called after the commit, with the states the tasks are in now;
 * states that are not an ending (queued again, running) are not counted.
 */
export interface TaskEndings {
  ended(statuses: readonly (TaskStatus | 'lost')[]): void;
}

/** llmops_runner_tasks_finished_total{state}: every state starts at 0, so a rate of any is defined from the first scrape. */
export function taskEndings(metrics: Metrics): TaskEndings {
  const finished = metrics.counter({
    name: 'llmops_runner_tasks_finished_total',
    help: 'Tasks that ended in this process, by state (succeeded, failed, cancelled, rejected)',
    labelNames: ['state'] as const,
  });
  for (const state of TERMINAL_STATUSES) finished.inc({ state }, 0);
  const ended = new Set<string>(TERMINAL_STATUSES);
  return {
    ended(statuses) {
      for (const status of statuses) if (ended.has(status)) finished.inc({ state: status });
    },
  };
}

/** What the worker reports as each attempt is recorded. */
export interface AttemptMetrics {
  recorded(claimed: ClaimedTask, record: AttemptRecord, end: AttemptEnd): void;
}

/** Provider latency, errors, tokens and cost by provider and model, and the tasks attempts ended, counted as attempts are recorded. */
export function attemptMetrics(metrics: Metrics, endings: TaskEndings): AttemptMetrics {
  const labelNames = ['provider', 'provider_kind', 'model'] as const;
  const latency = metrics.histogram({
    name: 'llmops_provider_request_duration_seconds',
    help: 'Provider calls by provider (id), kind, model and outcome: seconds from the request until the answer ended',
    labelNames: [...labelNames, 'outcome'],
    buckets: LATENCY_BUCKETS,
  });
  const errors = metrics.counter({
    name: 'llmops_provider_errors_total',
    help: 'Failed attempts by provider, model and error kind (rate_limit, timeout, server, auth, ...)',
    labelNames: [...labelNames, 'kind'],
  });
  const tokens = metrics.counter({
    name: 'llmops_provider_tokens_total',
    help: 'Tokens providers reported, by provider, model and type (input, output, cached_input)',
    labelNames: [...labelNames, 'type'],
  });
  const cost = metrics.counter({
    name: 'llmops_provider_cost_usd_total',
    help: 'Cost of attempts in USD at the price in force when each started, by provider and model',
    labelNames,
  });
  const retries = metrics.counter({
    name: 'llmops_runner_task_retries_total',
    help: 'Failed attempts whose task went back to the queue (a retry after backoff, or the next model of its chain)',
  });
  return {
    recorded({ model }, record, end) {
      const labels = { provider: model.provider_id, provider_kind: model.provider_kind, model: model.provider_model_id };
      const { outcome } = record;
      if (record.provider_ms !== null) latency.observe({ ...labels, outcome: outcome.kind }, record.provider_ms / 1000);
      if (outcome.kind === 'failed') errors.inc({ ...labels, kind: outcome.error.kind });
      const usage = outcome.kind === 'succeeded' ? outcome.usage : outcome.kind === 'failed' ? outcome.reply?.usage : null;
      if (usage) {
        tokens.inc({ ...labels, type: 'input' }, usage.input_tokens);
        tokens.inc({ ...labels, type: 'output' }, usage.output_tokens);
        tokens.inc({ ...labels, type: 'cached_input' }, usage.cached_input_tokens);
      }
      const usd = Number(end.costUsd);
      if (usd > 0) cost.inc(labels, usd);
      endings.ended([end.task]);
      // An abandoned attempt (the process stops) gives its task back uncounted: not a retry.
      if (end.task === 'queued' && outcome.kind === 'failed') retries.inc();
    },
  };
}
