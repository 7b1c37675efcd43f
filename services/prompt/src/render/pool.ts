import { Worker } from 'node:worker_threads';
import type { Logger } from '@llmops/kit/logger';
import { ServiceUnavailable, TooManyRequests } from '@llmops/kit/problem';
import type { PromptConfig } from '../config.ts';
import { isBounded } from './bounded.ts';
import { timeLimit } from './budget.ts';
import { TemplateParser } from './engine.ts';
import { FairQueue } from './fair-queue.ts';
import { Renderer, type RenderOutcome, type RenderRequest } from './render.ts';
import { inlineRenders, overBudgetProblem, type RenderCall, type Renders } from './renders.ts';
import type { RenderJob, WorkerMessage } from './worker.ts';

/** How long past its deadline a worker may still answer by itself before it is stopped. */
const GRACE_MS = 100;
/** The longest a worker may take to load a model's tokenizer before a render's clock starts. */
const TOKENIZER_LOAD_MS = 15_000;
/** Workers that fail to start in a row before the pool stops replacing them. */
const START_FAILURES = 3;

interface Job {
  id: number;
  request: RenderRequest;
  call: RenderCall;
  resolve: (outcome: RenderOutcome) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** The step the worker is on (a flat entry index; see RenderBudget.onStep), written by the worker. */
  progress: Int32Array;
  /** Warmed up and taking requests. */
  ready: boolean;
  /** Being stopped (past a deadline, or over its heap): takes nothing more. */
  retiring: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

const WORKER = new URL('./worker.ts', import.meta.url);

/**
 * A warm pool of render worker threads (docs/prompts.md, Limits): no render runs on the service's event
 * loop, so a heavy one never holds up other requests. Each request has one deadline; a worker still
 * busy past it is terminated and replaced, and only that one — the others keep their warm state. Each
 * worker has a heap limit (`resourceLimits`); a worker over it is replaced the same way. Renders per
 * caller are bounded by a fair queue: past its bound a caller gets a 429.
 *
 * A render whose work is bounded by its size (./bounded.ts: text and plain variable outputs, small, no
 * tokenizer: what a task's prompt usually is) runs on the event loop instead, without the two thread hops;
 * it cannot run away, so it needs neither a worker nor a turn in the queue.
 */
export class RenderPool implements Renders {
  readonly #config: PromptConfig;
  readonly #log: Logger;
  readonly #queue: FairQueue<Job>;
  readonly #slots = new Set<Slot>();
  #nextId = 1;
  #startFailures = 0;
  #broken: string | undefined;
  #stopping = false;
  #starting: { resolve: () => void; reject: (error: Error) => void } | undefined;
  readonly #parser = new TemplateParser();
  readonly #inline: Renders;
  #inlineRenders = 0;

  constructor(config: PromptConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#queue = new FairQueue(config);
    this.#inline = inlineRenders(new Renderer(this.#parser), config.deadlineMs);
  }

  /** Starts the workers; resolves once every one has warmed up (each takes requests from then on). */
  start(): Promise<void> {
    for (let i = this.#slots.size; i < this.#config.workers; i += 1) this.#spawn();
    return new Promise((resolve, reject) => {
      this.#starting = { resolve, reject };
      this.#settleStart();
    });
  }

  render(request: RenderRequest, call: RenderCall): Promise<RenderOutcome> {
    if (this.#stopping) return Promise.reject(new ServiceUnavailable('The prompt service is stopping; try again shortly.', 1));
    if (this.#broken) return Promise.reject(this.#brokenProblem());
    if (isBounded(this.#parser, request)) {
      this.#inlineRenders += 1;
      return this.#inline.render(request, call);
    }
    return new Promise<RenderOutcome>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, request, call, resolve, reject };
      if (!this.#queue.offer(call.caller, job)) {
        const inFlight = this.#config.perCaller + this.#config.queuePerCaller;
        reject(
          new TooManyRequests(
            `You already have ${inFlight} render(s) running or waiting; wait for them to finish, then send this one again.`,
            Math.ceil(this.#config.deadlineMs / 1_000),
          ),
        );
        return;
      }
      this.#pump();
    });
  }

  /** For readiness: how many workers take requests, and how many renders wait (and how many ran inline). */
  status(): { ready: number; workers: number; waiting: number; broken: string | undefined; inline: number } {
    const ready = [...this.#slots].filter((slot) => slot.ready && !slot.retiring).length;
    return { ready, workers: this.#slots.size, waiting: this.#queue.waiting, broken: this.#broken, inline: this.#inlineRenders };
  }

  /** The worker threads' ids (one changes when its worker is replaced). */
  threadIds(): number[] {
    return [...this.#slots].filter((slot) => !slot.retiring).map((slot) => slot.worker.threadId);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#starting?.reject(new Error('The render pool was stopped while starting.'));
    this.#starting = undefined;
    const stopping = new ServiceUnavailable('The prompt service is stopping; try again shortly.', 1);
    for (const job of this.#queue.drain()) job.reject(stopping);
    await Promise.all(
      [...this.#slots].map((slot) => {
        this.#finish(slot, (job) => job.reject(stopping));
        return slot.worker.terminate();
      }),
    );
  }

  #spawn(): void {
    const progress = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const worker = new Worker(WORKER, {
      workerData: { progress: progress.buffer },
      resourceLimits: { maxOldGenerationSizeMb: this.#config.memoryMb },
    });
    const slot: Slot = { worker, progress, ready: false, retiring: false, job: undefined, timer: undefined };
    this.#slots.add(slot);
    worker.on('message', (message: WorkerMessage) => this.#onMessage(slot, message));
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.#stopOver(slot, `the memory limit of ${this.#config.memoryMb} MB per render worker`);
        return;
      }
      this.#log.error({ err: error, threadId: worker.threadId }, 'a render worker failed');
      this.#finish(slot, (job) => job.reject(error));
    });
    worker.on('exit', (code) => this.#onExit(slot, code));
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.kind === 'ready') {
      slot.ready = true;
      this.#startFailures = 0;
      this.#settleStart();
      this.#pump();
      return;
    }
    if (message.id !== slot.job?.id) return;
    if (message.kind === 'started') {
      this.#arm(slot, this.#config.deadlineMs + GRACE_MS);
      return;
    }
    const job = slot.job;
    this.#finish(slot, () => {
      if (message.kind === 'done') job.resolve(message.outcome);
      else if (message.kind === 'over') job.reject(overBudgetProblem(job.request, message, job.call.fieldPrefix));
      else job.reject(new Error(`the render worker failed: ${message.message}`));
    });
    this.#pump();
  }

  #onExit(slot: Slot, code: number): void {
    clearTimeout(slot.timer);
    this.#slots.delete(slot);
    this.#finish(slot, (job) => job.reject(new ServiceUnavailable('A render worker stopped; try again.', 1)));
    if (this.#stopping || slot.retiring) return;
    // An exit nobody asked for: a crash, or a worker that cannot start.
    if (!slot.ready && ++this.#startFailures >= START_FAILURES) {
      this.#broken = `render workers exit before they are ready (exit code ${code})`;
      this.#log.error({ code }, `${this.#broken}; not starting more`);
      for (const job of this.#queue.drain()) job.reject(this.#brokenProblem());
      this.#settleStart();
      return;
    }
    this.#log.warn({ threadId: slot.worker.threadId, code }, 'a render worker exited; starting another');
    this.#spawn();
  }

  /** Hands waiting renders to idle, warm workers. */
  #pump(): void {
    for (const slot of this.#slots) {
      if (!slot.ready || slot.retiring || slot.job) continue;
      const next = this.#queue.take();
      if (!next) return;
      slot.job = next.job;
      Atomics.store(slot.progress, 0, -1);
      // The clock starts when the worker says so (after a tokenizer load); this bounds the wait for that.
      this.#arm(slot, TOKENIZER_LOAD_MS + this.#config.deadlineMs + GRACE_MS);
      const message: RenderJob = { id: next.job.id, request: next.job.request, budgetMs: this.#config.deadlineMs };
      slot.worker.postMessage(message);
    }
  }

  #arm(slot: Slot, ms: number): void {
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => this.#stopOver(slot, timeLimit(this.#config.deadlineMs)), ms);
  }

  /** Ends a render over its budget: the 422 names the step the worker was on; the worker is replaced. */
  #stopOver(slot: Slot, limit: string): void {
    if (slot.retiring) return;
    const step = Atomics.load(slot.progress, 0);
    this.#finish(slot, (job) => job.reject(overBudgetProblem(job.request, { step, limit }, job.call.fieldPrefix)));
    slot.retiring = true;
    this.#log.warn({ threadId: slot.worker.threadId, limit }, 'replacing a render worker past its budget');
    void slot.worker.terminate();
    if (!this.#stopping) this.#spawn();
  }

  /** Ends a slot's job (if any) once: settles it, frees the caller's turn. */
  #finish(slot: Slot, settle: (job: Job) => void): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const job = slot.job;
    if (!job) return;
    slot.job = undefined;
    this.#queue.done(job.call.caller);
    settle(job);
  }

  #settleStart(): void {
    if (!this.#starting) return;
    if (this.#broken) this.#starting.reject(new Error(`The render pool cannot start: ${this.#broken}.`));
    else if (this.status().ready >= this.#config.workers) this.#starting.resolve();
    else return;
    this.#starting = undefined;
  }

  #brokenProblem(): ServiceUnavailable {
    return new ServiceUnavailable(`The prompt service cannot render: ${this.#broken}. Its log says why; restart it.`);
  }
}
