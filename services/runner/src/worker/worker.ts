import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { adapterFor } from '@llmops/kit/adapters/index';
import { ProviderError } from '@llmops/kit/adapters/errors';
import type { WireRequest } from '@llmops/kit/adapters/types';
import type { Bus, BroadcastReader } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { providerChanged } from '@llmops/kit/events/registry';
import { taskCancelled, taskFailed, taskQueued, taskRetrying, taskSucceeded } from '@llmops/kit/events/runner';
import type { Logger } from '@llmops/kit/logger';
import type { RunnerConfig } from '../config.ts';
import type { AttemptMetrics, TaskEndings } from '../metrics.ts';
import { CredentialUnreadableError, ProviderUnavailableError, type Credentials } from '../clients/provider-connections.ts';
import { onCancel } from '../tasks/cancel.ts';
import type { ClaimedTask } from '../tasks/lifecycle.ts';
import { attemptRequest } from '../tasks/request.ts';
import * as store from '../tasks/store.ts';
import { checkOutput } from '../tasks/structured-output.ts';
import type { TaskError } from '../tasks/task.ts';
import { claim } from './claim.ts';
import { DeltaStreams } from './deltas.ts';
import { extendLeases, reapExpired } from './leases.ts';
import { Endings } from './endings.ts';
import type { AttemptEnd, AttemptRecord, Outcome } from './outcome.ts';

export interface WorkerDeps {
  pool: Pool;
  bus: Bus;
  log: Logger;
  config: RunnerConfig;
  credentials: Credentials;
  /** Counts each attempt as it is recorded (metrics.ts). */
  attempts?: AttemptMetrics;
  /** Counts the tasks a claim or the lease reaper ended (metrics.ts); those an attempt ended, `attempts` counts. */
  finished?: TaskEndings;
}

interface Running {
  claimed: ClaimedTask;
  controller: AbortController;
  /** Why this process aborted the attempt, if it did. */
  abort?: 'cancelled' | 'lost' | 'stopping';
  done: Promise<void>;
}

const ANNOUNCE_EVERY_MS = 60_000;

/** Topics after which there may be work to claim: new or requeued tasks, or a slot freed by an ending one. */
const WAKE_EVENTS = [taskQueued, taskRetrying, taskSucceeded, taskFailed, taskCancelled] as const;

function toTaskError(error: unknown): TaskError {
  if (error instanceof ProviderError) return error.toJSON();
  if (error instanceof ProviderUnavailableError || error instanceof CredentialUnreadableError)
    return {
      kind: error instanceof CredentialUnreadableError ? 'credential' : 'unavailable',
      message: error.message,
      retryable: false,
      status: null,
      retry_after_ms: null,
      provider_code: null,
    };
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'internal', message, retryable: true, status: null, retry_after_ms: null, provider_code: null };
}

/**
 * The runner's workers in one process: claims due tasks in batches (woken by the bus, with a slow poll
 * as a safety net), runs each attempt through the provider's adapter with streaming, extends leases
 * while calls run, aborts an attempt promptly on cancel, reaps tasks whose process died, and records
 * every attempt. Concurrency is bounded per process; provider limits hold across all processes (claim).
 */
export class Worker {
  readonly owner = `runner@${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #deps: WorkerDeps;
  readonly #log: Logger;
  readonly #running = new Map<string, Running>();
  readonly #deltas: DeltaStreams;
  readonly #endings: Endings;
  readonly #announced = new Map<string, number>();
  /**
   * Events this process caused and already woke its loop for (`queued:<task>` after its own create,
   * `ended:<task>` after its own attempt ended): the broadcast reader need not wake it again when it
   * reads them — each such wake was a claim that found nothing (two per task at low load).
   */
  readonly #wokenFor = new Set<string>();
  /** Slots held for tasks a create of this process may start itself (`reserve`), until it says which it did (`adopt`). */
  #reserved = 0;
  #reservationsSettled: (() => void) | undefined;
  /** The limit of the claim in flight: slots it may fill when it answers. */
  #claiming = 0;
  /**
   * The last claim found nothing more it could start (fewer tasks than it asked for, none held back by a
   * limit), and no wake-up since told of new work. A slot that frees then (a task of this process or of
   * another ended for good) gives a claim nothing to find, so it wakes nobody (at most one claim per task
   * otherwise, now that a create starts its own tasks). A wake-up for work (a task queued or requeued, a
   * lease reaped, a retry) or a claim that left work behind clears it; the poll claims regardless.
   */
  #idle = false;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #loop: Promise<void> = Promise.resolve();
  #woken = false;
  #wakeUp: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #reaper: NodeJS.Timeout | undefined;
  #reader: BroadcastReader<(typeof WAKE_EVENTS)[number] | typeof providerChanged> | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(deps: WorkerDeps) {
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'worker', owner: this.owner });
    this.#deltas = new DeltaStreams(deps.bus.ephemeral, 50);
    this.#endings = new Endings(deps.pool, this.owner, this.#log);
  }

  get runningCount(): number {
    return this.#running.size;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    const { bus, config } = this.#deps;
    this.#unsubscribe = await onCancel(bus, (taskId) => this.#abort(taskId, 'cancelled'));
    // Only other processes' commits wake this reader: this process's creates and endings wake the loop
    // themselves (`wake`), so reading its own events back at once only found claims with nothing to do.
    // They are read later, with another process's event or on the sweep, and #wokenFor drops them.
    this.#reader = await bus.broadcast({
      wakeFor: 'others',
      events: [...WAKE_EVENTS, providerChanged],
      handler: (events) => {
        for (const event of events) {
          if (event.topic === 'registry.provider.changed') this.#deps.credentials.drop(event.payload.provider_id);
          else if (this.#wokenFor.delete(`${event.topic === taskQueued.topic ? 'queued' : 'ended'}:${event.payload.task_id}`))
            continue;
          else if (event.topic === taskQueued.topic || event.topic === taskRetrying.topic) this.wake();
          else this.#slotFreed();
        }
      },
    });
    this.#heartbeat = setInterval(() => void this.#extend(), config.heartbeatMs);
    this.#reaper = setInterval(() => void this.#reap(), Math.max(100, Math.floor(config.leaseMs / 2)));
    this.#loop = this.#run();
    this.#log.info({ concurrency: config.concurrency, lease_ms: config.leaseMs }, 'worker started');
  }

  /** Look for work now (a task was queued — `queued`, by this process —, or a slot may have freed). */
  wake(queued?: readonly string[]): void {
    for (const id of queued ?? []) this.#wokeFor(`queued:${id}`);
    this.#idle = false;
    this.#woken = true;
    this.#wakeUp?.();
  }

  /**
   * Holds up to `wanted` free slots for tasks a create of this process is about to insert and may start
   * itself (create/insert.ts); answers how many (0 unless running). Each reservation is settled by `adopt`.
   */
  reserve(wanted: number): number {
    if (this.#state !== 'running') return 0;
    const free = this.#deps.config.concurrency - this.#running.size - this.#reserved - this.#claiming;
    const slots = Math.max(0, Math.min(wanted, free));
    this.#reserved += slots;
    return slots;
  }

  /**
   * Runs the tasks a create started under this worker's lease (at most the `reserved` slots it was given)
   * as claimed ones, and frees the slots it did not use. Their `runner.task.queued` needs no wake-up.
   */
  adopt(reserved: number, started: readonly ClaimedTask[]): void {
    this.#reserved -= reserved;
    for (const task of started) {
      this.#wokeFor(`queued:${task.row.id}`);
      this.#execute(task);
      // Stopping: the task goes back to the queue at once, as the running ones do.
      if (this.#state !== 'running') this.#abort(task.row.id, 'stopping');
    }
    if (this.#reserved === 0) this.#reservationsSettled?.();
  }

  /** How long a lease this worker takes lasts. */
  get leaseMs(): number {
    return this.#deps.config.leaseMs;
  }

  /**
   * Stops claiming, lets running attempts finish for a while, then aborts the rest and gives their
   * tasks back to the queue at once (no waiting for their leases to expire).
   */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.wake();
    await this.#loop;
    // A create that reserved slots before the stop may still hand over tasks it started.
    if (this.#reserved > 0) await new Promise<void>((resolve) => (this.#reservationsSettled = resolve));
    const drain = this.#deps.config.stopDrainMs;
    const running = [...this.#running.values()].map((r) => r.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running), new Promise((resolve) => (timer = setTimeout(resolve, drain)))]);
    clearTimeout(timer);
    for (const id of this.#running.keys()) this.#abort(id, 'stopping');
    await Promise.all([...this.#running.values()].map((r) => r.done));
    clearInterval(this.#heartbeat);
    clearInterval(this.#reaper);
    await this.#reader?.stop();
    await this.#unsubscribe?.();
    this.#deltas.stop();
    this.#state = 'stopped';
    this.#log.info('worker stopped');
  }

  async #run(): Promise<void> {
    const { pool, config } = this.#deps;
    let failures = 0;
    while (this.#state === 'running') {
      this.#woken = false;
      const free = config.concurrency - this.#running.size - this.#reserved;
      let waitMs = config.pollMs;
      if (free > 0) {
        const limit = Math.min(free, config.claimBatch);
        this.#claiming = limit;
        try {
          const result = await claim(pool, {
            owner: this.owner,
            limit,
            leaseMs: config.leaseMs,
            rateWindowMs: config.rateWindowMs,
            defaultMaxOutputTokens: config.defaultMaxOutputTokens,
          });
          failures = 0;
          this.#deps.finished?.ended(result.ended);
          for (const claimed of result.claimed) this.#execute(claimed);
          const full = result.claimed.length === limit;
          // Nothing more to start: none left, none held back by a limit, no wake-up while the claim ran.
          this.#idle = !full && !result.held && !this.#woken;
          if (full) continue;
          if (result.nextDueMs !== null) waitMs = Math.min(waitMs, Math.max(5, Math.ceil(result.nextDueMs)));
          // Held back by a limit: a finishing task wakes us; the rpm window and pauses pass with time.
          if (result.held) waitMs = Math.min(waitMs, 250);
        } catch (error) {
          this.#idle = false;
          failures += 1;
          waitMs = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
          this.#log.warn({ err: error, retry_in_ms: waitMs }, 'claiming tasks failed; trying again');
        } finally {
          this.#claiming = 0;
        }
      }
      if (this.#woken || this.#state !== 'running') continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = undefined;
    }
  }

  #execute(claimed: ClaimedTask): void {
    const controller = new AbortController();
    const entry: Running = { claimed, controller, done: Promise.resolve() };
    this.#running.set(claimed.row.id, entry);
    entry.done = this.#attempt(entry)
      .catch((error: unknown) => {
        this.#log.error(
          { err: error, taskId: claimed.row.id, attempt: claimed.attempt.number },
          'recording an attempt failed; its lease will expire and another claim retries it',
        );
        return undefined;
      })
      .then((task) => {
        this.#running.delete(claimed.row.id);
        this.#wokeFor(`ended:${claimed.row.id}`);
        // Back in the queue (or not known): a claim has work; ended for good or lost: only a slot freed.
        if (task === 'queued' || task === undefined) this.wake();
        else this.#slotFreed();
      });
  }

  /** A slot freed and nothing was queued: a claim finds work only if the last one left some. */
  #slotFreed(): void {
    if (!this.#idle) this.wake();
  }

  /** Runs one attempt and records it; answers where it left the task. */
  async #attempt(entry: Running): Promise<AttemptEnd['task']> {
    const { claimed, controller } = entry;
    const { row, model, attempt } = claimed;
    // Every line about this task names it (docs/operations.md#logs).
    const log = this.#log.child({ taskId: row.id, attempt: attempt.number });
    const started = performance.now();
    const streamKey = `${row.id}:${attempt.number}`;
    const correlation = row.correlation && JSON.stringify(row.correlation).length <= 1_000 ? row.correlation : undefined;
    this.#deltas.open(streamKey, {
      task_id: row.id,
      attempt: attempt.number,
      ...(row.group_id ? { group_id: row.group_id } : {}),
      ...(correlation ? { correlation } : {}),
    });
    let text = '';
    let providerMs: number | null = null;
    let wire: WireRequest | null = null;
    let ttft: number | null = null;
    let reached = false;
    let outcome: Outcome;
    try {
      const connection = await this.#deps.credentials.get(model.provider_id, row.id);
      const adapter = adapterFor(model.provider_kind);
      const options = {
        signal: controller.signal,
        firstByteTimeoutMs: row.snapshot.timeouts.first_byte_ms ?? undefined,
        idleTimeoutMs: row.snapshot.timeouts.idle_ms ?? undefined,
        onDelta: (delta: string) => {
          text += delta;
          this.#deltas.push(streamKey, delta);
        },
      };
      const request = attemptRequest(row, model);
      const providerStart = performance.now();
      reached = true;
      try {
        if (request.kind === 'image') {
          const result = await adapter.generateImage(connection, request.image, options);
          providerMs = performance.now() - providerStart;
          wire = result.wire;
          outcome = {
            kind: 'succeeded',
            text: result.images.map((image) => image.revised_prompt ?? '').join('\n'),
            finish_reason: 'stop',
            provider_finish_reason: null,
            response_id: null,
            usage: result.usage,
            images: result.images,
          };
        } else {
          const result = await adapter.chat(connection, { ...request.chat, stream: true }, options);
          providerMs = performance.now() - providerStart;
          wire = result.wire;
          ttft = result.time_to_first_token_ms;
          const reply = {
            finish_reason: result.finish_reason,
            provider_finish_reason: result.provider_finish_reason,
            response_id: result.response_id,
            usage: result.usage,
          };
          // JSON output is checked against what was asked: a reply that does not fit is a failed attempt.
          const invalid = checkOutput(request.chat.parameters?.response_format, result.text);
          outcome = invalid
            ? { kind: 'failed', error: invalid, text: result.text, reply }
            : { kind: 'succeeded', text: result.text, ...reply, images: [] };
        }
      } catch (error) {
        providerMs = performance.now() - providerStart;
        if (error instanceof ProviderError) wire = error.wire;
        throw error;
      }
    } catch (error) {
      const why = entry.abort;
      if (why === 'cancelled') outcome = { kind: 'cancelled', text };
      else if (why === 'lost' || why === 'stopping')
        outcome = {
          kind: 'abandoned',
          reason: why === 'lost' ? 'this process lost the task’s lease' : 'the runner process was stopping',
          text,
        };
      else outcome = { kind: 'failed', error: toTaskError(error), text };
      if (!(error instanceof ProviderError) && !why) log.warn({ err: error }, 'attempt failed before the provider answered');
    } finally {
      this.#deltas.close(streamKey);
    }
    // A cancel that arrived while the answer completed still cancels nothing: the work is done and kept.
    const record: AttemptRecord = {
      outcome,
      wire,
      provider_ms: providerMs,
      latency_ms: performance.now() - started,
      time_to_first_token_ms: ttft,
      announce_use: reached && wire !== null && this.#shouldAnnounce(model.model_id),
    };
    let end;
    try {
      end = await this.#endings.finish(claimed, record);
    } catch (error) {
      if (record.announce_use) this.#announced.delete(model.model_id);
      throw error;
    }
    this.#deps.attempts?.recorded(claimed, record, end);
    log.debug(
      { outcome: outcome.kind, task: end.task, provider_ms: providerMs === null ? null : Math.round(providerMs) },
      'attempt recorded',
    );
    return end.task;
  }

  #wokeFor(key: string): void {
    // An event the reader never reads (it restarted past it, or read it before this was noted) leaves
    // its entry behind: bounded, and forgetting them costs only a wake-up each.
    if (this.#wokenFor.size >= 10_000) this.#wokenFor.clear();
    this.#wokenFor.add(key);
  }

  /** One `runner.model.used` per model per process per minute is enough for the registry. */
  #shouldAnnounce(modelId: string): boolean {
    const last = this.#announced.get(modelId);
    if (last !== undefined && Date.now() - last < ANNOUNCE_EVERY_MS) return false;
    this.#announced.set(modelId, Date.now());
    return true;
  }

  #abort(taskId: string, why: NonNullable<Running['abort']>): void {
    const entry = this.#running.get(taskId);
    if (!entry || entry.abort) return;
    entry.abort = why;
    entry.controller.abort();
  }

  async #extend(): Promise<void> {
    const ids = [...this.#running.keys()];
    if (ids.length === 0) return;
    try {
      const { held, cancel } = await extendLeases(this.#deps.pool, this.owner, ids, this.#deps.config.leaseMs);
      for (const id of ids) {
        if (!this.#running.has(id)) continue; // ended meanwhile
        // Not held: either it ended a moment ago (its finish committed) or the lease was lost; abort only the latter.
        if (!held.has(id)) await this.#abortIfLost(id);
        else if (cancel.has(id)) this.#abort(id, 'cancelled');
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'could not extend leases; trying again at the next heartbeat');
    }
  }

  async #abortIfLost(id: string): Promise<void> {
    const owner = await store.leaseOwner(this.#deps.pool, id);
    if (this.#running.has(id) && owner !== this.owner) this.#abort(id, 'lost');
  }

  async #reap(): Promise<void> {
    try {
      const reaped = await reapExpired(this.#deps.pool);
      this.#deps.finished?.ended(reaped);
      if (reaped.length > 0) {
        this.#log.info({ tasks: reaped.length }, 'took back tasks whose runner stopped extending their lease');
        this.wake();
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'reaping expired leases failed; trying again');
    }
  }
}
